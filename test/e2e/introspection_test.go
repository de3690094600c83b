package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer/introspection/introspectiontest"
)

const introspectionConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: opaque}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 300
  introspection:
    url: "INTROSPECT_URL"
    clientId: portcullis
    clientSecret: {valueFrom: {env: PORTCULLIS_TEST_INTROSPECTION_SECRET}}
    tokenTypeHint: access_token
    timeout: 2s
    contextClaims: [preferred_username]
    policy:
      - {scopes: ["pets:write"], effect: Allow, routes: ["* /pets", "* /pets/*"]}
      - {effect: Allow, routes: ["GET /pets", "GET /pets/*"]}
      - {scopes: [suspended], effect: Deny, routes: ["* *"]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com]
  defaultAuthorizer: opaque
  routes:
    - {path: /pets, methods: [GET, POST]}
    - {path: "/pets/{petId}", methods: [ANY]}
`

func startWithIntrospection(t *testing.T, url string) *instance {
	t.Helper()
	t.Setenv("PORTCULLIS_TEST_INTROSPECTION_SECRET", introspectiontest.ClientSecret)
	return start(t, "--config", writeConfig(t, strings.ReplaceAll(introspectionConfig, "INTROSPECT_URL", url)))
}

// Opaque tokens of a real authorization server (zitadel/oidc's provider) through the built
// binary: allowed and denied by the policy rules, inactive, cached, and the server gone.
func TestIntrospection(t *testing.T) {
	as := introspectiontest.New(t)
	p := startWithIntrospection(t, as.IntrospectionURL())
	const host = "api.example.com"
	writer := as.Mint(t, introspectiontest.User1, "pets:write")
	reader := as.Mint(t, introspectiontest.User2, "pets:read")
	suspended := as.Mint(t, introspectiontest.User1, "pets:write", "suspended")

	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"scope pets:write may delete", "DELETE", "/pets/7", writer, 200, ""},
		{"everyone may read", "GET", "/pets/7", reader, 200, ""},
		{"no rule lets a reader delete: implicit deny", "DELETE", "/pets/7", reader, 403, "User is not authorized to access this resource"},
		{"a Deny rule wins: explicit deny", "GET", "/pets", suspended, 403, "explicit deny"},
		{"unknown token is inactive", "GET", "/pets", "opaque-but-unknown", 401, "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := p.check(t, tt.method, host, tt.path, bearer(tt.token))
			status, body := denied(resp)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("got %d %s, want %d %q", status, body, tt.status, tt.body)
			}
			if status == 200 && upstreamHeaders(resp)["x-authorizer-principal-id"] == "" {
				t.Errorf("allow without a principal upstream: %v", upstreamHeaders(resp))
			}
		})
	}

	t.Run("principal and context upstream", func(t *testing.T) {
		h := upstreamHeaders(p.check(t, "GET", host, "/pets", bearer(writer)))
		if h["x-authorizer-principal-id"] != introspectiontest.User1 || h["x-authorizer-preferred-username"] != "test-user@127.0.0.1" {
			t.Errorf("upstream headers %v", h)
		}
	})

	t.Run("an answer is cached: one introspection per token", func(t *testing.T) {
		fresh := as.Mint(t, introspectiontest.User2, "pets:write")
		before := as.Calls()
		for _, path := range []string{"/pets", "/pets/1", "/pets/2", "/pets"} {
			if status, body := denied(p.check(t, "POST", host, path, bearer(fresh))); status != 200 && path == "/pets" {
				t.Fatalf("POST %s: %d %s", path, status, body)
			}
		}
		if got := as.Calls() - before; got != 1 {
			t.Errorf("%d introspection calls for one token, want 1", got)
		}
	})

	t.Run("server down: fails closed, cached answers still serve", func(t *testing.T) {
		uncached := as.Mint(t, introspectiontest.User2, "pets:read")
		as.Close()
		if status, body := denied(p.check(t, "GET", host, "/pets", bearer(uncached))); status != 500 {
			t.Errorf("got %d %s, want 500", status, body)
		}
		if status, body := denied(p.check(t, "DELETE", host, "/pets/9", bearer(writer))); status != 200 {
			t.Errorf("cached token: got %d %s, want 200", status, body)
		}
	})
}

// The answer's exp caps the cache: a token allowed for a TTL of 300 s whose exp is two seconds
// away is introspected again once it has passed. The endpoint is an RFC 7662 one of our own,
// because the provider above gives every token five minutes.
func TestIntrospectionCacheEndsAtExp(t *testing.T) {
	exp := time.Now().Add(2 * time.Second).Unix()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != introspectiontest.ClientID || secret != introspectiontest.ClientSecret || r.ParseForm() != nil {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("token") != "short-lived" || time.Now().Unix() >= exp {
			io.WriteString(w, `{"active":false}`)
			return
		}
		fmt.Fprintf(w, `{"active":true,"sub":"alice","scope":"pets:write","exp":%d}`, exp)
	}))
	t.Cleanup(srv.Close)
	p := startWithIntrospection(t, srv.URL)

	if status, body := denied(p.check(t, "GET", "api.example.com", "/pets", bearer("short-lived"))); status != 200 {
		t.Fatalf("got %d %s, want 200", status, body)
	}
	if status, _ := denied(p.check(t, "GET", "api.example.com", "/pets/1", bearer("short-lived"))); status != 200 || calls.Load() != 1 {
		t.Fatalf("second request: %d after %d calls, want a cached allow after 1", status, calls.Load())
	}
	// Once exp has passed the entry is gone: the endpoint is asked again and says inactive.
	eventually(t, "the token introspected again after its exp", func() bool {
		status, _ := denied(p.check(t, "GET", "api.example.com", "/pets", bearer("short-lived")))
		return status == 401 && calls.Load() == 2
	})
}

func TestValidateIntrospectionErrors(t *testing.T) {
	bad := writeConfig(t, `apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: opaque}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  introspection:
    url: "ftp://auth.example.com/introspect"
    clientSecret: {valueFrom: {}}
    tokenTypeHint: "access token"
    timeout: 1m
    policy:
      - {effect: allow, routes: ["GET pets"]}
    scopes: [x]
