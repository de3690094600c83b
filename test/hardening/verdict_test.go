package hardening

import (
	"fmt"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// verdict is what Envoy does with a CheckResponse: let the request through, or answer it.
type verdict struct {
	code      codes.Code
	status    int // 200 when allowed, else the HTTP status of the denial
	body      string
	errorType string
	headers   map[string]string // the denial's headers
}

func readVerdict(resp *authv3.CheckResponse) verdict {
	v := verdict{code: codes.Code(resp.GetStatus().GetCode()), headers: map[string]string{}}
	if v.code == codes.OK {
		v.status = 200
		return v
	}
	d := resp.GetDeniedResponse()
	v.status = int(d.GetStatus().GetCode())
	v.body = d.GetBody()
	for _, h := range d.GetHeaders() {
		v.headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	v.errorType = v.headers["x-amzn-errortype"]
	return v
}

func (v verdict) String() string {
	if v.code == codes.OK {
		return "allow"
	}
	return fmt.Sprintf("%d %s %s (gRPC %s)", v.status, v.body, v.errorType, v.code)
}

// want is one row of the SPEC's answers table (section 9), REST bodies.
type want struct {
	code      codes.Code
	status    int
	body      string
	errorType string
}

var (
	wantAllow         = want{codes.OK, 200, "", ""}
	wantBadRequest    = want{codes.InvalidArgument, 400, `{"message":"Bad Request"}`, ""}
	wantURITooLong    = want{codes.InvalidArgument, 414, `{"message":"Request-URI Too Long"}`, ""}
	wantUnauthorized  = want{codes.Unauthenticated, 401, `{"message":"Unauthorized"}`, "UnauthorizedException"}
	wantExplicitDeny  = want{codes.PermissionDenied, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, "AccessDeniedException"}
	wantImplicitDeny  = want{codes.PermissionDenied, 403, `{"message":"User is not authorized to access this resource"}`, "AccessDeniedException"}
	wantMissingToken  = want{codes.PermissionDenied, 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"}
	wantFailure       = want{codes.Unavailable, 500, `{"message":null}`, "AuthorizerFailureException"}
	wantConfiguration = want{codes.Internal, 500, `{"message":null}`, "AuthorizerConfigurationException"}
)

func (w want) String() string {
	if w.code == codes.OK {
		return "allow"
	}
	return fmt.Sprintf("%d %s %s (gRPC %s)", w.status, w.body, w.errorType, w.code)
}

// matches reports whether v is exactly w, with the headers every denial carries.
func (v verdict) matches(w want) bool {
	if v.code != w.code || v.status != w.status {
		return false
	}
	if w.code == codes.OK {
		return true
	}
	return v.body == w.body && v.errorType == w.errorType &&
		v.headers["content-type"] == "application/json" && v.headers["x-amzn-requestid"] != ""
}

// expect counts one checked decision and fails the test when v is not w.
func expect(t testing.TB, what string, v verdict, w want) bool {
	t.Helper()
	counts.decisions.Add(1)
	if v.matches(w) {
		return true
	}
	counts.wrong.Add(1)
	t.Errorf("%s: got %s, want %s", what, v, w)
	return false
}

// expectOneOf counts one checked decision that may be any of ws (a race the SPEC leaves open,
// such as which of two concurrent calls a flapping backend fails).
func expectOneOf(t testing.TB, what string, v verdict, ws ...want) bool {
	t.Helper()
	counts.decisions.Add(1)
	for _, w := range ws {
		if v.matches(w) {
			return true
		}
	}
	counts.wrong.Add(1)
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.String()
	}
	t.Errorf("%s: got %s, want one of %s", what, v, strings.Join(names, " | "))
	return false
}

// wrongDecision records a decision found wrong by a check other than the status (a header a
// client smuggled upstream, an allow decided on another path than the upstream's).
func wrongDecision(t testing.TB, format string, args ...any) {
	t.Helper()
	counts.wrong.Add(1)
	t.Errorf(format, args...)
}
