package authorizer

import (
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

// eventHeaders copies the request's headers as API Gateway passes them on: Envoy's pseudo-headers
// (":authority", ":path", ...) are not HTTP headers and are left out, and "host", which Envoy
// carries as ":authority", is put back. HTTP APIs move the cookie header into "cookies"
// (dropCookie). Names stay lower-case as Envoy gives them: HTTP/2 requires it, and HTTP APIs send
// lower-case names too.
func eventHeaders(h *request.Request, dropCookie bool) map[string]string {
	out := make(map[string]string, len(h.Headers)+1)
	for name, value := range h.Headers {
		if strings.HasPrefix(name, ":") || (dropCookie && name == "cookie") {
			continue
		}
		out[name] = value
	}
	if _, ok := out["host"]; !ok && h.Authority != "" {
		out["host"] = h.Authority
	}
	return out
}

// parseQuery decodes a raw query the way API Gateway REST fills its two query maps: the
// single-value map holds the last value of a repeated name, the multi-value map all of them in
// order. Both are non-nil, as REST sends {} for an empty query.
func parseQuery(raw string) (map[string]string, map[string][]string) {
	single := map[string]string{}
	multi := map[string][]string{}
	eachQueryParam(raw, func(key, value string) {
		single[key] = value
		multi[key] = append(multi[key], value)
	})
	return single, multi
}

// joinedQuery decodes a raw query the way HTTP APIs do: repeated names become one value joined
// with ",". Nil for an empty query, so the member is omitted as API Gateway omits it.
func joinedQuery(raw string) map[string]string {
	var out map[string]string
	eachQueryParam(raw, func(key, value string) {
		if out == nil {
			out = map[string]string{}
		}
		if prev, ok := out[key]; ok {
			value = prev + "," + value
		}
		out[key] = value
	})
	return out
}

// eachQueryParam walks a raw query. It is written out rather than using url.ParseQuery because
// ParseQuery stops at the first ";" or bad escape and returns an error, while a gateway must pass
// on whatever the client sent: a part that does not decode is kept as sent.
func eachQueryParam(raw string, fn func(key, value string)) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(part, "=")
		if key == "" {
			continue
		}
		fn(unescapeQuery(key), unescapeQuery(value))
	}
}

// unescapeQuery decodes %XX escapes and "+" as a space, as API Gateway does for query values.
func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	decoded, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return decoded
}

// splitCookies splits a cookie header into its "name=value" pairs. Envoy joins repeated cookie
// headers with "; ", the separator inside one header too, so one split covers both.
func splitCookies(header string) []string {
	var cookies []string
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ";")
		if part = strings.Trim(part, " \t"); part != "" {
			cookies = append(cookies, part)
		}
	}
	return cookies
}
