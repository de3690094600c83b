package request

import (
	"fmt"
	"time"
)

// Parts are the facts of a request as a front other than Envoy's gRPC one has read them (the HTTP
// forward-auth front reads them from its own request line or from a proxy's headers), before
// any of them is checked.
type Parts struct {
	Method    string
	Authority string // the Host, port included
	Target    string // path and query as sent, never decoded
	Scheme    string
	Protocol  string
	// Headers have lower-case names, repeated ones joined with ",", as Envoy fills its map.
	Headers   map[string]string
	SourceIP  string
	RequestID string
}

// FromPartsInto checks p exactly as FromCheckInto checks a CheckRequest (the same limits, the
// same method, host and path rules) and writes all of r. Errors wrap ErrBadRequest (or a finer
// sentinel) or ErrTooLarge. r shares p.Headers.
func FromPartsInto(r *Request, p *Parts, now time.Time) error {
	if len(p.Target) > MaxPathBytes {
		return fmt.Errorf("%w: request target of %d bytes, limit %d", ErrTooLarge, len(p.Target), MaxPathBytes)
	}
	size := 0
	for k, v := range p.Headers {
		size += len(k) + len(v) + headerOverhead
	}
	if err := checkHeaderSize(size); err != nil {
		return err
	}
	method, err := methodOf(p.Method)
	if err != nil {
		return err
	}
	host, err := hostOf(p.Authority)
	if err != nil {
		return err
	}
	rawPath, rawQuery := SplitTarget(p.Target)
	path, err := CleanPath(rawPath)
	if err != nil {
		return err
	}
	*r = Request{
		Method:    method,
		Host:      host,
		Authority: p.Authority,
		Scheme:    p.Scheme,
		Protocol:  p.Protocol,
		RawPath:   rawPath,
		Path:      path,
		RawQuery:  rawQuery,
		Headers:   p.Headers,
		SourceIP:  p.SourceIP,
		RequestID: p.RequestID,
		Time:      now,
	}
	return nil
}
