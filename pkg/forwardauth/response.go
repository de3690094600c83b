package forwardauth

import (
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// Header names as they go on the wire. net/http writes a map key as it is, so these lower-case
// keys are sent lower-case, the way Envoy and API Gateway spell them.
const (
	hdrRequestID     = "x-amzn-requestid"
	hdrErrorType     = "x-amzn-errortype"
	hdrContentType   = "content-type"
	hdrAuthenticate  = "www-authenticate"
	hdrHeadersRemove = "x-envoy-auth-headers-to-remove"
)

// writeAllow answers 200 with an empty body: the upstream headers as response headers (the proxy
// copies them onto the original request), the request id, and for Envoy the client-sent headers
// with the prefix that the answer does not set itself, to be removed from the original request.
// sent is the request's headers when one of them has the prefix, else nil.
func (h *Handler) writeAllow(w http.ResponseWriter, d *engine.Decision, sent http.Header, requestID string) error {
	e := h.engine
	hd := w.Header()
	var up *upstream
	if d.Answer != nil { // nil: a NONE route, or an allowed preflight
		var err error
		if up, err = h.upstream.headers(e, d); err != nil {
			return err
		}
		for i, h := range up.headers {
			hd[h.Name] = up.values[i]
		}
	}
	hd[hdrRequestID] = []string{requestID}
	if sent != nil {
		var own []engine.Header
		if up != nil {
			own = up.headers
		}
		if remove := spoofed(sent, e.HeaderPrefix(), own); remove != "" {
			hd[hdrHeadersRemove] = []string{remove}
		}
	}
	hd["Content-Length"] = zeroLength
	w.WriteHeader(http.StatusOK)
	return nil
}

var zeroLength = []string{"0"}

// upstreamCache keeps each cached answer's upstream headers, built once (Engine.UpstreamHeaders
// interns names but builds a slice and the values each time). It is keyed by weak pointers to the
// answers, so it keeps no answer alive, and an entry goes when its answer is collected. The
// answer's own slot for a front's rendering (Answer.SetRendered) is the gRPC front's: sharing
// it would make each front rebuild whenever the other one got there first.
type upstreamCache struct{ m sync.Map } // weak.Pointer[engine.Answer] -> *upstream

// upstream is an answer's upstream headers, with each value ready as an http.Header value:
// responses share them, and net/http copies a handler's header values before it writes them.
type upstream struct {
	headers []engine.Header
	values  [][]string
}

func (c *upstreamCache) headers(e *engine.Engine, d *engine.Decision) (*upstream, error) {
	if !d.Cached {
		// An answer just fetched, or not cacheable (TTL 0): a new answer each time.
		return newUpstream(e, d.Answer)
	}
	key := weak.Make(d.Answer)
	if v, ok := c.m.Load(key); ok {
		return v.(*upstream), nil
	}
	up, err := newUpstream(e, d.Answer)
	if err != nil {
		return nil, err
	}
	if _, loaded := c.m.LoadOrStore(key, up); !loaded {
		runtime.AddCleanup(d.Answer, func(k weak.Pointer[engine.Answer]) { c.m.Delete(k) }, key)
	}
	return up, nil
}

func newUpstream(e *engine.Engine, a *engine.Answer) (*upstream, error) {
	own, err := e.UpstreamHeaders(a)
	if err != nil {
		return nil, err
	}
	up := &upstream{headers: own, values: make([][]string, len(own))}
	for i, h := range own {
		up.values[i] = []string{h.Value}
	}
	return up, nil
}

// spoofed names, lower-case and comma-separated, the request's headers that carry the prefix,
// '_' read as '-' (CGI, WSGI, Rack and PHP upstreams read them alike), except the ones the answer
// sets: the proxy sets those first and would then remove its own value.
func spoofed(sent http.Header, prefix string, own []engine.Header) string {
	var b strings.Builder
next:
	for name := range sent {
		if len(name) < len(prefix) || !samePrefix(name[:len(prefix)], prefix) {
			continue
		}
		for _, h := range own {
			if strings.EqualFold(h.Name, name) {
				continue next
			}
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToLower(name))
	}
	return b.String()
}

// samePrefix compares header name text case-insensitively with '_' equal to '-'.
func samePrefix(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func fold(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// denial is one row of SPEC section 9's answers, HTTP side: error type and the bodies of REST and
// HTTP Apis.
type denial struct {
	errorType string
	restBody  string
	httpBody  string
}

var denials = [...]denial{
	engine.Unauthorized: {"UnauthorizedException", `{"message":"Unauthorized"}`, `{"message":"Unauthorized"}`},
	engine.ExplicitDeny: {"AccessDeniedException",
		`{"Message":"User is not authorized to access this resource with an explicit deny"}`, `{"message":"Forbidden"}`},
	engine.ImplicitDeny: {"AccessDeniedException",
		`{"message":"User is not authorized to access this resource"}`, `{"message":"Forbidden"}`},
	engine.MissingToken: {"MissingAuthenticationTokenException",
		`{"message":"Missing Authentication Token"}`, `{"message":"Not Found"}`},
	engine.BadRequest:        {"", `{"message":"Bad Request"}`, `{"message":"Bad Request"}`},
	engine.Throttled:         {"TooManyRequestsException", `{"message":"Too Many Requests"}`, `{"message":"Too Many Requests"}`},
	engine.AuthorizerFailure: {"AuthorizerFailureException", `{"message":null}`, `{"message":"Internal Server Error"}`},
	engine.AuthorizerConfig:  {"AuthorizerConfigurationException", `{"message":null}`, `{"message":"Internal Server Error"}`},
}

// writeDeny is the one place a denial is rendered: status, content type, error type, the JWT
// challenge, the request id and the body, by the Api's protocol. An outcome outside the table
// (Allow included) is answered as a backend failure, never as anything weaker.
func writeDeny(w http.ResponseWriter, d *engine.Decision, requestID string) {
	o := d.Outcome
	if o == engine.Allow || int(o) >= len(denials) {
		o = engine.AuthorizerFailure
	}
	row := denials[o]
	status, body := o.HTTPStatus(), row.restBody
	if d.Protocol == "HTTP" {
		body = row.httpBody
		// HTTP APIs answer an unmatched route 404 (REST APIs: 403 Missing Authentication Token).
		if o == engine.MissingToken {
			status = http.StatusNotFound
		}
	}
	hd := w.Header()
	hd[hdrContentType] = []string{"application/json"}
	if row.errorType != "" {
		hd[hdrErrorType] = []string{row.errorType}
	}
	if o == engine.Unauthorized && d.JWT {
		hd[hdrAuthenticate] = []string{"Bearer"}
	}
	hd[hdrRequestID] = []string{requestID}
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
