package request

import (
	"fmt"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
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
	// Envoy fills both from the same request line; a :path that says otherwise means the
	// request was not built by Envoy, or was changed on the way, and may route elsewhere.
	if p, ok := headers[":path"]; ok && p != target {
		return fmt.Errorf("%w: the :path header disagrees with the request path", ErrBadPath)
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
		RequestID:         requestID(h, headers),
		ContextExtensions: attrs.GetContextExtensions(),
		Time:              now,
	}
	return nil
}

// requestID is the client's or Envoy's x-request-id. Envoy also copies its stream's request ID
// into the id attribute, which is used when the header was not forwarded.
func requestID(h *authv3.AttributeContext_HttpRequest, headers map[string]string) string {
	if id := headers["x-request-id"]; id != "" {
		return id
	}
	return h.GetId()
}
