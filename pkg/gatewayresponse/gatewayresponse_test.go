package gatewayresponse

import (
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/routes"
)

var restApi = Api{Protocol: "REST", Stage: "prod", StageVariables: map[string]string{"env": "prod", "login": "https://login.example.com/"}}

func mustCompile(t *testing.T, api Api, responses map[string]v1alpha1.GatewayResponse) *Set {
	t.Helper()
	s, errs := Compile(responses, api)
	if errs != nil {
		t.Fatalf("Compile: %v", errs)
	}
	return s
}

func headerOf(r *Response, name string) (string, bool) {
	for _, h := range r.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// TestBuiltinAnswers: without gateway responses, every reason gets API Gateway's default answer,
// REST or HTTP API style.
func TestBuiltinAnswers(t *testing.T) {
	httpSet := mustCompile(t, Api{Protocol: "HTTP"}, nil)
	restSet := mustCompile(t, restApi, nil)
	tests := []struct {
		name      string
		set       *Set
		reason    Reason
		jwt       bool
		status    int
		body      string
		errorType string
	}{
		{"REST explicit deny has a capital M", restSet, ExplicitDeny, false, 403,
			`{"Message":"User is not authorized to access this resource with an explicit deny"}`, "AccessDeniedException"},
		{"REST implicit deny", restSet, ImplicitDeny, false, 403, `{"message":"User is not authorized to access this resource"}`, "AccessDeniedException"},
		{"HTTP explicit deny is Forbidden", httpSet, ExplicitDeny, false, 403, `{"message":"Forbidden"}`, "AccessDeniedException"},
		{"REST missing token", restSet, MissingAuthenticationToken, false, 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		{"HTTP missing route is 404", httpSet, MissingAuthenticationToken, false, 404, `{"message":"Not Found"}`, "MissingAuthenticationTokenException"},
		{"REST authorizer failure has a null message", restSet, AuthorizerFailure, false, 500, `{"message":null}`, "AuthorizerFailureException"},
		{"HTTP configuration error", httpSet, AuthorizerConfigurationError, false, 500, `{"message":"Internal Server Error"}`, "AuthorizerConfigurationException"},
		{"methodArn too long", restSet, URITooLong, false, 414, `{"message":"Request-URI Too Long"}`, ""},
		{"bad request", nil, BadRequest, false, 400, `{"message":"Bad Request"}`, ""},
		{"throttled", nil, Throttled, false, 429, `{"message":"Too Many Requests"}`, "TooManyRequestsException"},
		{"reason outside the table is a failure", nil, Reason(200), false, 500, `{"message":null}`, "AuthorizerFailureException"},
		{"JWT 401", restSet, Unauthorized, true, 401, `{"message":"Unauthorized"}`, "UnauthorizedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.set.Render(tt.reason, tt.jwt, nil)
			et, _ := headerOf(r, "x-amzn-errortype")
			if r.Status != tt.status || r.Body != tt.body || et != tt.errorType || r.ContentType != "application/json" || !r.Shared() {
				t.Fatalf("got %d %s %q %q shared %v", r.Status, r.ContentType, r.Body, et, r.Shared())
			}
			if wa, _ := headerOf(r, "www-authenticate"); (wa == "Bearer") != (tt.jwt && tt.reason == Unauthorized) {
				t.Fatalf("www-authenticate %q", wa)
			}
		})
	}
}

// TestFallbacks: a specific type wins, then the DEFAULT of the reason's status class, then the
// built-in answer; statusCode defaults to the reason's.
func TestFallbacks(t *testing.T) {
	s := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{
		"UNAUTHORIZED": {StatusCode: 302, ResponseParameters: map[string]string{"gatewayresponse.header.Location": "'https://login.example.com/'"}},
		"DEFAULT_4XX":  {ResponseTemplates: map[string]string{"application/json": `{"type":"$context.error.responseType","msg":$context.error.messageString}`}},
		"DEFAULT_5XX":  {StatusCode: 503},
	})
	tests := []struct {
		name   string
		reason Reason
		status int
		body   string
	}{
		{"specific type wins", Unauthorized, 302, `{"message":"Unauthorized"}`},
		{"403 falls back to DEFAULT_4XX", ExplicitDeny, 403, `{"type":"ACCESS_DENIED","msg":"User is not authorized to access this resource with an explicit deny"}`},
		{"414 falls back to DEFAULT_4XX", URITooLong, 414, `{"type":"REQUEST_TOO_LARGE","msg":"Request-URI Too Long"}`},
		{"500 falls back to DEFAULT_5XX", AuthorizerFailure, 503, `{"message":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Render(tt.reason, false, &Request{})
			if r.Status != tt.status || r.Body != tt.body {
				t.Fatalf("got %d %q, want %d %q", r.Status, r.Body, tt.status, tt.body)
			}
		})
	}
	r := s.Render(Unauthorized, false, nil)
	if loc, _ := headerOf(r, "location"); loc != "https://login.example.com/" {
		t.Fatalf("302 headers %v", r.Headers)
	}
	if et, _ := headerOf(r, "x-amzn-errortype"); et != "UnauthorizedException" {
		t.Fatalf("the built-in error type is kept: %v", r.Headers)
	}
	only5xx := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{"DEFAULT_5XX": {StatusCode: 503}})
	if r := only5xx.Render(ImplicitDeny, false, nil); r != defaults[ImplicitDeny][rest][0] {
		t.Fatalf("a reason no configured type covers gets the built-in answer, got %+v", r)
	}
}

// TestTemplateVariables renders every supported variable, escaped for the template's content
// type, and request values in headers.
func TestTemplateVariables(t *testing.T) {
	s := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{
		"ACCESS_DENIED": {
			ResponseParameters: map[string]string{
				"gatewayresponse.header.x-request":     "method.request.header.X-Request-Id",
				"gatewayresponse.header.x-q":           "method.request.querystring.q",
				"gatewayresponse.header.x-pet":         "method.request.path.petId",
				"gatewayresponse.header.x-env":         "stageVariables.env",
				"gatewayresponse.header.x-evil":        "method.request.header.x-evil",
				"gatewayresponse.header.x-absent":      "method.request.header.x-absent",
				"gatewayresponse.header.Cache-Control": "'no-store'",
			},
			ResponseTemplates: map[string]string{
				"application/json": `{"id":"$context.requestId","p":"$context.authorizer.principalId","t":"$context.authorizer.tenant",` +
					`"g":$context.authorizer.groups,"m":"$context.httpMethod","path":"$context.path","r":"${context.resourcePath}",` +
					`"s":"$context.stage","e":"$stageVariables.env","msg":"$context.error.message","cost":"$5"}`,
				"text/html": `<p>$context.path</p>`,
			},
		},
	})
	req := &Request{
		RequestID: "req-1", Method: "GET", Path: `/pets/4"2`, ResourcePath: "/pets/{petId}", RawQuery: "q=a%20b&q=c",
		Headers:        map[string]string{"x-request-id": "req-1", "x-evil": "a\r\nset-cookie: x", "accept": "application/json"},
		PathParameters: []routes.Param{{Name: "petId", Value: `4"2`}},
		PrincipalID:    "alice",
		Context:        policy.NewContext(map[string]any{"tenant": "acme", "groups": []any{"a", "b"}}),
	}
	r := s.Render(ExplicitDeny, false, req)
	want := `{"id":"req-1","p":"alice","t":"acme","g":[\"a\",\"b\"],"m":"GET","path":"/pets/4\"2","r":"/pets/{petId}",` +
		`"s":"prod","e":"prod","msg":"User is not authorized to access this resource with an explicit deny","cost":"$5"}`
	if r.Body != want || r.Shared() {
		t.Fatalf("body\n got %s\nwant %s", r.Body, want)
	}
	for name, value := range map[string]string{"x-request": "req-1", "x-q": "a b", "x-pet": `4"2`, "x-env": "prod", "cache-control": "no-store"} {
		if got, _ := headerOf(r, name); got != value {
			t.Errorf("header %s = %q, want %q (%v)", name, got, value, r.Headers)
		}
	}
	for _, name := range []string{"x-evil", "x-absent"} {
		if v, ok := headerOf(r, name); ok {
			t.Errorf("header %s = %q: a request value with CR or LF, or none, must be left out", name, v)
		}
	}
	req.Headers["accept"] = "text/html"
	if r := s.Render(ExplicitDeny, false, req); r.Body != `<p>/pets/4&#34;2</p>` || r.ContentType != "text/html" {
		t.Fatalf("html: %s %q", r.ContentType, r.Body)
	}
}

// TestContentNegotiation: Accept chooses the template; application/json otherwise.
func TestContentNegotiation(t *testing.T) {
	s := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{
		"DEFAULT_4XX": {ResponseTemplates: map[string]string{
			"application/json": `{"m":$context.error.messageString}`,
			"text/html":        `<h1>$context.error.message</h1>`,
			"application/xml":  `<e>$context.error.message</e>`,
		}},
	})
	tests := []struct{ accept, want string }{
		{"", "application/json"},
		{"*/*", "application/json"},
		{"text/html", "text/html"},
		{"text/*", "text/html"},
		{"text/html;q=0.5, application/xml", "application/xml"},
		{"application/json;q=0.1, text/html;q=0.9", "text/html"},
		{"image/png", "application/json"},
		{"text/html;q=0", "application/json"},
		{"TEXT/HTML", "text/html"},
	}
	for _, tt := range tests {
		r := s.Render(ImplicitDeny, false, &Request{Headers: map[string]string{"accept": tt.accept}})
		if r.ContentType != tt.want || !r.Shared() {
			t.Errorf("Accept %q: %s (shared %v), want %s", tt.accept, r.ContentType, r.Shared(), tt.want)
		}
	}
}

