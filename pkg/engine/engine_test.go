package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// fakeBackend answers by token and counts calls; it stands in for the network in unit tests
// (the e2e tests use a real HTTP authorizer).
type fakeBackend struct {
	mu     sync.Mutex
	calls  map[string]int
	last   *authorizer.Request
	answer func(req *authorizer.Request) (*authorizer.Response, error)
	// uncounted: no call is recorded, so a memory benchmark measures the engine, not the fake.
	uncounted bool
}

func (f *fakeBackend) Authorize(_ context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	if !f.uncounted {
		f.mu.Lock()
		f.calls[req.Token]++
		f.last = req
		f.mu.Unlock()
	}
	return f.answer(req)
}

func (f *fakeBackend) Calls(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[token]
}

func policyFor(effect, resource string) json.RawMessage {
	return json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"` + effect +
		`","Action":"execute-api:Invoke","Resource":"` + resource + `"}]}`)
}

const testConfig = `
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
metadata: {name: multi}
spec:
  type: REQUEST
  identitySource: [method.request.header.x-tenant, method.request.querystring.key]
  resultTtlInSeconds: 0
  http: {url: "http://127.0.0.1:1/authorize"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: strict}
spec:
  type: REQUEST
  identitySource: method.request.header.x-tenant, stageVariables.env
  http: {url: "http://127.0.0.1:1/authorize"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com, "*.example.org"]
  basePath: /v1
  stageVariables: {env: prod}
  defaultAuthorizer: tokens
  cors: {allowPreflight: true}
  routes:
    - {path: /pets, methods: [GET]}
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: /open, methods: [GET], authorizer: NONE}
    - {path: /multi, methods: [GET], authorizer: multi}
    - {path: /strict, methods: [GET], authorizer: strict}
`

func newTestEngine(t testing.TB, fb *fakeBackend, opts ...Options) *Engine {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{
		Paths:       []string{p},
		WrapBackend: func(string, authorizer.Backend) authorizer.Backend { return fb },
	})
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	e, err := New(snap, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newFake() *fakeBackend {
	return &fakeBackend{calls: map[string]int{}, answer: func(req *authorizer.Request) (*authorizer.Response, error) {
		switch req.Token {
		case "unauthorized":
			return nil, authorizer.ErrUnauthorized
		case "down":
			return nil, errors.New("connection refused")
		case "badpolicy":
			return &authorizer.Response{PrincipalID: "p", PolicyDocument: json.RawMessage(`{"Statement":[{"Effect":"Maybe"}]}`)}, nil
		case "inject":
			return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*"),
				Context: map[string]any{"x": "a\r\nx-evil: 1"}}, nil
		case "deny":
			return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Deny", "*")}, nil
		}
		return &authorizer.Response{PrincipalID: "user-" + req.Token,
			PolicyDocument: policyFor("Allow", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"),
			Context:        map[string]any{"tenant": "acme", "Tier Level": json.Number("3")}}, nil
	}}
}

func req(method, host, path string, headers map[string]string) *request.Request {
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return &request.Request{Method: method, Host: host, Path: path, Headers: h, SourceIP: "203.0.113.9",
		Scheme: "https", Time: time.Unix(1_700_000_000, 0)}
}

func TestDecide(t *testing.T) {
	auth := func(tok string) map[string]string { return map[string]string{"authorization": tok} }
	tests := []struct {
		name      string
		req       *request.Request
		outcome   Outcome
		methodArn string
	}{
		{"allowed GET under the base path", req("GET", "api.example.com", "/v1/pets/42", auth("alice")), Allow,
			"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42"},
		{"wildcard host", req("GET", "shop.example.org", "/v1/pets", auth("alice")), Allow,
			"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets"},
		{"bare wildcard domain is not a subdomain", req("GET", "example.org", "/v1/pets", auth("alice")), MissingToken, ""},
		{"path outside the base path", req("GET", "api.example.com", "/pets", auth("alice")), MissingToken, ""},
		{"base path prefix of a longer segment", req("GET", "api.example.com", "/v10/pets", auth("alice")), MissingToken, ""},
		{"policy without DELETE is an implicit deny", req("DELETE", "api.example.com", "/v1/pets/1", auth("alice")), ImplicitDeny,
			"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/DELETE/pets/1"},
		{"explicit deny", req("GET", "api.example.com", "/v1/pets", auth("deny")), ExplicitDeny, ""},
		{"missing token", req("GET", "api.example.com", "/v1/pets", nil), Unauthorized, ""},
		{"backend says Unauthorized", req("GET", "api.example.com", "/v1/pets", auth("unauthorized")), Unauthorized, ""},
		{"backend down fails closed", req("GET", "api.example.com", "/v1/pets", auth("down")), AuthorizerFailure, ""},
		{"malformed policy is a configuration error", req("GET", "api.example.com", "/v1/pets", auth("badpolicy")), AuthorizerConfig, ""},
		{"header injection through context is refused", req("GET", "api.example.com", "/v1/pets", auth("inject")), AuthorizerConfig, ""},
		{"NONE route needs no identity", req("GET", "api.example.com", "/v1/open", nil), Allow, ""},
		{"preflight allowed by cors", req("OPTIONS", "api.example.com", "/v1/pets", nil), Allow, ""},
		{"REQUEST with TTL 0 tolerates missing sources", req("GET", "api.example.com", "/v1/multi", map[string]string{"x-tenant": "t1"}), Allow, ""},
		{"REQUEST with a TTL needs every source", req("GET", "api.example.com", "/v1/strict", nil), Unauthorized, ""},
		{"REQUEST reads stage variables", req("GET", "api.example.com", "/v1/strict", map[string]string{"x-tenant": "t1"}), Allow, ""},
	}
	e := newTestEngine(t, newFake())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(context.Background(), tt.req)
			if d.Outcome != tt.outcome {
				t.Fatalf("outcome = %s (err %v), want %s", d.Outcome, d.Err, tt.outcome)
			}
			if tt.methodArn != "" && d.MethodArn != tt.methodArn {
				t.Fatalf("methodArn = %s, want %s", d.MethodArn, tt.methodArn)
			}
		})
	}
}

