package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
)

const (
	host        = "api.example.com"
	msgExplicit = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	msgImplicit = `{"message":"User is not authorized to access this resource"}`
	msgUnauth   = `{"message":"Unauthorized"}`
	msgMissing  = `{"message":"Missing Authentication Token"}`
)

func TestAnswers(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))

	tests := []struct {
		name       string
		method     string
		host, path string
		headers    map[string]string
		status     int
		code       codes.Code
		body       string
		errorType  string
	}{
		{"allowed token passes", "GET", host, "/pets/42", bearer("alice"), 200, codes.OK, "", ""},
		{"port in authority is ignored", "GET", host + ":443", "/pets?limit=3", bearer("alice"), 200, codes.OK, "", ""},
		{"explicit deny wins over allow", "GET", host, "/pets", bearer("deny-all"), 403, codes.PermissionDenied, msgExplicit, "AccessDeniedException"},
		{"policy for another api is an implicit deny", "GET", host, "/pets", bearer("other-api"), 403, codes.PermissionDenied, msgImplicit, "AccessDeniedException"},
		{"missing token is 401", "GET", host, "/pets", nil, 401, codes.Unauthenticated, msgUnauth, "UnauthorizedException"},
		{"token failing the validation regex is 401", "GET", host, "/pets", map[string]string{"authorization": "Basic abc"}, 401, codes.Unauthenticated, msgUnauth, "UnauthorizedException"},
		{"backend saying Unauthorized is 401", "GET", host, "/pets", bearer("unauth"), 401, codes.Unauthenticated, msgUnauth, "UnauthorizedException"},
		{"unmatched route", "GET", host, "/owners", bearer("alice"), 403, codes.PermissionDenied, msgMissing, "MissingAuthenticationTokenException"},
		{"unmatched method", "DELETE", host, "/pets", bearer("alice"), 403, codes.PermissionDenied, msgMissing, "MissingAuthenticationTokenException"},
		{"unknown host", "GET", "other.example.com", "/pets", bearer("alice"), 403, codes.PermissionDenied, msgMissing, "MissingAuthenticationTokenException"},
		{"route with authorizer NONE needs no token", "GET", host, "/health", nil, 200, codes.OK, "", ""},
		{"encoded slash is a bad request", "GET", host, "/pets/a%2Fb", bearer("alice"), 400, codes.InvalidArgument, `{"message":"Bad Request"}`, ""},
		{"dot-dot segment is a bad request", "GET", host, "/health/../pets", nil, 400, codes.InvalidArgument, `{"message":"Bad Request"}`, ""},
		{"backend 500 fails closed", "GET", host, "/pets", bearer("broken"), 500, codes.Unavailable, `{"message":null}`, "AuthorizerFailureException"},
		{"unparseable answer is a configuration error", "GET", host, "/pets", bearer("garbage"), 500, codes.Internal, `{"message":null}`, "AuthorizerConfigurationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := p.check(t, tt.method, tt.host, tt.path, tt.headers)
			status, body := denied(resp)
			if status != tt.status || body != tt.body || codes.Code(resp.GetStatus().GetCode()) != tt.code {
				t.Fatalf("got %d %s %q, want %d %s %q", status, codes.Code(resp.GetStatus().GetCode()), body, tt.status, tt.code, tt.body)
			}
			if tt.status == 200 {
				return
			}
			h := deniedHeaders(resp)
			if h["content-type"] != "application/json" || h["x-amzn-requestid"] == "" {
				t.Errorf("deny headers = %v, want content-type and x-amzn-requestid", h)
			}
			if tt.errorType != "" && h["x-amzn-errortype"] != tt.errorType {
				t.Errorf("x-amzn-errortype = %q, want %q", h["x-amzn-errortype"], tt.errorType)
			}
		})
	}
}

func bearer(token string) map[string]string {
	return map[string]string{"authorization": "Bearer " + token}
}

func TestAllowPassesPrincipalAndContextUpstream(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	headers := bearer("carol")
	headers["x-authorizer-principal-id"] = "admin"
	headers["X-Authorizer-Tenant"] = "evil"
	headers["x-authorizer-extra"] = "spoofed"
	resp := p.check(t, "GET", host, "/pets/7", headers)
	if status, body := denied(resp); status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	up := upstreamHeaders(resp)
	want := map[string]string{
		"x-authorizer-principal-id": "user-carol",
		"x-authorizer-tenant":       "acme",
		"x-authorizer-level":        "3",
		"x-authorizer-admin":        "false",
		"x-authorizer-role-name":    "reader",
	}
	for k, v := range want {
		if up[k] != v {
			t.Errorf("upstream %s = %q, want %q (all: %v)", k, up[k], v, up)
		}
	}
	removed := map[string]bool{}
	for _, h := range resp.GetOkResponse().GetHeadersToRemove() {
		removed[h] = true
	}
	// Every client-sent copy is either removed or overwritten by Portcullis's own value.
	overwritten := map[string]bool{}
	for _, h := range resp.GetOkResponse().GetHeaders() {
		if h.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			overwritten[h.GetHeader().GetKey()] = true
		}
	}
	for _, h := range []string{"x-authorizer-principal-id", "x-authorizer-tenant", "x-authorizer-extra"} {
		if removed[h] == overwritten[h] {
			t.Errorf("client-sent %s: removed=%v overwritten=%v, want exactly one", h, removed[h], overwritten[h])
		}
	}
	md := resp.GetDynamicMetadata().GetFields()
	if md["principalId"].GetStringValue() != "user-carol" || md["api"].GetStringValue() != "petstore" {
		t.Errorf("dynamic metadata = %v", md)
	}
	ev := authz.LastEvent()
	if ev["type"] != "TOKEN" || ev["authorizationToken"] != "Bearer carol" ||
		ev["methodArn"] != "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/7" {
		t.Errorf("event = %v", ev)
	}
}

