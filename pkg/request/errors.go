package request

import (
	"errors"
	"fmt"
)

// Limits on what one request may carry (SPEC section 11). Anything larger is refused before it is
// decoded or copied, so hostile input never costs more than these bounds.
const (
	// MaxHeaderBytes bounds the sum of every header's name and value length.
	MaxHeaderBytes = 64 << 10
	// MaxPathBytes bounds the request target as Envoy sends it, query included: API Gateway's own
	// limit is on the URL length, so a long query counts as much as a long path.
	MaxPathBytes = 8 << 10
)

// ErrBadRequest is the parent of every error that makes a request malformed (400 Bad Request).
// Callers branch on it with errors.Is; the finer errors below say which part was at fault.
var ErrBadRequest = errors.New("bad request")

// Malformed parts of a request. Each satisfies errors.Is(err, ErrBadRequest).
var (
	ErrBadPath          error = &badRequestError{"bad path"}
	ErrBadMethod        error = &badRequestError{"bad method"}
	ErrBadHost          error = &badRequestError{"bad host"}
	ErrNoHTTPAttributes error = &badRequestError{"no HTTP request attributes"}
)

// ErrTooLarge marks a request over one of the limits above. It is not a kind of ErrBadRequest:
// the caller chooses the status (API Gateway answers 413/414/431 style limits differently from
// malformed input).
var ErrTooLarge = errors.New("request too large")

// badRequestError gives each malformed-part sentinel a short message of its own while keeping
// errors.Is(err, ErrBadRequest) true for all of them.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }
func (e *badRequestError) Unwrap() error { return ErrBadRequest }

// pathError says why a path was refused and where. The path itself is left out of the message:
// it may carry values that do not belong in logs.
func pathError(reason string, offset int) error {
	return fmt.Errorf("%w: %s at byte %d", ErrBadPath, reason, offset)
}
