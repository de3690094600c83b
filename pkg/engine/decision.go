package engine

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

// Outcome is what a request gets; each has one status and body in the SPEC's answers table.
type Outcome uint8

// Outcomes, ordered so that everything from AuthorizerFailure on is an error worth logging.
const (
	Allow             Outcome = iota
	Unauthorized              // 401: identity missing or invalid, or the backend said Unauthorized
	ExplicitDeny              // 403: a Deny statement matched
	ImplicitDeny              // 403: no Allow matched, simple response false, or scopes not held
	MissingToken              // 403 Missing Authentication Token: no Api or no route
	BadRequest                // 400: hostile or malformed request
	Throttled                 // 429: more Checks in flight than --max-inflight
	URITooLong                // 414: a methodArn over API Gateway's 1,600 bytes
	AuthorizerFailure         // 500: the backend failed (timeout, refused, 5xx)
	AuthorizerConfig          // 500: the backend's answer broke the contract

	numOutcomes // keep last: the tables below have a row for each outcome before it
)

// Outcomes lists every outcome, Allow first, for tests that must cover them all.
func Outcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

var outcomeNames = [numOutcomes]string{
	Allow:             "allow",
	Unauthorized:      "unauthorized",
	ExplicitDeny:      "explicit_deny",
	ImplicitDeny:      "implicit_deny",
	MissingToken:      "missing_token",
	BadRequest:        "bad_request",
	Throttled:         "throttled",
	URITooLong:        "uri_too_long",
	AuthorizerFailure: "authorizer_failure",
	AuthorizerConfig:  "authorizer_configuration_error",
}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

var outcomeStatus = [numOutcomes]int{
	Allow:             200,
	Unauthorized:      401,
	ExplicitDeny:      403,
	ImplicitDeny:      403,
	MissingToken:      403,
	BadRequest:        400,
	Throttled:         429,
	URITooLong:        414,
	AuthorizerFailure: 500,
	AuthorizerConfig:  500,
}

// HTTPStatus is the status the client gets (200: the request goes upstream).
func (o Outcome) HTTPStatus() int {
	if int(o) < len(outcomeStatus) {
		return outcomeStatus[o]
	}
	return 500
}

// Decision is the result of one request, with what the fronts and the logs need.
type Decision struct {
	Outcome     Outcome
	Protocol    config.Protocol // the Api's protocol, REST or HTTP (Responses render its bodies)
	Api         string
	Authorizer  string
	Route       string // "GET /pets/{petId}"
	MethodArn   string
	RequestID   string
	PrincipalID string
	Answer      *Answer // the backend's answer when there was one
	// Responses render the denial: the Api's gateway responses, or the built-in answers (nil).
	Responses *gatewayresponse.Set
	// DryRun is the outcome a dry-run route would have had: the request was let through
	// (Outcome is Allow). Allow when the route is not in dry run or nothing was denied.
	DryRun  Outcome
	Cached  bool
	JWT     bool // the authorizer is a JWT authorizer: 401s carry www-authenticate
	Policy  policy.Result
	Backend time.Duration // backend latency on a miss
	Err     error         // why, for the log; never sent to the client

	params []routes.Param // the route's path parameters, for gateway responses

	key    [32]byte // the identity's cache key
	hasKey bool
	names  *upstreamNames // the engine's upstream header names: immutable, shared by every Decision
	state  *state         // the allocation d lives in, which Release gives back to the pool
}

// UpstreamHeaders are the headers an allow passes upstream for d's answer: the principal first,
// then one per context key in the context's sorted order, the engine's prefix applied and every
// value checked (an answer whose headers could not be sent was refused when it was compiled, so
// the error is only for a Decision made by hand). None without an answer: a NONE route, an
// allowed preflight, a dry run the backend did not answer. The slice is the caller's; it holds
// none of d's memory, so it outlives Release.
func (d *Decision) UpstreamHeaders() ([]Header, error) {
	if d.Answer == nil {
		return nil, nil
	}
	return d.upstreamNames().headers(d.Answer.PrincipalID, d.Answer.Context())
}