`)
	_, stderr, code := runCLI(t, "", "validate", "--config", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, w := range []string{
		`config.yaml:8: Authorizer/opaque: spec.introspection.url:`,
		`: Authorizer/opaque: spec.introspection.clientId: required`,
		`config.yaml:9: Authorizer/opaque: spec.introspection.clientSecret.valueFrom:`,
		`config.yaml:10: Authorizer/opaque: spec.introspection.tokenTypeHint:`,
		`config.yaml:11: Authorizer/opaque: spec.introspection.timeout:`,
		`config.yaml:13: Authorizer/opaque: spec.introspection.policy[0].effect:`,
		`config.yaml:13: Authorizer/opaque: spec.introspection.policy[0].routes[0]:`,
		`config.yaml:14: Authorizer/opaque: spec.introspection.scopes:`,
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

// test-invoke runs an introspection authorizer once and prints no Lambda event: none is sent.
func TestTestInvokeIntrospection(t *testing.T) {
	as := introspectiontest.New(t)
	token := as.Mint(t, introspectiontest.User1, "pets:write")
	t.Setenv("PORTCULLIS_TEST_INTROSPECTION_SECRET", introspectiontest.ClientSecret)
	cfg := writeConfig(t, strings.ReplaceAll(introspectionConfig, "INTROSPECT_URL", as.IntrospectionURL()))
	stdout, stderr, code := runCLI(t, "", "test-invoke", "--config", cfg,
		"--method", "DELETE", "--url", "https://api.example.com/pets/9", "-H", "Authorization: Bearer "+token)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"methodArn: arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/DELETE/pets/9",
		`"principalId": "id1"`,
		"decision: Allow",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "event:") || strings.Contains(stdout, "authorizationToken") {
		t.Errorf("test-invoke shows a Lambda event the introspection backend never sends:\n%s", stdout)
	}
}
