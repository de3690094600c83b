package request

import (
	"fmt"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

// headerOverhead is what each header costs on top of its name and value, as on the HTTP/1.1 wire
// (": " and CRLF). Counting it keeps a flood of empty headers from passing the size limit.
const headerOverhead = 4

// headersOf returns the request's headers with lower-case names. Envoy fills either the headers
// map or, with encode_raw_headers, header_map; the map is used as it arrives, and a map is built
// only from header_map. The size limit is checked before anything is built.
func headersOf(h *authv3.AttributeContext_HttpRequest) (map[string]string, error) {
	if m := h.GetHeaders(); len(m) > 0 {
		size := 0
		for k, v := range m {
			size += len(k) + len(v) + headerOverhead
		}
		if err := checkHeaderSize(size); err != nil {
			return nil, err
		}
		return m, nil
	}
	entries := h.GetHeaderMap().GetHeaders()
	if len(entries) == 0 {
		return nil, nil
	}
	size := 0
	for _, e := range entries {
		size += len(e.GetKey()) + len(headerValue(e)) + headerOverhead
	}
	if err := checkHeaderSize(size); err != nil {
		return nil, err
	}
	return mergeHeaderMap(entries), nil
}

func checkHeaderSize(size int) error {
	if size > MaxHeaderBytes {
		return fmt.Errorf("%w: headers of %d bytes, limit %d", ErrTooLarge, size, MaxHeaderBytes)
	}
	return nil
}

// mergeHeaderMap joins repeated headers with ",", as Envoy does when it fills the headers map, so
// both encodings give the same facts. Values of repeated names are collected first and joined
// once: appending to a growing string per repeat would be quadratic in the number of repeats.
func mergeHeaderMap(entries []*corev3.HeaderValue) map[string]string {
	m := make(map[string]string, len(entries))
	var repeated map[string][]string
	for _, e := range entries {
		k := strings.ToLower(e.GetKey())
		if k == "" {
			continue
		}
		v := headerValue(e)
		if first, seen := m[k]; seen {
			if repeated == nil {
				repeated = make(map[string][]string)
			}
			if len(repeated[k]) == 0 {
				repeated[k] = append(repeated[k], first)
			}
			repeated[k] = append(repeated[k], v)
			continue
		}
		m[k] = v
	}
	for k, vs := range repeated {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

// headerValue prefers raw_value, which is what encode_raw_headers fills; value is kept for senders
// that set it instead.
func headerValue(e *corev3.HeaderValue) string {
	if raw := e.GetRawValue(); raw != nil {
		return string(raw)
	}
	return e.GetValue()
}