func TestCachedPolicyIsEvaluatedPerRoute(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	if status, body := denied(p.check(t, "GET", host, "/pets", bearer("pets-only"))); status != 200 {
		t.Fatalf("first route: %d %s", status, body)
	}
	if status, body := denied(p.check(t, "GET", host, "/pets/1", bearer("pets-only"))); status != 403 || body != msgImplicit {
		t.Fatalf("second route: %d %s, want 403 implicit deny", status, body)
	}
	if n := authz.Calls("pets-only"); n != 1 {
		t.Fatalf("backend calls = %d, want 1: the cached answer must serve the second route", n)
	}
}

func TestBackendFailureIsNotCached(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	for range 3 {
		if status, _ := denied(p.check(t, "GET", host, "/pets", bearer("broken"))); status != 500 {
			t.Fatalf("status %d, want 500", status)
		}
	}
	if n := authz.Calls("broken"); n != 3 {
		t.Fatalf("backend calls = %d, want 3 (errors are never cached)", n)
	}
}

func TestBackendDownFailsClosed(t *testing.T) {
	authz := newFakeAuthorizer(t)
	url := authz.URL()
	authz.srv.Close()
	p := start(t, "--config", petstore(t, url))
	resp := p.check(t, "GET", host, "/pets", bearer("alice"))
	if status, body := denied(resp); status != 500 || body != `{"message":null}` {
		t.Fatalf("got %d %s, want 500", status, body)
	}
	if h := deniedHeaders(resp); h["x-amzn-errortype"] != "AuthorizerFailureException" {
		t.Fatalf("headers %v", h)
	}
}

func TestColdBurstMakesOneBackendCall(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.client.Check(context.Background(), checkRequest("GET", host, "/pets", bearer("slow")))
			if err != nil {
				errs <- err.Error()
				return
			}
			if status, body := denied(resp); status != 200 {
				errs <- body
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a Check of the burst failed: %s", e)
	}
	if n := authz.Calls("slow"); n != 1 {
		t.Fatalf("backend calls = %d, want exactly 1", n)
	}
}

// A cold burst of distinct tokens makes one backend call per token, no more (no token's flight
// is shared with another's) and no fewer; the same burst again makes none.
func TestColdBurstOfDistinctTokensMakesOneCallEach(t *testing.T) {
	const tokens = 1000
	authz := newFakeAuthorizer(t)
	// Every token of the burst gets a backend slot at once: on a loaded machine a call can take
	// longer than the 1 s a call waits for a slot, and this test counts calls, not queueing.
	p := start(t, "--config", petstore(t, authz.URL()), "--backend-max-inflight", fmt.Sprint(2*tokens))
	burst := func() {
		var wg sync.WaitGroup
		errs := make(chan string, tokens)
		for i := range tokens {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := p.client.Check(context.Background(), checkRequest("GET", host, "/pets", bearer(fmt.Sprintf("burst-%d", i))))
				if err != nil {
					errs <- err.Error()
					return
				}
				if status, body := denied(resp); status != 200 {
					errs <- fmt.Sprintf("%d %s", status, body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatalf("a Check of the burst failed: %s", e)
		}
	}
	for round := 1; round <= 2; round++ {
		burst()
		total := 0
		for i := range tokens {
			n := authz.Calls(fmt.Sprintf("burst-%d", i))
			if n != 1 {
				t.Fatalf("after round %d: token %d made %d backend calls, want 1", round, i, n)
			}
			total += n
		}
		t.Logf("after round %d: %d backend calls for %d distinct tokens", round, total, tokens)
	}
}

func TestTTLExpiryCallsBackendAgain(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	p.check(t, "GET", host, "/short", bearer("dave"))
	p.check(t, "GET", host, "/short", bearer("dave"))
	if n := authz.Calls("dave"); n != 1 {
		t.Fatalf("calls within the TTL = %d, want 1", n)
	}
	time.Sleep(1100 * time.Millisecond)
	p.check(t, "GET", host, "/short", bearer("dave"))
	if n := authz.Calls("dave"); n != 2 {
		t.Fatalf("calls after the TTL = %d, want 2", n)
	}
}
