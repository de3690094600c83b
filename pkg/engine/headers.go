package engine

import (
	"fmt"
	"slices"
	"strings"
	"unique"

	"github.com/portcullis-dev/portcullis/pkg/policy"
)

// upstreamNames are the names of the headers passed upstream, fixed when the engine is made;
// every Decision points at its engine's.
type upstreamNames struct {
	prefix    string
	principal string // prefix + "principal-id"
	dryRun    string // prefix + "dry-run"
}

func newUpstreamNames(prefix string) upstreamNames {
	return upstreamNames{prefix: prefix, principal: prefix + "principal-id", dryRun: prefix + "dry-run"}
}

// headers builds the headers passed upstream for an answer: the principal first, then one per
// context key in the context's sorted order. A context value holding CR, LF, NUL or another
// control character would let a backend inject headers; the whole answer is refused instead.
// Context header names are interned: a million cached answers with the same context keys share
// one copy of each name.
func (n upstreamNames) headers(principal string, context policy.Context) ([]Header, error) {
	if err := checkHeaderValue(principal); err != nil {
		return nil, fmt.Errorf("principalId: %w", err)
	}
	headers := make([]Header, 1, 1+len(context))
	headers[0] = Header{Name: n.principal, Value: principal}
	// A linear search finds duplicates in the usual handful of keys; a set keeps a context of
	// thousands of keys from costing a quadratic search.
	var seen map[string]bool
	if len(context) > 16 {
		seen = make(map[string]bool, 1+len(context))
		seen[n.principal] = true
	}
	for _, c := range context {
		name := unique.Make(n.prefix + headerName(c.Key)).Value()
		// Two keys that differ only in case or punctuation: the first one in order wins, and
		// nothing may overwrite the principal.
		if seen != nil {
			if seen[name] {
				continue
			}
			seen[name] = true
		} else if slices.ContainsFunc(headers, func(h Header) bool { return h.Name == name }) {
			continue
		}
		v, err := jsonValue(c.Value)
		if err != nil {
			return nil, fmt.Errorf("context %q: %w", c.Key, err)
		}
		if err := checkHeaderValue(v); err != nil {
			return nil, fmt.Errorf("context %q: %w", c.Key, err)
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
