// Package gatewayresponse renders Portcullis's denials: API Gateway's default answers and an
// Api's gateway responses (spec.gatewayResponses), compiled once at load. It is the one renderer
// of denials for every front: a front names the Reason of a denial, hands over the request's
// facts, and converts the Response it gets into its own form (a gRPC DeniedHttpResponse, an HTTP
// answer). Where nothing of the answer depends on the request, the Response is built at load and
// shared, and a front may keep its own encoding of it (Keep).
package gatewayresponse

import (
	"sync/atomic"

	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

// Reason is why a request is denied: one row of the answers table (SPEC section 9).
type Reason uint8

// Reasons.
const (
	Unauthorized                 Reason = iota // 401: identity missing or invalid, or the backend said so
	ExplicitDeny                               // 403: a Deny statement matched
	ImplicitDeny                               // 403: nothing allowed the request
	MissingAuthenticationToken                 // 403 (REST) or 404 (HTTP): no Api or no route
	BadRequest                                 // 400: a request that could not be read
	URITooLong                                 // 414: a methodArn over API Gateway's limit
	Throttled                                  // 429: too many Checks in flight
	AuthorizerFailure                          // 500: the backend failed
	AuthorizerConfigurationError               // 500: the backend's answer broke the contract
	numReasons
)

// Header is one header of a denial.
type Header struct{ Name, Value string }

// Response is a rendered denial. Headers holds every header but content-type (x-amzn-errortype,
// www-authenticate, the configured ones); a front adds its own (x-amzn-requestid). A Response
// is read-only: shared ones are handed to every request they answer.
type Response struct {
	Status      int
	ContentType string
	Headers     []Header
	Body        string

	shared bool
	kept   [numFronts]atomic.Pointer[any]
}

// Front names a front that keeps its own encoding of shared Responses, each in its own slot.
type Front uint8

// Fronts.
const (
	GRPC Front = iota // pkg/extauthz
	HTTP              // pkg/forwardauth
	numFronts
)

// Shared reports whether r is the same for every request it answers (built at load), so that
// a front may encode it once and Keep the encoding.
func (r *Response) Shared() bool { return r.shared }

// Kept returns what front stored with Keep, or nil.
func (r *Response) Kept(front Front) any {
	if p := r.kept[front%numFronts].Load(); p != nil {
		return *p
	}
	return nil
}

// Keep stores front's encoding of a shared Response and returns the one stored: the first one
// stays, so concurrent denials agree on one encoding.
func (r *Response) Keep(front Front, v any) any {
	r.kept[front%numFronts].CompareAndSwap(nil, &v)
	return r.Kept(front)
}

// Request is what a rendering may read of the denied request. Every field may be empty: a
// request that could not be read has only its id.
type Request struct {
	RequestID      string
	Method         string
	Path           string // the decoded request path
	ResourcePath   string // the matched route's template
	RawQuery       string
	Headers        map[string]string // lower-case names
	PathParameters []routes.Param
	PrincipalID    string
	Context        policy.Context // the authorizer's context, when the backend answered
}

// builtin is one reason's default answer, as API Gateway sends it.
type builtin struct {
	typ       string // the gateway response type
	status    [2]int // REST, HTTP
	errorType string // x-amzn-errortype
	message   [2]string
	null      [2]bool // the message is null ({"message":null})
}

const (
	rest    = 0
	httpAPI = 1
)

var builtins = [numReasons]builtin{
	Unauthorized: {typ: "UNAUTHORIZED", status: [2]int{401, 401}, errorType: "UnauthorizedException",
		message: [2]string{"Unauthorized", "Unauthorized"}},
	ExplicitDeny: {typ: "ACCESS_DENIED", status: [2]int{403, 403}, errorType: "AccessDeniedException",
		message: [2]string{"User is not authorized to access this resource with an explicit deny", "Forbidden"}},
	ImplicitDeny: {typ: "ACCESS_DENIED", status: [2]int{403, 403}, errorType: "AccessDeniedException",
		message: [2]string{"User is not authorized to access this resource", "Forbidden"}},
	MissingAuthenticationToken: {typ: "MISSING_AUTHENTICATION_TOKEN", status: [2]int{403, 404},
		errorType: "MissingAuthenticationTokenException", message: [2]string{"Missing Authentication Token", "Not Found"}},
	BadRequest: {typ: "BAD_REQUEST_PARAMETERS", status: [2]int{400, 400}, message: [2]string{"Bad Request", "Bad Request"}},
	URITooLong: {typ: "REQUEST_TOO_LARGE", status: [2]int{414, 414},
		message: [2]string{"Request-URI Too Long", "Request-URI Too Long"}},
	Throttled: {typ: "THROTTLED", status: [2]int{429, 429}, errorType: "TooManyRequestsException",
		message: [2]string{"Too Many Requests", "Too Many Requests"}},
	AuthorizerFailure: {typ: "AUTHORIZER_FAILURE", status: [2]int{500, 500}, errorType: "AuthorizerFailureException",
		null: [2]bool{true, false}, message: [2]string{"", "Internal Server Error"}},
	AuthorizerConfigurationError: {typ: "AUTHORIZER_CONFIGURATION_ERROR", status: [2]int{500, 500},
		errorType: "AuthorizerConfigurationException", null: [2]bool{true, false}, message: [2]string{"", "Internal Server Error"}},
}

// messageString is $context.error.messageString: the message as a quoted JSON string, or null.
func (b *builtin) messageString(proto int) string {
	if b.null[proto] {
		return "null"
	}
	return quote(b.message[proto])
}

// body is the default template's answer, {"message":$context.error.messageString}, except the
// REST explicit deny, which API Gateway sends with a capital M.
func (b *builtin) body(reason Reason, proto int) string {
	key := "message"
	if reason == ExplicitDeny && proto == rest {
		key = "Message"
	}
	return `{"` + key + `":` + b.messageString(proto) + `}`
}

// builtinHeaders are a reason's own headers: x-amzn-errortype, and www-authenticate for a JWT
// authorizer's 401.
func (b *builtin) headers(reason Reason, jwt bool) []Header {
	var h []Header
	if b.errorType != "" {
		h = append(h, Header{"x-amzn-errortype", b.errorType})
	}
	if reason == Unauthorized && jwt {
		h = append(h, Header{"www-authenticate", "Bearer"})
	}
	return h
}

// defaults are the built-in Responses, by reason, protocol and JWT authorizer, shared by every
// Api without a gateway response for the reason.
var defaults = func() (t [numReasons][2][2]*Response) {
	for r := range numReasons {
		b := &builtins[r]
		for proto := range 2 {
			for jwt := range 2 {
				t[r][proto][jwt] = &Response{
					Status: b.status[proto], ContentType: "application/json",
					Headers: b.headers(r, jwt == 1), Body: b.body(r, proto), shared: true,
				}
			}
		}
	}
	return t
}()

// Default returns the built-in answer for reason (REST style), as for a request no Api claims.
func Default(reason Reason, jwt bool) *Response { return (*Set)(nil).Render(reason, jwt, nil) }

// String is the reason's gateway response type, e.g. ACCESS_DENIED.
func (r Reason) String() string {
	if r < numReasons {
		return builtins[r].typ
	}
	return "UNKNOWN"
}
