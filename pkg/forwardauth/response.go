package forwardauth

import (
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
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
// Everything comes from d and the request: no call back into the engine.
func (h *Handler) writeAllow(w http.ResponseWriter, d *engine.Decision, sent http.Header, requestID string) error {
	hd := w.Header()
	var own []engine.Header
	if d.Answer != nil { // nil: a NONE route, an allowed preflight, or a dry run the backend did not answer
		up, err := h.upstream.headers(d)
		if err != nil {
			return err
		}
		for i, h := range up.headers {
			hd[h.Name] = up.values[i]
		}
		own = up.headers
	}
	if d.DryRun != engine.Allow {
		// A denial let through by dry run: the upstream learns what it would have been. A context
		// key "dry-run" may not hide the mark: the mark is written last.
		mark := d.DryRunHeader()
		hd[mark.Name] = []string{mark.Value}
		own = append(own[:len(own):len(own)], mark)
	}
	hd[hdrRequestID] = []string{requestID}
	if sent != nil {
		if remove := spoofed(sent, d.HeaderPrefix(), own); remove != "" {
			hd[hdrHeadersRemove] = []string{remove}
		}
	}
	hd["Content-Length"] = zeroLength
	w.WriteHeader(http.StatusOK)
	return nil
}

var zeroLength = []string{"0"}

// upstreamCache keeps each cached answer's upstream headers, built once (Decision.UpstreamHeaders
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

func (c *upstreamCache) headers(d *engine.Decision) (*upstream, error) {
	if !d.Cached {
		// An answer just fetched, or not cacheable (TTL 0): a new answer each time.
		return newUpstream(d)
	}
	key := weak.Make(d.Answer)
	if v, ok := c.m.Load(key); ok {
		return v.(*upstream), nil
	}
	up, err := newUpstream(d)
	if err != nil {
		return nil, err
	}
	if _, loaded := c.m.LoadOrStore(key, up); !loaded {
		runtime.AddCleanup(d.Answer, func(k weak.Pointer[engine.Answer]) { c.m.Delete(k) }, key)
	}
	return up, nil
}

func newUpstream(d *engine.Decision) (*upstream, error) {
	own, err := d.UpstreamHeaders()
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

// writeDeny is the one place a denial is written: the answer d.Denial renders with the Api's
// gateway responses (pkg/gatewayresponse, shared with the gRPC front), the request id added. req
// is the request d decided, or nil for one that could not be read. A Decision that says Allow
// reached here by mistake is answered as a backend failure, never as anything weaker.
func writeDeny(w http.ResponseWriter, d *engine.Decision, req *request.Request, requestID string) {
	if d.Outcome == engine.Allow {
		d = &engine.Decision{Outcome: engine.AuthorizerFailure, Responses: d.Responses, RequestID: requestID}
	}
	r := d.Denial(req)
	hd := w.Header()
	for name, values := range headersOf(r) {
		hd[name] = values
	}
	hd[hdrRequestID] = []string{requestID}
	hd["Content-Length"] = []string{strconv.Itoa(len(r.Body))}
	w.WriteHeader(r.Status)
	_, _ = io.WriteString(w, r.Body)
}

// headersOf is a denial's headers as http.Header values, content type included. Those of a
// shared gateway response (every built-in answer, and a configured one that reads nothing of
// the request) are built once and kept with it: net/http only reads a handler's header values.
func headersOf(r *gatewayresponse.Response) http.Header {
	if r.Shared() {
		if hd, ok := r.Kept(gatewayresponse.HTTP).(http.Header); ok {
			return hd
		}
	}
	hd := make(http.Header, 1+len(r.Headers))
	hd[hdrContentType] = []string{r.ContentType}
	for _, h := range r.Headers {
		// Lower-case names, as Envoy and API Gateway send them (net/http writes a key as it is).
		name := strings.ToLower(h.Name)
		hd[name] = append(hd[name], h.Value)
	}
	if r.Shared() {
		hd, _ = r.Keep(gatewayresponse.HTTP, hd).(http.Header)
	}
	return hd
}
