package engine

import (
	"fmt"
	"sort"
	"strings"
)

// upstreamHeaders builds the headers passed upstream for an answer: the principal first, then one
// per context key in sorted order. A context value holding CR, LF, NUL or another control
// character would let a backend inject headers; the whole answer is refused instead.
func upstreamHeaders(prefix, principal string, context map[string]any) ([]Header, error) {
	principalName := prefix + "principal-id"
	if err := checkHeaderValue(principal); err != nil {
		return nil, fmt.Errorf("principalId: %w", err)
	}
	headers := make([]Header, 0, 1+len(context))
	headers = append(headers, Header{Name: principalName, Value: principal})
	keys := make([]string, 0, len(context))
	for k := range context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{principalName: true}
	for _, k := range keys {
		name := prefix + headerName(k)
		if seen[name] {
			// Two keys that differ only in case or punctuation; the first one in order wins, and
			// nothing may overwrite the principal.
			continue
		}
		seen[name] = true
		v, err := jsonValue(context[k])
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", k, err)
		}
		if err := checkHeaderValue(v); err != nil {
			return nil, fmt.Errorf("context %q: %w", k, err)
		}
		headers = append(headers, Header{Name: name, Value: v})
	}
	return headers, nil
}

// headerName lower-cases a context key and turns every character that is not an HTTP token
// character into '-', and '_' too: many upstreams (CGI, WSGI, Rack, PHP) read '_' and '-' alike,
// so "Principal_ID" must not become a second principal header.
func headerName(key string) string {
	if key == "" {
		return "-"
	}
	var b strings.Builder
	b.Grow(len(key))
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^`|~", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func checkHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("value holds control character %#x, refused to prevent header injection", c)
		}
	}
	if len(v) > 8<<10 {
		return fmt.Errorf("value over 8 KiB")
	}
	return nil
}