// TestSharedWhenNothingVaries: an answer that reads nothing of the request is built at load, one
// Response for every request, rendered without allocating.
func TestSharedWhenNothingVaries(t *testing.T) {
	s := mustCompile(t, restApi, map[string]v1alpha1.GatewayResponse{
		"UNAUTHORIZED": {StatusCode: 302, ResponseParameters: map[string]string{
			"gatewayresponse.header.Location": "stageVariables.login"},
			ResponseTemplates: map[string]string{"application/json": `{"stage":"$context.stage","type":"$context.error.responseType"}`}},
	})
	req := &Request{RequestID: "r", Headers: map[string]string{"accept": "*/*"}}
	first := s.Render(Unauthorized, false, req)
	if first != s.Render(Unauthorized, false, &Request{RequestID: "other"}) || !first.Shared() {
		t.Fatal("a constant answer is not shared")
	}
	if first.Body != `{"stage":"prod","type":"UNAUTHORIZED"}` {
		t.Fatalf("body %q", first.Body)
	}
	if n := testing.AllocsPerRun(100, func() { s.Render(Unauthorized, false, req) }); n != 0 {
		t.Fatalf("a shared answer costs %v allocations", n)
	}
	if first.Keep(GRPC, "parts") != "parts" || first.Keep(GRPC, "other") != "parts" || first.Kept(GRPC) != "parts" {
		t.Fatal("the first kept encoding stays")
	}
	if first.Kept(HTTP) != nil || first.Keep(HTTP, 7) != 7 || first.Kept(GRPC) != "parts" {
		t.Fatal("each front keeps its own encoding")
	}
}

