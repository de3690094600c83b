// Package forwardauthtest holds what the forward-auth front's tests share, in the package and
// behind real proxies: a real HTTP authorizer on loopback whose answer depends on the token, the
// config that guards a REST and an HTTP Api with it, and the answers the SPEC expects.
package forwardauthtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tokens the Backend knows, as sent in Authorization.
const (
	Allow        = "Bearer allow-token"  // Allow everything; principal "user-1", context role=reader
	Deny         = "Bearer deny-token"   // explicit Deny on everything
	OtherRoute   = "Bearer other-token"  // Allow on GET /other only: implicit deny elsewhere
	Unauthorized = "Bearer unauthorized" // the backend answers 401
	Failing      = "Bearer failing"      // the backend answers 500
	TLSOnly      = "Bearer tls-only"     // Allow only when aws:SecureTransport is true
	Slow         = "Bearer slow"         // Allow everything, after SlowFor
)

// SlowFor is how long the Backend takes to answer Slow.
const SlowFor = 700 * time.Millisecond

// Principal is the principalId the Backend gives Allow.
const Principal = "user-1"

// Body is what a denial carries, one place for every test: the bodies of SPEC section 9 by
// decision, for REST Apis, then the HTTP-protocol bodies.
var Body = map[string]string{
	"unauthorized":       `{"message":"Unauthorized"}`,
	"explicit_deny":      `{"Message":"User is not authorized to access this resource with an explicit deny"}`,
	"implicit_deny":      `{"message":"User is not authorized to access this resource"}`,
	"missing_token":      `{"message":"Missing Authentication Token"}`,
	"bad_request":        `{"message":"Bad Request"}`,
	"authorizer_failure": `{"message":null}`,
	"http_forbidden":     `{"message":"Forbidden"}`,
	"http_not_found":     `{"message":"Not Found"}`,
	"http_server_error":  `{"message":"Internal Server Error"}`,
}

// Backend is a real HTTP authorizer endpoint (SPEC section 5) on 127.0.0.1:0.
type Backend struct {
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	calls  map[string]int // by token
	source []string       // requestContext.identity.sourceIp of REQUEST events, in order
}

// NewBackend serves until the test ends.
func NewBackend(t testing.TB) *Backend {
	t.Helper()
	b := &Backend{calls: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.URL = b.srv.URL + "/authorize"
	return b
}

// Stop makes the backend unreachable: every later call fails to connect.
func (b *Backend) Stop() { b.srv.Close() }

// Calls is how many times the backend was asked about token.
func (b *Backend) Calls(token string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[token]
}

// SourceIPs are the client addresses REQUEST events carried, in order.
func (b *Backend) SourceIPs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.source...)
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Type           string            `json:"type"`
		Token          string            `json:"authorizationToken"`
		MethodArn      string            `json:"methodArn"`
		Headers        map[string]string `json:"headers"`
		RequestContext struct {
			Identity struct {
				SourceIP string `json:"sourceIp"`
			} `json:"identity"`
		} `json:"requestContext"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	token := ev.Token
	b.mu.Lock()
	if ev.Type == "REQUEST" {
		token = ev.Headers["x-who"]
		b.source = append(b.source, ev.RequestContext.Identity.SourceIP)
	}
	b.calls[token]++
	b.mu.Unlock()
	arnBase := ev.MethodArn[:strings.Index(ev.MethodArn, "/")]
	switch token {
	case Unauthorized:
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	case Failing:
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case Deny:
		writePolicy(w, "user-deny", "Deny", arnBase+"/*", nil)
	case OtherRoute:
		writePolicy(w, "user-other", "Allow", arnBase+"/*/GET/other", nil)
	case Allow:
		writePolicy(w, Principal, "Allow", arnBase+"/*", map[string]any{"role": "reader"})
	case Slow:
		time.Sleep(SlowFor)
		writePolicy(w, "user-slow", "Allow", arnBase+"/*", nil)
	case TLSOnly:
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"principalId": "user-tls",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arnBase + "/*",
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "true"}},
			}}},
		})
	default: // REQUEST authorizer callers, and any other token: allowed under their own name
		writePolicy(w, "caller-"+strings.TrimPrefix(token, "Bearer "), "Allow", arnBase+"/*", nil)
	}
}

func writePolicy(w http.ResponseWriter, principal, effect, resource string, ctx map[string]any) {
	w.Header().Set("content-type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Effect": effect, "Action": "execute-api:Invoke", "Resource": resource},
		}},
		"context": ctx,
	})
}

// Hosts of the two Apis.
const (
	RESTHost = "rest.example.com"
	HTTPHost = "http.example.com"
)

// JWTSecret signs the tokens of the jwt authorizer (route GET /jwt of the REST Api).
const JWTSecret = "0123456789abcdef0123456789abcdef"

// Config is the config guarding both Apis with the Backend at url: on the REST Api, GET /open
// needs nothing (NONE), GET /whoami is a REQUEST authorizer reading x-who (TTL 0), GET /jwt a
// JWT one, and every other GET/POST path under /pets, /other and /admin the TOKEN one.
func Config(url string) string {
	return fmt.Sprintf(`apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 300
  http: {url: %[1]q, timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: who}
spec:
  type: REQUEST
  identitySource: method.request.header.x-who
  resultTtlInSeconds: 0
  http: {url: %[1]q, timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: corp}
spec:
  type: JWT
  jwt:
    issuer: https://issuer.test
    audience: [api]
    algorithms: [HS256]
    keys: {hmacSecret: {value: %[2]s}}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: rest}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: restapi
  stage: prod
  hosts: [%[3]s]
  defaultAuthorizer: tokens
  routes:
    - {path: /open, methods: [GET], authorizer: NONE}
    - {path: /whoami, methods: [GET], authorizer: who}
    - {path: /jwt, methods: [GET], authorizer: corp}
    - {path: /other, methods: [GET]}
    - {path: "/pets", methods: [GET, POST]}
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: "/admin/{proxy+}", methods: [ANY]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: httpapi}
spec:
  protocol: HTTP
  region: us-east-1
  accountId: "123456789012"
  apiId: httpapi
  stage: $default
  hosts: [%[4]s]
  defaultAuthorizer: tokens
  routes:
    - {path: /pets, methods: [GET]}
`, url, JWTSecret, RESTHost, HTTPHost)
}

// WriteConfig writes Config(url) into a temporary directory and returns the file's path.
func WriteConfig(t testing.TB, url string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(Config(url)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