// HeaderPrefix starts the names of the headers passed upstream: a front removes the client-sent
// headers that carry it, since only Portcullis may set them.
func (d *Decision) HeaderPrefix() string { return d.upstreamNames().prefix }

// DryRunHeader is the mark a denial let through by dry run carries upstream (the prefix's
// "dry-run" header naming the outcome it would have had); meaningful when DryRun is not Allow.
func (d *Decision) DryRunHeader() Header {
	return Header{Name: d.upstreamNames().dryRun, Value: d.DryRun.DryRunName()}
}

// defaultNames serve Decisions made without an engine (a front's own failure answers).
var defaultNames = newUpstreamNames(DefaultHeaderPrefix)

func (d *Decision) upstreamNames() *upstreamNames {
	if d.names == nil {
		return &defaultNames
	}
	return d.names
}

// TokenHash names the identity in logs: a prefix of its cache key, a sha256 over the identity
// values, so it says nothing of the token. Empty when the request had no identity.
func (d *Decision) TokenHash() string {
	if !d.hasKey {
		return ""
	}
	const hexdigits = "0123456789abcdef"
	var b [12]byte
	for i := 0; i < 6; i++ {
		b[2*i], b[2*i+1] = hexdigits[d.key[i]>>4], hexdigits[d.key[i]&15]
	}
	return string(b[:])
}

// Header is one header passed upstream.
type Header struct{ Name, Value string }

// Answer is a backend's answer as cached per identity: compiled and re-evaluated against every
// request's methodArn. A cache holds one per identity, inline in its entry: the fields are
// ordered, the rare ones kept apart and the context held as a pointer and a 16-bit length rather
// than a slice header, so that entry fits an 80-byte allocation. The headers passed upstream are
// not kept: a front builds them (Decision.UpstreamHeaders, from the engine-wide name table the
// Decision points at) when it encodes the answer's response parts, once or twice per answer.
type Answer struct {
	PrincipalID string
	Policy      *policy.Policy // nil for simple responses

	// rendered is a front's ready-made response parts for this answer (headers, metadata),
	// built on first use, so a cached allow costs no rebuilding.
	rendered atomic.Pointer[any]

	extra       *answerExtra         // nil unless the answer has scopes or a usage identifier key
	ctx         *policy.ContextValue // the context's first entry (see Context)
	policyBytes int32                // the compiled policy's size when this answer compiled it
	ctxLen      uint16
	Authorized  bool // simple responses
}

// maxContextKeys bounds an answer's context: more keys than this is a broken answer.
const maxContextKeys = math.MaxUint16

// Context is the authorizer's context, sorted by key.
func (a *Answer) Context() policy.Context {
	if a.ctx == nil {
		return nil
	}
	return unsafe.Slice(a.ctx, a.ctxLen)
}

func (a *Answer) setContext(c policy.Context) error {
	if len(c) > maxContextKeys {
		return fmt.Errorf("context has %d keys, over %d", len(c), maxContextKeys)
	}
	if len(c) > 0 {
		a.ctx, a.ctxLen = &c[0], uint16(len(c))
	}
	return nil
}

// answerExtra holds what only some answers have.
type answerExtra struct {
	scopes             []string
	usageIdentifierKey string
}

// Scopes are the JWT's scopes, for routes' authorizationScopes.
func (a *Answer) Scopes() []string {
	if a.extra == nil {
		return nil
	}
	return a.extra.scopes
}

// UsageIdentifierKey is the API key a Lambda authorizer named for usage plans.
func (a *Answer) UsageIdentifierKey() string {
	if a.extra == nil {
		return ""
	}
	return a.extra.usageIdentifierKey
}

// Rendered returns what a front stored with SetRendered, or nil.
func (a *Answer) Rendered() any {
	if p := a.rendered.Load(); p != nil {
		return *p
	}
	return nil
}

// SetRendered stores a front's rendering of the answer; the first one stored stays.
func (a *Answer) SetRendered(v any) { a.rendered.CompareAndSwap(nil, &v) }
