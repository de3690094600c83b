package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// holdingAuthorizer is the fake authorizer, except that the token "hold" is answered only once
// the test releases it: a Check that holds portcullis's one in-flight slot for as long as needed.
type holdingAuthorizer struct {
	*fakeAuthorizer
	srv     *httptest.Server
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHoldingAuthorizer(t *testing.T) *holdingAuthorizer {
	h := &holdingAuthorizer{fakeAuthorizer: newFakeAuthorizer(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"Bearer hold"`) {
			h.entered <- struct{}{}
			<-h.release
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.fakeAuthorizer.serve(w, r)
	}))
	t.Cleanup(func() { h.Release(); h.srv.Close() })
	return h
}

func (h *holdingAuthorizer) URL() string { return h.srv.URL + "/authorize" }
func (h *holdingAuthorizer) Release()    { h.once.Do(func() { close(h.release) }) }

const responsesConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "AUTHZ_URL", timeout: 10s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: custom}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: custom0001
  stage: prod
  hosts: [custom.example.com]
  stageVariables: {env: staging}
  defaultAuthorizer: tokens
  routes:
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: "/{proxy+}", methods: [GET]}
  gatewayResponses:
    UNAUTHORIZED:
      statusCode: 302
      responseParameters:
        gatewayresponse.header.Location: "'https://login.example.com/'"
        gatewayresponse.header.x-request: method.request.header.x-request-id
      responseTemplates:
        application/json: '{"error":$context.error.messageString,"id":"$context.requestId"}'
        text/html: '<a href="https://login.example.com/?from=$context.path">Sign in</a>'
    ACCESS_DENIED:
      responseParameters:
        gatewayresponse.header.x-pet: method.request.path.petId
        gatewayresponse.header.x-q: method.request.querystring.q
        gatewayresponse.header.x-env: stageVariables.env
      responseTemplates:
        application/json: '{"who":"$context.authorizer.principalId","m":"$context.httpMethod","r":"$context.resourcePath","s":"$context.stage","env":"$stageVariables.env","type":"$context.error.responseType","msg":"$context.error.message"}'
    AUTHORIZER_CONFIGURATION_ERROR:
      statusCode: 502
      responseTemplates: {application/json: '{"fault":"config"}'}
    BAD_REQUEST_PARAMETERS:
      responseTemplates: {application/json: '{"bad":true}'}
    THROTTLED:
      responseParameters: {gatewayresponse.header.retry-after: "'1'"}
    DEFAULT_4XX:
      responseParameters: {gatewayresponse.header.x-default: "'4xx'"}
      responseTemplates: {application/json: '{"message":$context.error.messageString,"type":"$context.error.responseType"}'}
    DEFAULT_5XX:
      statusCode: 503
      responseTemplates: {application/json: '{"fault":"$context.error.responseType"}'}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: dry}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: dry0000001
  stage: prod
  hosts: [dry.example.com]
  defaultAuthorizer: tokens
  dryRun: true
  routes:
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: "/{proxy+}", methods: [GET]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: partly}
spec:
  protocol: HTTP
  region: us-east-1
  accountId: "123456789012"
  apiId: partly0001
  stage: prod
  hosts: [partly.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /trial, methods: [GET], dryRun: true}
    - {path: /enforced, methods: [GET]}
`

// startResponses runs portcullis on responsesConfig with one Check in flight at most, so that a
// held Check makes the next one 429.
func startResponses(t *testing.T) (*instance, *holdingAuthorizer) {
	authz := newHoldingAuthorizer(t)
	p := start(t, "--config", writeConfig(t, strings.ReplaceAll(responsesConfig, "AUTHZ_URL", authz.URL())), "--max-inflight", "1")
	return p, authz
}

type answer struct {
	status      int
	code        codes.Code
	body        string
	headers     map[string]string
	contentType string
}

func answerOf(resp *authv3.CheckResponse) answer {
	a := answer{code: codes.Code(resp.GetStatus().GetCode())}
	a.status, a.body = denied(resp)
	if a.status == 200 {
		a.headers = upstreamHeaders(resp)
	} else {
		a.headers = deniedHeaders(resp)
		a.contentType = a.headers["content-type"]
	}
	return a
}

// TestGatewayResponses: each response type answered by its own gateway response or by its status
// class's DEFAULT, the 302 to a login page, template variables and request values, and content
// negotiation, through the built binary.
func TestGatewayResponses(t *testing.T) {
	p, _ := startResponses(t)
	const h = "custom.example.com"
	long := "/" + strings.Repeat("a", 1600)
	tests := []struct {
		name        string
		method      string
		path        string
		headers     map[string]string
		status      int
		code        codes.Code
		contentType string
		body        string
		wantHeaders map[string]string
	}{
		{"UNAUTHORIZED is a 302 to the login page", "GET", "/pets/1", map[string]string{"x-request-id": "r-302"}, 302, codes.Unauthenticated,
			"application/json", `{"error":"Unauthorized","id":"r-302"}`,
			map[string]string{"location": "https://login.example.com/", "x-request": "r-302", "x-amzn-requestid": "r-302", "x-amzn-errortype": "UnauthorizedException"}},
		{"UNAUTHORIZED in HTML for a browser", "GET", "/pets/1", map[string]string{"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, 302, codes.Unauthenticated,
			"text/html", `<a href="https://login.example.com/?from=/pets/1">Sign in</a>`, map[string]string{"location": "https://login.example.com/"}},
		{"backend Unauthorized gets the same answer", "GET", "/pets/1", map[string]string{"authorization": "unauth", "x-request-id": "r-u"}, 302, codes.Unauthenticated,
			"application/json", `{"error":"Unauthorized","id":"r-u"}`, nil},
		{"explicit deny with template variables and request values", "DELETE", "/pets/42?q=a%20b", map[string]string{"authorization": "deny-all"}, 403, codes.PermissionDenied,
			"application/json", `{"who":"user-deny","m":"DELETE","r":"/pets/{petId}","s":"prod","env":"staging","type":"ACCESS_DENIED","msg":"User is not authorized to access this resource with an explicit deny"}`,
			map[string]string{"x-pet": "42", "x-q": "a b", "x-env": "staging", "x-amzn-errortype": "AccessDeniedException"}},
		{"implicit deny", "GET", "/pets/7", map[string]string{"authorization": "other-api"}, 403, codes.PermissionDenied,
			"application/json", `{"who":"user-other","m":"GET","r":"/pets/{petId}","s":"prod","env":"staging","type":"ACCESS_DENIED","msg":"User is not authorized to access this resource"}`,
			map[string]string{"x-pet": "7"}},
		{"MISSING_AUTHENTICATION_TOKEN falls back to DEFAULT_4XX", "POST", "/nowhere", nil, 403, codes.PermissionDenied,
			"application/json", `{"message":"Missing Authentication Token","type":"MISSING_AUTHENTICATION_TOKEN"}`,
			map[string]string{"x-default": "4xx", "x-amzn-errortype": "MissingAuthenticationTokenException"}},
		{"REQUEST_TOO_LARGE falls back to DEFAULT_4XX", "GET", long, map[string]string{"authorization": "alice"}, 414, codes.InvalidArgument,
			"application/json", `{"message":"Request-URI Too Long","type":"REQUEST_TOO_LARGE"}`, map[string]string{"x-default": "4xx"}},
		{"AUTHORIZER_FAILURE falls back to DEFAULT_5XX", "GET", "/pets/1", map[string]string{"authorization": "broken"}, 503, codes.Unavailable,
			"application/json", `{"fault":"AUTHORIZER_FAILURE"}`, map[string]string{"x-amzn-errortype": "AuthorizerFailureException"}},
		{"AUTHORIZER_CONFIGURATION_ERROR has its own", "GET", "/pets/1", map[string]string{"authorization": "garbage"}, 502, codes.Internal,
			"application/json", `{"fault":"config"}`, nil},
		{"BAD_REQUEST_PARAMETERS has its own", "GET", "/pets/%2e%2e/x", nil, 400, codes.InvalidArgument,
			"application/json", `{"bad":true}`, nil},
		{"allowed requests are untouched", "GET", "/pets/1", map[string]string{"authorization": "alice"}, 200, codes.OK, "", "",
			map[string]string{"x-authorizer-principal-id": "user-alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := answerOf(p.check(t, tt.method, h, tt.path, tt.headers))
			if a.status != tt.status || a.code != tt.code || a.body != tt.body || a.contentType != tt.contentType {
				t.Fatalf("got %d %s %s %q\nwant %d %s %s %q", a.status, a.code, a.contentType, a.body, tt.status, tt.code, tt.contentType, tt.body)
			}
			for name, value := range tt.wantHeaders {
				if a.headers[name] != value {
					t.Errorf("header %s = %q, want %q (all: %v)", name, a.headers[name], value, a.headers)
				}
			}
		})
	}
	t.Run("a request header with CR LF never reaches a header", func(t *testing.T) {
		a := answerOf(p.check(t, "GET", h, "/pets/1", map[string]string{"x-request-id": "a\r\nset-cookie: x=1"}))
		if _, ok := a.headers["x-request"]; ok || a.status != 302 {
			t.Fatalf("got %d with headers %v", a.status, a.headers)
		}
		for k, v := range a.headers {
			if strings.ContainsAny(k+v, "\r\n\x00") {
				t.Fatalf("header %q: %q", k, v)
			}
		}
	})
}

// TestGatewayResponseThrottled: a 429 is answered with the Api's THROTTLED response, and a dry
// run Api still throttles.
func TestGatewayResponseThrottled(t *testing.T) {
	p, authz := startResponses(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.client.Check(context.Background(), checkRequest("GET", "custom.example.com", "/pets/1", bearer("hold")))
	}()
	select {
	case <-authz.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the held Check never reached the authorizer")
	}
	a := answerOf(p.check(t, "GET", "custom.example.com", "/pets/2", bearer("alice")))
	if a.status != 429 || a.code != codes.ResourceExhausted || a.headers["retry-after"] != "1" || a.body != `{"message":"Too Many Requests"}` {
		t.Fatalf("custom Api over the limit: %+v", a)
	}
	a = answerOf(p.check(t, "GET", "dry.example.com", "/pets/2", bearer("alice")))
	if a.status != 429 {
		t.Fatalf("dry-run Api over the limit: %+v, want 429 still enforced", a)
	}
	authz.Release()
	<-done
}

// TestDryRun: on a dry-run Api every would-be denial goes upstream marked with the decision it
// would have been, principal headers only when the backend answered; 400 and 414 are still
// enforced; each is logged and counted.
func TestDryRun(t *testing.T) {
	p, _ := startResponses(t)
	const h = "dry.example.com"
	spoof := map[string]string{"x-authorizer-principal-id": "root", "x-authorizer-dry-run": "none"}
	with := func(token string) map[string]string {
		m := map[string]string{"x-authorizer-principal-id": "root"}
		if token != "" {
			m["authorization"] = "Bearer " + token
		}
		return m
	}
	tests := []struct {
		name      string
		path      string
		headers   map[string]string
		decision  string
		principal string
	}{
		{"unauthorized", "/pets/1", spoof, "unauthorized", ""},
		{"backend says Unauthorized", "/pets/1", with("unauth"), "unauthorized", ""},
		{"explicit deny", "/pets/1", with("deny-all"), "explicit_deny", "user-deny"},
		{"implicit deny", "/pets/1", with("other-api"), "implicit_deny", "user-other"},
		{"missing authentication token", "/pets", with("alice"), "missing_authentication_token", ""},
		{"authorizer failure", "/pets/1", with("broken"), "authorizer_failure", ""},
		{"authorizer configuration error", "/pets/1", with("garbage"), "authorizer_configuration_error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := p.check(t, "POST", h, tt.path, tt.headers)
			a := answerOf(resp)
			if a.status != 200 || a.headers["x-authorizer-dry-run"] != tt.decision || a.headers["x-authorizer-principal-id"] != tt.principal {
				t.Fatalf("got %d upstream %v, want 200 marked %s with principal %q", a.status, a.headers, tt.decision, tt.principal)
			}
			removed := resp.GetOkResponse().GetHeadersToRemove()
			if tt.principal == "" && !contains(removed, "x-authorizer-principal-id") {
				t.Fatalf("client-sent principal not removed: %v", removed)
			}
		})
	}
	t.Run("allowed requests are not marked", func(t *testing.T) {
		a := answerOf(p.check(t, "GET", h, "/pets/1", bearer("alice")))
		if _, marked := a.headers["x-authorizer-dry-run"]; a.status != 200 || marked {
			t.Fatalf("got %d %v", a.status, a.headers)
		}
	})
	for _, tt := range []struct {
		name   string
		path   string
		status int
	}{
		{"a bad path is still refused", "/pets/%2e%2e/admin", 400},
		{"a methodArn over the limit is still refused", "/" + strings.Repeat("a", 1600), 414},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := answerOf(p.check(t, "GET", h, tt.path, bearer("alice"))); a.status != tt.status {
				t.Fatalf("got %d, want %d", a.status, tt.status)
			}
		})
	}
	t.Run("route dry run", func(t *testing.T) {
		if a := answerOf(p.check(t, "GET", "partly.example.com", "/trial", bearer("deny-all"))); a.status != 200 || a.headers["x-authorizer-dry-run"] != "explicit_deny" {
			t.Fatalf("dry-run route: %+v", a)
		}
		if a := answerOf(p.check(t, "GET", "partly.example.com", "/enforced", bearer("deny-all"))); a.status != 403 || a.body != `{"message":"Forbidden"}` {
			t.Fatalf("enforced route of the same Api: %+v", a)
		}
		if a := answerOf(p.check(t, "GET", "partly.example.com", "/elsewhere", bearer("alice"))); a.status != 404 {
			t.Fatalf("an unmatched route of an Api not in dry run: %+v", a)
		}
	})
	t.Run("counted and logged", func(t *testing.T) {
		_, metrics := p.get(t, "/metrics")
		for _, want := range []string{
			`portcullis_dry_run_total{api="dry",authorizer="tokens",decision="explicit_deny"} 1`,
			`portcullis_dry_run_total{api="dry",authorizer="tokens",decision="unauthorized"} 2`,
			`portcullis_dry_run_total{api="dry",authorizer="",decision="missing_authentication_token"} 1`,
			`portcullis_dry_run_total{api="partly",authorizer="tokens",decision="explicit_deny"} 1`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		found := false
		for _, line := range strings.Split(p.logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "decision" {
				continue
			}
			if rec["dry_run"] == true && rec["decision"] == "implicit_deny" && rec["api"] == "dry" && rec["status"] == float64(200) {
				found = true
			}
		}
		if !found {
			t.Errorf("no decision log line with dry_run true and decision implicit_deny:\n%s", p.logs)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestValidateGatewayResponses: portcullis validate reports gateway response problems with
// file, line, object and field, and accepts responsesConfig.
func TestValidateGatewayResponses(t *testing.T) {
	bad := strings.Replace(responsesConfig, `    BAD_REQUEST_PARAMETERS:
      responseTemplates: {application/json: '{"bad":true}'}`, `    BAD_REQUEST_PARAMETER:
      responseTemplates: {application/json: '{"bad":true}'}
    DEFAULT_5XX:
      responseParameters: {gatewayresponse.header.x-evil: "'a\r\nb'"}
      responseTemplates: {application/json: '{"ip":"$context.identity.sourceIp"}'}`, 1)
	bad = strings.Replace(bad, `    DEFAULT_5XX:
      statusCode: 503
      responseTemplates: {application/json: '{"fault":"$context.error.responseType"}'}
`, "", 1)
	_, stderr, code := runCLI(t, "", "validate", "--config", writeConfig(t, strings.ReplaceAll(bad, "AUTHZ_URL", "http://127.0.0.1:9/a")))
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		`config.yaml:44: Api/custom: spec.gatewayResponses.BAD_REQUEST_PARAMETER: unknown response type`,
		`config.yaml:47: Api/custom: spec.gatewayResponses.DEFAULT_5XX.responseParameters[gatewayresponse.header.x-evil]: the literal holds a control character`,
		`config.yaml:48: Api/custom: spec.gatewayResponses.DEFAULT_5XX.responseTemplates[application/json]: unknown template variable $context.identity.sourceIp`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if _, stderr, code := runCLI(t, "", "validate", "--config", writeConfig(t, strings.ReplaceAll(responsesConfig, "AUTHZ_URL", "http://127.0.0.1:9/a"))); code != 0 {
		t.Fatalf("a good config: exit %d\n%s", code, stderr)
	}
}
