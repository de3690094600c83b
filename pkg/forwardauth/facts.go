package forwardauth

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/google/uuid"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

// facts reads the original request's facts from r, as h's mode says, into st.req. The request id
// is set first, so that a refused request is answered and logged under it.
func (h *Handler) facts(r *http.Request, st *reqState) error {
	p := &st.parts
	p.RequestID = requestIDOf(r.Header)
	if err := h.methodAndTarget(r, p); err != nil {
		return err
	}
	p.Authority = r.Host
	if h.mode == ModeXForwarded {
		if v, err := single(r.Header, "X-Forwarded-Host"); err != nil {
			return err
		} else if v != "" {
			p.Authority = v
		}
	}
	ip, trusted, err := h.proxies.clientIP(r.RemoteAddr, r.Header)
	if err != nil {
		return err
	}
	p.SourceIP = ip
	// The original request's scheme (aws:SecureTransport) is the proxy's word, believed as its
	// X-Forwarded-For is; the authorization request itself is plain HTTP.
	p.Scheme, p.Protocol = "http", r.Proto
	if trusted {
		if vs := r.Header["X-Forwarded-Proto"]; len(vs) == 1 && (vs[0] == "https" || vs[0] == "http") {
			p.Scheme = vs[0]
		}
	}
	p.Headers = h.headerMap(r, st, p.Authority)
	return request.FromPartsInto(&st.req, p, h.now())
}

// methodAndTarget reads the original method and request target. A header the mode needs that is
// missing, empty or repeated is a bad request: a proxy always sends it once.
func (h *Handler) methodAndTarget(r *http.Request, p *request.Parts) error {
	if h.mode == ModeRequest {
		p.Method = r.Method
		// RequestURI is the target exactly as it came on the request line, never decoded.
		target, ok := strings.CutPrefix(r.RequestURI, h.prefix)
		if !ok {
			return fmt.Errorf("%w: the path does not start with the prefix %q", request.ErrBadPath, h.prefix)
		}
		p.Target = target
		return nil
	}
	var err error
	if p.Method, err = required(r.Header, h.methodHeader); err != nil {
		return err
	}
	if p.Target, err = required(r.Header, h.uriHeader); err != nil {
		return err
	}
	return nil
}

func required(hd http.Header, name string) (string, error) {
	v, err := single(hd, name)
	if err == nil && v == "" {
		err = fmt.Errorf("%w: no %s header", request.ErrBadRequest, name)
	}
	return v, err
}

// single returns a header sent at most once; "" when absent.
func single(hd http.Header, name string) (string, error) {
	vs := hd[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", fmt.Errorf("%w: %s sent %d times", request.ErrBadRequest, name, len(vs))
}

// headerMap builds the original request's headers as the engine reads them: lower-case names,
// repeated values joined with "," (as Envoy's map has them), "host" the original authority.
// Left out: the mode's own method and URI headers, and the headers that describe the proxy's
// connection to Portcullis rather than the original request (hop-by-hop ones, the length of the
// authorization request's empty body).
func (h *Handler) headerMap(r *http.Request, st *reqState, authority string) map[string]string {
	m := st.headers
	if m == nil {
		m = make(map[string]string, len(r.Header)+1)
		st.headers = m
	}
	prefix := h.engine.HeaderPrefix()
	for name, vs := range r.Header {
		if name == h.methodHeader || name == h.uriHeader || len(vs) == 0 || hopHeaders[name] {
			continue
		}
		if len(name) >= len(prefix) && samePrefix(name[:len(prefix)], prefix) {
			st.prefixed = true
		}
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, ",")
		}
		m[lowerName(name)] = v
	}
	m["host"] = authority
	return m
}

// lowerName lower-cases a header name; names net/http has in canonical form are looked up in a
// table of the usual ones first, so they cost no allocation.
func lowerName(name string) string {
	if l, ok := commonLower[name]; ok {
		return l
	}
	return strings.ToLower(name)
}

// hopHeaders are net/http's canonical names of the headers of one connection (RFC 9110 section
// 7.6.1), and Content-Length: the proxy's request has no body, whatever the original had.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

var commonLower = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"accept", "accept-encoding", "accept-language", "authorization", "cache-control", "connection",
		"content-length", "content-type", "cookie", "origin", "referer", "user-agent", "traceparent",
		"tracestate", "x-request-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
		"x-forwarded-port", "x-forwarded-method", "x-forwarded-uri", "x-original-method",
		"x-original-uri", "x-real-ip", "x-api-key", "x-envoy-expected-rq-timeout-ms",
		"x-envoy-internal", "via",
	} {
		m[textproto.CanonicalMIMEHeaderKey(n)] = n
	}
	return m
}()

// requestIDOf is the proxy's x-request-id when it can be echoed in a header as it is, else a
// fresh UUID: one request has one id, in the backend's event, the answer and the decision log.
func requestIDOf(hd http.Header) string {
	if vs := hd["X-Request-Id"]; len(vs) == 1 && request.SafeID(vs[0]) {
		return vs[0]
	}
	return uuid.NewString()
}
