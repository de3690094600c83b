package hardening

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/engine"
)

const faultConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: chaos}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 300
  http: {url: "CHAOS_URL", timeout: 200ms}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: refused}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "REFUSED_URL", timeout: 200ms}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: nodns}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "http://nonexistent.invalid/authorize", timeout: 200ms}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: blackhole}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "BLACKHOLE_URL", timeout: 200ms}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: nothttp}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "NOTHTTP_URL", timeout: 200ms}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: faults}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: faultapi01
  stage: prod
  hosts: [faults.example.com]
  defaultAuthorizer: chaos
  routes:
    - {path: "/x/{proxy+}", methods: [ANY]}
`

const faultArn = "arn:aws:execute-api:us-east-1:123456789012:faultapi01/prod/GET/x/1"

// chaos is an HTTP authorizer that misbehaves as the token asks: "Bearer <mode>#<n>". It counts
// calls per token.
type chaos struct {
	mu       sync.Mutex
	calls    map[string]int
	flap     atomic.Int64
	gzipBomb []byte
	redirect string // where the redirect mode points
}

// faultModes maps a mode to what the backend does. Each writes a complete HTTP exchange.
func (c *chaos) mode(mode string) func(w http.ResponseWriter, r *http.Request) {
	allow := iamAnswer("alice", nil, allowAll())
	policyFor := func(resource string) []byte {
		return iamAnswer("alice", nil, statement{"Allow", "execute-api:Invoke", resource})
	}
	write := func(body []byte) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }
	}
	switch mode {
	case "slow":
		return func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
				_, _ = w.Write(allow)
			case <-r.Context().Done():
			}
		}
	case "trickle":
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(allow)))
			for _, b := range allow {
				_, _ = w.Write([]byte{b})
				w.(http.Flusher).Flush()
				select {
				case <-time.After(20 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
		}
	case "flap":
		return func(w http.ResponseWriter, r *http.Request) {
			if c.flap.Add(1)%2 == 1 {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write(allow)
		}
	case "garbage":
		return write([]byte(`{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`))
	case "notjson":
		return write([]byte("<html>allow</html>"))
	case "empty":
		return write(nil)
	case "null":
		return write([]byte("null"))
	case "nopolicy":
		return write([]byte(`{"principalId":"alice"}`))
	case "lowercaseeffect":
		return write(iamAnswer("alice", nil, statement{"allow", "execute-api:Invoke", "*"}))
	case "partialreset":
		return hijack(true)
	case "partialeof":
		return hijack(false)
	case "huge":
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(authorizer.MaxResponseBytes+1))
			_, _ = w.Write(bytes.Repeat([]byte(" "), authorizer.MaxResponseBytes+1))
		}
	case "hugechunked":
		return func(w http.ResponseWriter, _ *http.Request) {
			chunk := bytes.Repeat([]byte(" "), 64<<10)
			for sent := 0; sent <= authorizer.MaxResponseBytes; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	case "exactlimit":
		return write(append(bytes.Repeat([]byte(" "), authorizer.MaxResponseBytes-len(allow)), allow...))
	case "gzipbomb":
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(c.gzipBomb)
		}
	case "hugeheader":
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Padding", strings.Repeat("h", 80<<10))
			_, _ = w.Write(allow)
		}
	case "unauthorized":
		return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "Unauthorized", http.StatusUnauthorized) }
	case "forbidden":
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(allow)
		}
	case "servererror":
		return func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(allow)
		}
	case "redirect":
		return func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, c.redirect, http.StatusTemporaryRedirect)
		}
	case "wrongaccount":
		return write(policyFor(strings.Replace(faultArn, "123456789012", "210987654321", 1)))
	case "wrongapi":
		return write(policyFor(strings.Replace(faultArn, "faultapi01", "otherapi01", 1)))
	case "apiprefix":
		return write(policyFor(strings.Replace(faultArn, "faultapi01", "faultapi0", 1)))
	case "wrongstage":
		return write(policyFor(strings.Replace(faultArn, "/prod/", "/test/", 1)))
	case "wrongregion":
		return write(policyFor(strings.Replace(faultArn, "us-east-1", "eu-west-1", 1)))
	case "wrongmethod":
		return write(policyFor(strings.Replace(faultArn, "/GET/", "/POST/", 1)))
	case "lowercasemethod":
		return write(policyFor(strings.Replace(faultArn, "/GET/", "/get/", 1)))
	case "uppercasearn":
		return write(policyFor(strings.ToUpper(faultArn)))
	case "otheraction":
		return write(iamAnswer("alice", nil, statement{"Allow", "s3:GetObject", "*"}))
	case "emptystatements":
		return write(iamAnswer("alice", nil))
	}
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(allow) }
}

// hijack answers 200 with a body cut short: the connection is reset (RST) or closed.
func hijack(reset bool) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n" +
			`{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`)
		_ = buf.Flush()
		if tcp, ok := conn.(*net.TCPConn); ok && reset {
			_ = tcp.SetLinger(0)
		}
		_ = conn.Close()
	}
}

func (c *chaos) serve(w http.ResponseWriter, r *http.Request, ev event, _ int64) {
	token := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	c.mu.Lock()
	c.calls[token]++
	c.mu.Unlock()
	mode, _, _ := strings.Cut(token, "#")
	w.Header().Set("Content-Type", "application/json")
	c.mode(mode)(w, r)
}

func (c *chaos) callsFor(token string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[token]
}

// faultRig is Portcullis with the chaos backend and the unreachable ones.
type faultRig struct {
	svc          *service
	chaos        *chaos
	redirectHits atomic.Int64
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(make([]byte, 32<<20))
	_ = zw.Close()
	r := &faultRig{chaos: &chaos{calls: map[string]int{}, gzipBomb: bomb.Bytes()}}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.redirectHits.Add(1)
		_, _ = w.Write(iamAnswer("alice", nil, allowAll()))
	}))
	t.Cleanup(target.Close)
	r.chaos.redirect = target.URL
	backend := newAuthzServer(t, r.chaos.serve)

	refused := closedAddr(t)
	blackhole := listen(t, func(c net.Conn) {}) // accepts, reads nothing, answers nothing
	notHTTP := listen(t, func(c net.Conn) { _, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")) })
	cfg := strings.NewReplacer("CHAOS_URL", backend.URL, "REFUSED_URL", "http://"+refused+"/authorize",
		"BLACKHOLE_URL", "http://"+blackhole+"/authorize", "NOTHTTP_URL", "http://"+notHTTP+"/authorize").Replace(faultConfig)
	r.svc = startService(t, cfg, engine.Options{})
	return r
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// listen serves raw TCP on loopback with handle, holding each connection until the test ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			handle(c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// TestBackendFaults injects every failure a backend can have. Each ends in the SPEC's 401, 403 or
// 500 and never in an allow; a 401 or 500 is not cached, so a second request calls the backend
// again, while an IAM answer is cached and a second request does not.
func TestBackendFaults(t *testing.T) {
	r := newFaultRig(t)
	tests := []struct {
		name       string
		authorizer string // context extension; "" for the chaos backend
		mode       string
		want       want
		cached     bool // the answer is cached: one backend call for two requests
	}{
		{"control: healthy backend", "", "ok", wantAllow, true},
		{"slow past the 200ms timeout", "", "slow", wantFailure, false},
		{"body trickling past the timeout", "", "trickle", wantFailure, false},
		{"garbage JSON", "", "garbage", wantConfiguration, false},
		{"HTML instead of JSON", "", "notjson", wantConfiguration, false},
		{"empty body", "", "empty", wantConfiguration, false},
		{"JSON null", "", "null", wantConfiguration, false},
		{"no policyDocument", "", "nopolicy", wantConfiguration, false},
		{"Effect in lower case", "", "lowercaseeffect", wantConfiguration, false},
		{"partial body then connection reset", "", "partialreset", wantFailure, false},
		{"partial body then connection closed", "", "partialeof", wantFailure, false},
		{"body over 1 MiB with Content-Length", "", "huge", wantFailure, false},
		{"body over 1 MiB chunked", "", "hugechunked", wantFailure, false},
		{"control: body of exactly 1 MiB", "", "exactlimit", wantAllow, true},
		{"gzip bomb of 32 MiB", "", "gzipbomb", wantFailure, false},
		{"response headers over 64 KiB", "", "hugeheader", wantFailure, false},
		{"HTTP 401 is Unauthorized", "", "unauthorized", wantUnauthorized, false},
		{"HTTP 403 with an allow body", "", "forbidden", wantFailure, false},
		{"HTTP 500 with an allow body", "", "servererror", wantFailure, false},
		{"redirect to an allowing server is not followed", "", "redirect", wantFailure, false},
		{"allow for the wrong account", "", "wrongaccount", wantImplicitDeny, true},
		{"allow for the wrong API id", "", "wrongapi", wantImplicitDeny, true},
		{"allow for a prefix of the API id", "", "apiprefix", wantImplicitDeny, true},
		{"allow for the wrong stage", "", "wrongstage", wantImplicitDeny, true},
		{"allow for the wrong region", "", "wrongregion", wantImplicitDeny, true},
		{"allow for the wrong method", "", "wrongmethod", wantImplicitDeny, true},
		{"allow for the method in lower case", "", "lowercasemethod", wantImplicitDeny, true},
		{"allow for the ARN in upper case is not an ARN", "", "uppercasearn", wantConfiguration, false},
		{"allow for another action", "", "otheraction", wantImplicitDeny, true},
		{"connection refused", "refused", "", wantFailure, false},
		{"DNS failure", "nodns", "", wantFailure, false},
		{"accepts and never answers", "blackhole", "", wantFailure, false},
		{"speaks another protocol", "nothttp", "", wantFailure, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.faults.Add(1)
			token := fmt.Sprintf("%s#%d", tt.mode, i)
			req := httpReq{method: "GET", host: "faults.example.com", path: "/x/1",
				headers: map[string]string{"authorization": "Bearer " + token}}
			if tt.authorizer != "" {
				req.contextExtensions = map[string]string{"authorizer": tt.authorizer}
			}
			for n := 1; n <= 2; n++ {
				res := r.svc.check(t, req)
				expect(t, fmt.Sprintf("request %d", n), res.verdict, tt.want)
			}
			if tt.authorizer != "" {
				return // no counting backend behind these
			}
			want := 2
			if tt.cached {
				want = 1
			}
			if got := r.chaos.callsFor(token); got != want {
				wrongDecision(t, "backend called %d times for two requests, want %d (cached: %v)", got, want, tt.cached)
			}
		})
	}
	if n := r.redirectHits.Load(); n != 0 {
		wrongDecision(t, "the redirect target got %d requests, want 0", n)
	}
}

// TestEmptyStatementList: a policy with no statement allows nothing. The SPEC calls an empty
// policy a configuration error; an implicit deny is also closed. Either is accepted, never allow.
func TestEmptyStatementList(t *testing.T) {
	r := newFaultRig(t)
	counts.faults.Add(1)
	res := r.svc.check(t, httpReq{method: "GET", host: "faults.example.com", path: "/x/1",
		headers: map[string]string{"authorization": "Bearer emptystatements#1"}})
	expectOneOf(t, "empty Statement list", res.verdict, wantConfiguration, wantImplicitDeny)
	t.Logf("empty Statement list: %s", res.verdict)
}

// TestFailuresAreNotCached: a flapping backend (503, 200, 503, ...) fails the first request of a
// token with 500, and the next request of the same token calls it again and is allowed.
func TestFailuresAreNotCached(t *testing.T) {
	r := newFaultRig(t)
	req := httpReq{method: "GET", host: "faults.example.com", path: "/x/1",
		headers: map[string]string{"authorization": "Bearer flap#1"}}
	counts.faults.Add(1)
	expect(t, "first call answered 503", r.svc.check(t, req).verdict, wantFailure)
	expect(t, "second call answered 200", r.svc.check(t, req).verdict, wantAllow)
	expect(t, "third request is cached", r.svc.check(t, req).verdict, wantAllow)
	if got := r.chaos.callsFor("flap#1"); got != 2 {
		wrongDecision(t, "backend called %d times, want 2: the 500 must not be cached, the allow must", got)
	}
}