func TestContextExtensionsChooseApiAndAuthorizer(t *testing.T) {
	e := newTestEngine(t, newFake())
	r := req("GET", "unknown.example.net", "/v1/pets", nil)
	r.ContextExtensions = map[string]string{"api": "petstore", "authorizer": "NONE"}
	if d := e.Decide(context.Background(), r); d.Outcome != Allow || d.Api != "petstore" {
		t.Fatalf("got %s api %q, want allow on petstore", d.Outcome, d.Api)
	}
	r.ContextExtensions = map[string]string{"api": "petstore", "authorizer": "nope"}
	if d := e.Decide(context.Background(), r); d.Outcome != AuthorizerConfig {
		t.Fatalf("unknown authorizer: got %s, want a configuration error", d.Outcome)
	}
}

func TestAllowCarriesHeadersAndEvent(t *testing.T) {
	fb := newFake()
	e := newTestEngine(t, fb)
	d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets/7", map[string]string{"authorization": "bob"}))
	if d.Outcome != Allow {
		t.Fatalf("outcome %s: %v", d.Outcome, d.Err)
	}
	got := map[string]string{}
	headers, err := d.UpstreamHeaders()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		got[h.Name] = h.Value
	}
	want := map[string]string{"x-authorizer-principal-id": "user-bob", "x-authorizer-tenant": "acme", "x-authorizer-tier-level": "3"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all %v)", k, got[k], v, got)
		}
	}
	if fb.last.Resource != "/pets/{petId}" || fb.last.PathParameters["petId"] != "7" || fb.last.Path != "/pets/7" ||
		fb.last.RouteKey != "ANY /pets/{petId}" || fb.last.PayloadVersion != "1.0" {
		t.Errorf("backend request = %+v", fb.last)
	}
}

func TestCachedAnswerIsReevaluatedPerRequest(t *testing.T) {
	fb := newFake()
	e := newTestEngine(t, fb)
	ctx := context.Background()
	auth := map[string]string{"authorization": "carol"}
	if d := e.Decide(ctx, req("GET", "api.example.com", "/v1/pets", auth)); d.Outcome != Allow || d.Cached {
		t.Fatalf("first: %s cached=%v", d.Outcome, d.Cached)
	}
	d := e.Decide(ctx, req("DELETE", "api.example.com", "/v1/pets/3", auth))
	if d.Outcome != ImplicitDeny || !d.Cached {
		t.Fatalf("second: %s cached=%v, want a cached implicit deny", d.Outcome, d.Cached)
	}
	if n := fb.Calls("carol"); n != 1 {
		t.Fatalf("backend calls = %d, want 1", n)
	}
}

func TestJWTExpiryCapsTheTTL(t *testing.T) {
	fb := newFake()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*"), ExpiresAt: clock().Add(10 * time.Second)}, nil
	}
	e := newTestEngine(t, fb, Options{Now: clock})
	r := req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "short-lived"})
	e.Decide(context.Background(), r)
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	e.Decide(context.Background(), r)
	if n := fb.Calls("short-lived"); n != 2 {
		t.Fatalf("backend calls = %d, want 2: the answer must not outlive the token", n)
	}
}

func BenchmarkDecideCachedAllow(b *testing.B) {
	e := newTestEngine(b, newFake())
	r := req("GET", "api.example.com", "/v1/pets/42", map[string]string{"authorization": "bench", "user-agent": "bench"})
	ctx := context.Background()
	if d := e.Decide(ctx, r); d.Outcome != Allow {
		b.Fatal(d.Outcome, d.Err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() { // as the gRPC front does: the Decision goes back once the answer is built
		d := e.Decide(ctx, r)
		if d.Outcome != Allow {
			b.Fatal(d.Outcome)
		}
		e.Release(d)
	}
}

// A cache holds one entry per identity: a field added to Answer must not push the entry out of
// its 80-byte size class unnoticed (BenchmarkMillionIdentities measures what it costs).
func TestCacheEntryFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(cache.Entry[Answer]{}); n > 80 {
		t.Fatalf("cache entry is %d bytes, over the 80-byte size class", n)
	}
}

// An answer's context is held with a 16-bit length: one with more keys is a broken answer (500),
// never a context cut short; one at the bound is kept whole.
func TestContextKeysBound(t *testing.T) {
	for _, n := range []int{maxContextKeys, maxContextKeys + 1} {
		fb := newFake()
		fb.answer = func(*authorizer.Request) (*authorizer.Response, error) {
			ctx := make(map[string]any, n)
			for i := range n {
				ctx["k"+strconv.Itoa(i)] = "v"
			}
			return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*"), Context: ctx}, nil
		}
		e := newTestEngine(t, fb, Options{})
		d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "many-keys"}))
		switch {
		case n <= maxContextKeys && (d.Outcome != Allow || len(d.Answer.Context()) != n):
			t.Errorf("%d keys: %s %v", n, d.Outcome, d.Err)
		case n > maxContextKeys && d.Outcome != AuthorizerConfig:
			t.Errorf("%d keys: %s, want %s", n, d.Outcome, AuthorizerConfig)
		}
	}
}