// TestCompileErrors: every problem, at its field, with a reason.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name      string
		responses map[string]v1alpha1.GatewayResponse
		field     string
		reason    string
	}{
		{"unknown type", map[string]v1alpha1.GatewayResponse{"EXPIRED_TOKN": {}}, "spec.gatewayResponses.EXPIRED_TOKN", "unknown response type"},
		{"status out of range", map[string]v1alpha1.GatewayResponse{"UNAUTHORIZED": {StatusCode: 99}}, "spec.gatewayResponses.UNAUTHORIZED.statusCode", "out of range"},
		{"parameter not a header", map[string]v1alpha1.GatewayResponse{"UNAUTHORIZED": {ResponseParameters: map[string]string{"gatewayresponse.path.x": "'a'"}}},
			"spec.gatewayResponses.UNAUTHORIZED.responseParameters[gatewayresponse.path.x]", "gatewayresponse.header.NAME"},
		{"bad header name", map[string]v1alpha1.GatewayResponse{"UNAUTHORIZED": {ResponseParameters: map[string]string{"gatewayresponse.header.a b": "'a'"}}},
			"spec.gatewayResponses.UNAUTHORIZED.responseParameters[gatewayresponse.header.a b]", "not a header name"},
		{"framing header", map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {ResponseParameters: map[string]string{"gatewayresponse.header.Content-Length": "'1'"}}},
			"spec.gatewayResponses.DEFAULT_4XX.responseParameters[gatewayresponse.header.Content-Length]", "cannot be set"},
		{"literal with CR LF", map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {ResponseParameters: map[string]string{"gatewayresponse.header.x": "'a\r\nb'"}}},
			"spec.gatewayResponses.DEFAULT_4XX.responseParameters[gatewayresponse.header.x]", "control character"},
		{"unquoted literal", map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {ResponseParameters: map[string]string{"gatewayresponse.header.x": "'abc"}}},
			"spec.gatewayResponses.DEFAULT_4XX.responseParameters[gatewayresponse.header.x]", "quoted"},
		{"unknown source", map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {ResponseParameters: map[string]string{"gatewayresponse.header.x": "context.requestId"}}},
			"spec.gatewayResponses.DEFAULT_4XX.responseParameters[gatewayresponse.header.x]", "want 'literal'"},
		{"unknown stage variable", map[string]v1alpha1.GatewayResponse{"DEFAULT_4XX": {ResponseParameters: map[string]string{"gatewayresponse.header.x": "stageVariables.nope"}}},
			"spec.gatewayResponses.DEFAULT_4XX.responseParameters[gatewayresponse.header.x]", "no stage variable"},
		{"unknown template variable", map[string]v1alpha1.GatewayResponse{"DEFAULT_5XX": {ResponseTemplates: map[string]string{"application/json": `{"a":"$context.identity.sourceIp"}`}}},
			"spec.gatewayResponses.DEFAULT_5XX.responseTemplates[application/json]", "unknown template variable $context.identity.sourceIp"},
		{"VTL directive", map[string]v1alpha1.GatewayResponse{"DEFAULT_5XX": {ResponseTemplates: map[string]string{"application/json": `$input.json('$')`}}},
			"spec.gatewayResponses.DEFAULT_5XX.responseTemplates[application/json]", "unknown template variable $input.json"},
		{"not a content type", map[string]v1alpha1.GatewayResponse{"DEFAULT_5XX": {ResponseTemplates: map[string]string{"json": `{}`}}},
			"spec.gatewayResponses.DEFAULT_5XX.responseTemplates[json]", "not a content type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, errs := Compile(tt.responses, restApi)
			if s != nil || len(errs) != 1 || errs[0].Field != tt.field || !strings.Contains(errs[0].Reason, tt.reason) {
				t.Fatalf("got %v, want one error at %s containing %q", errs, tt.field, tt.reason)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	want := []string{"ACCESS_DENIED", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE", "BAD_REQUEST_PARAMETERS",
		"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "THROTTLED", "UNAUTHORIZED"}
	if got := Types(); !slices.Equal(got, want) {
		t.Fatalf("Types() = %v", got)
	}
}
