package engine

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// reservedConfig exercises what `portcullis import` writes: DENY routes, a $default route, a
// REQUEST authorizer without identity sources, a JWT read from the query string, and two Apis
// without hosts told apart by context_extensions["api"].
const reservedConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "http://127.0.0.1:1/authorize"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: anonymous}
spec:
  type: REQUEST
  resultTtlInSeconds: 0
  http: {url: "http://127.0.0.1:1/authorize"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: query-jwt}
spec:
  type: JWT
  identitySource: $request.querystring.access_token
  jwt:
    issuer: https://issuer.test
    audience: [api]
    algorithms: [HS256]
    keys: {hmacSecret: {value: 0123456789abcdef0123456789abcdef}}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: first}
spec:
  protocol: HTTP
  region: us-east-1
  accountId: "123456789012"
  apiId: first1
  stage: prod
  defaultAuthorizer: tokens
  cors: {allowPreflight: true}
  routes:
    - {path: /pets, methods: [GET]}
    - {path: /pets, methods: [OPTIONS], authorizer: DENY}
    - {path: /cognito, methods: [GET], authorizer: DENY}
    - {path: /open, methods: [GET], authorizer: NONE}
    - {path: /anon, methods: [GET], authorizer: anonymous}
    - {path: /query, methods: [GET], authorizer: query-jwt}
    - {path: $default, methods: [ANY]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: second}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: second2
  stage: beta
  defaultAuthorizer: DENY
  routes:
    - {path: /pets, methods: [GET], authorizer: NONE}
    - {path: /other, methods: [GET]}
`

func reservedEngine(t *testing.T, fb *fakeBackend) *Engine {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(reservedConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{
		Paths: []string{p},
		WrapBackend: func(name string, b authorizer.Backend) authorizer.Backend {
			if name == "query-jwt" {
				return b // the real JWT backend
			}
			return fb
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestReservedNamesAndDefaultRoute(t *testing.T) {
	fb := newFake()
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*")}, nil
	}
	e := reservedEngine(t, fb)
	first := map[string]string{"api": "first"}
	withExt := func(r reqSpec, ext map[string]string) reqSpec { r.ext = ext; return r }
	tests := []struct {
		name       string
		r          reqSpec
		outcome    Outcome
		authorizer string
		route      string
		methodArn  string
		calls      int // backend calls this request makes
	}{
		{"DENY route is an implicit deny without calling anything",
			withExt(reqSpec{"GET", "/cognito", "tok", nil}, first), ImplicitDeny, "DENY", "GET /cognito", "", 0},
		{"DENY route ignores an authorizer named by context_extensions",
			withExt(reqSpec{"GET", "/cognito", "tok", nil}, map[string]string{"api": "first", "authorizer": "NONE"}), ImplicitDeny, "DENY", "", "", 0},
		{"DENY named by context_extensions denies an open route",
			withExt(reqSpec{"GET", "/open", "", nil}, map[string]string{"api": "first", "authorizer": "DENY"}), ImplicitDeny, "DENY", "", "", 0},
		{"DENY as the Api default", withExt(reqSpec{"GET", "/other", "tok", nil}, map[string]string{"api": "second"}), ImplicitDeny, "DENY", "", "", 0},
		{"NONE beside a DENY default", withExt(reqSpec{"GET", "/pets", "", nil}, map[string]string{"api": "second"}), Allow, "", "GET /pets", "", 0},
		{"$default catches the root", withExt(reqSpec{"GET", "/", "tok", nil}, first), Allow, "tokens", "$default",
			"arn:aws:execute-api:us-east-1:123456789012:first1/prod/GET/", 1},
		{"$default catches another method of a known path", withExt(reqSpec{"DELETE", "/pets", "tok2", nil}, first), Allow, "tokens", "$default",
			"arn:aws:execute-api:us-east-1:123456789012:first1/prod/DELETE/pets", 1},
		{"$default needs its authorizer's identity", withExt(reqSpec{"GET", "/x/y", "", nil}, first), Unauthorized, "tokens", "$default", "", 0},
		{"preflight passes $default with allowPreflight", withExt(reqSpec{"OPTIONS", "/x", "", nil}, first), Allow, "", "", "", 0},
		{"an explicit OPTIONS route still decides", withExt(reqSpec{"OPTIONS", "/pets", "", nil}, first), ImplicitDeny, "DENY", "OPTIONS /pets", "", 0},
		{"REQUEST without identity sources calls its backend", withExt(reqSpec{"GET", "/anon", "", nil}, first), Allow, "anonymous", "GET /anon", "", 1},
		{"several host-less Apis: an unknown host finds none", reqSpec{"GET", "/pets", "tok", nil}, MissingToken, "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fb.Calls(tt.r.token)
			d := e.Decide(context.Background(), tt.r.build())
			if d.Outcome != tt.outcome || d.Authorizer != tt.authorizer {
				t.Fatalf("got %s by %q (err %v), want %s by %q", d.Outcome, d.Authorizer, d.Err, tt.outcome, tt.authorizer)
			}
			if tt.route != "" && d.Route != tt.route {
				t.Errorf("route = %q, want %q", d.Route, tt.route)
			}
			if tt.methodArn != "" && d.MethodArn != tt.methodArn {
				t.Errorf("methodArn = %q, want %q", d.MethodArn, tt.methodArn)
			}
			if got := fb.Calls(tt.r.token) - before; got != tt.calls {
				t.Errorf("backend calls = %d, want %d", got, tt.calls)
			}
		})
	}
	if fb.last == nil || fb.last.Resource != "/anon" {
		t.Fatalf("last backend request %+v", fb.last)
	}
}

func TestDefaultRouteEvent(t *testing.T) {
	fb := newFake()
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*")}, nil
	}
	e := reservedEngine(t, fb)
	r := reqSpec{"POST", "/a/b", "tok", map[string]string{"api": "first"}}.build()
	if d := e.Decide(context.Background(), r); d.Outcome != Allow {
		t.Fatalf("outcome %s: %v", d.Outcome, d.Err)
	}
	if fb.last.Resource != "$default" || fb.last.RouteKey != "$default" || fb.last.Path != "/a/b" || len(fb.last.PathParameters) != 0 {
		t.Fatalf("backend request = %+v", fb.last)
	}
}

func TestJWTFromQueryString(t *testing.T) {
	e := reservedEngine(t, newFake())
	token := strings.TrimPrefix(hs256(t, "read"), "Bearer ")
	for _, tt := range []struct {
		name, query string
		headers     map[string]string
		want        Outcome
	}{
		{"token in the query string", "access_token=" + url.QueryEscape(token), nil, Allow},
		{"token only in the header is not read", "", map[string]string{"authorization": "Bearer " + token}, Unauthorized},
		{"forged token in the query string", "access_token=" + token + "x", nil, Unauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := req("GET", "h", "/query", tt.headers)
			r.RawQuery = tt.query
			r.ContextExtensions = map[string]string{"api": "first"}
			if d := e.Decide(context.Background(), r); d.Outcome != tt.want {
				t.Fatalf("got %s (err %v), want %s", d.Outcome, d.Err, tt.want)
			}
		})
	}
}

type reqSpec struct {
	method, path, token string
	ext                 map[string]string
}

func (s reqSpec) build() *request.Request {
	var h map[string]string
	if s.token != "" {
		h = map[string]string{"authorization": s.token}
	}
	r := req(s.method, "unknown.example.net", s.path, h)
	r.ContextExtensions = s.ext
	return r
}
