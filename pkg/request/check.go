package request

import (
	"fmt"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/uuid"
)

// FromCheck reads the facts of the HTTP request under authorization from an Envoy CheckRequest.
// now becomes Request.Time. Errors wrap ErrBadRequest (or one of its finer sentinels:
// ErrBadPath, ErrBadMethod, ErrBadHost, ErrNoHTTPAttributes) for malformed input, or ErrTooLarge
// for input over the limits; nothing is copied or decoded before the limits are checked.
//
// The returned Request shares the headers and context extensions maps with req.
func FromCheck(req *authv3.CheckRequest, now time.Time) (*Request, error) {
	r := &Request{}
	if err := FromCheckInto(r, req, now); err != nil {
		return nil, err
	}
	return r, nil
}

// FromCheckInto is FromCheck writing into r, all of it, so that a caller can reuse Requests.
func FromCheckInto(r *Request, req *authv3.CheckRequest, now time.Time) error {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	if h == nil {
		return ErrNoHTTPAttributes
	}
	target := h.GetPath()
	if len(target) > MaxPathBytes {
		return fmt.Errorf("%w: request target of %d bytes, limit %d", ErrTooLarge, len(target), MaxPathBytes)
	}
	headers, err := headersOf(h)
	if err != nil {
		return err
	}
	method, err := methodOf(h.GetMethod())
	if err != nil {
		return err
	}
	host, err := hostOf(h.GetHost())
	if err != nil {
		return err
	}
	if err := checkPseudoHeaders(h, headers); err != nil {
		return err
	}
	rawPath, rawQuery := SplitTarget(target)
	path, err := CleanPath(rawPath)
	if err != nil {
		return err
	}
	*r = Request{
		Method:            method,
		Host:              host,
		Authority:         h.GetHost(),
		Scheme:            h.GetScheme(),
		Protocol:          h.GetProtocol(),
		RawPath:           rawPath,
		Path:              path,
		RawQuery:          rawQuery,
		Headers:           headers,
		SourceIP:          attrs.GetSource().GetAddress().GetSocketAddress().GetAddress(),
		Certificate:       attrs.GetSource().GetCertificate(),
		RequestID:         requestID(headers),
		ContextExtensions: attrs.GetContextExtensions(),
		Time:              now,
	}
	return nil
}

// checkPseudoHeaders refuses a request whose pseudo-headers disagree with the attributes Envoy
// fills from them (:method, :path, :authority, :scheme). The decision is made on the attributes
// while the upstream acts on the headers it is forwarded, so a disagreement means the request
// was not built by Envoy, or was changed on the way: a decision for POST on a request forwarded
// as GET, or a host-less Api's decision for a request reaching another host. Envoy copies the
// values as they are, so they are compared exactly. A pseudo-header that is absent (a sender
// that leaves them out of the map) is not compared.
func checkPseudoHeaders(h *authv3.AttributeContext_HttpRequest, headers map[string]string) error {
	for _, p := range [...]struct {
		name, attr string
		err        error
	}{
		{":path", h.GetPath(), ErrBadPath},
		{":method", h.GetMethod(), ErrBadMethod},
		{":authority", h.GetHost(), ErrBadHost},
		{":scheme", h.GetScheme(), ErrBadRequest},
	} {
		if v, ok := headers[p.name]; ok && v != p.attr {
			return fmt.Errorf("%w: the %s header disagrees with the request attribute", p.err, p.name)
		}
	}
	return nil
}

// requestID is the request's one id, the same in the backend event, the x-amzn-requestid answer
// header and the decision log: the client's or Envoy's x-request-id, else the id attribute
// (Envoy's random stream id), else a fresh UUID. An id that could not be echoed in a header as
// it is (control characters, spaces, over 200 bytes) is replaced, not cleaned.
func requestID(headers map[string]string) string {
	// Envoy's id attribute is its stream's number, not a request id: API Gateway makes a UUID
	// when the client sends none, and so do we.
	if id := headers["x-request-id"]; SafeID(id) {
		return id
	}
	return uuid.NewString()
}

// ID is the request id of a CheckRequest's HTTP attributes h, for a request that could not be
// read (and so has no Request): the same choice as Request.RequestID.
func ID(h *authv3.AttributeContext_HttpRequest) string { return requestID(h.GetHeaders()) }

// SafeID reports whether id can be used as a request id as it is: not empty, at most 200
// bytes of visible ASCII.
func SafeID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
