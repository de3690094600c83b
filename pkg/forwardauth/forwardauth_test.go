package forwardauth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
)

// front is a Handler served over real HTTP on loopback, deciding with an engine on fat.Config.
type front struct {
	addr    string
	backend *fat.Backend
	engine  *engine.Engine
}

func newFront(t testing.TB, opts Options) *front {
	t.Helper()
	return newFrontWith(t, opts, fat.Config)
}

// newFrontWith is newFront on the config cfg makes for the backend's URL.
func newFrontWith(t testing.TB, opts Options, cfg func(url string) string) *front {
	t.Helper()
	b := fat.NewBackend(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg(b.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(snap, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	h, err := New(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewServer(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return &front{addr: srv.Listener.Addr().String(), backend: b, engine: e}
}

// send writes one HTTP/1.1 request exactly as given (request line, then headers) and reads the
// answer: the bytes a proxy sends, unchanged by any client library.
func (f *front) send(t testing.TB, requestLine string, headers ...string) *answer {
	t.Helper()
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a *answer) String() string { return fmt.Sprintf("%d %v %s", a.status, a.header, a.body) }

// want is what a test expects of an answer: the status, the body (a key of fat.Body, "" for
// none) and headers that must be there with these values ("" : must be absent).
type want struct {
	status  int
	body    string
	headers map[string]string
}

func (w want) check(t *testing.T, got *answer) {
	t.Helper()
	if got.status != w.status {
		t.Errorf("status = %d, want %d (%s)", got.status, w.status, got)
	}
	wantBody := ""
	if w.body != "" {
		wantBody = fat.Body[w.body]
	}
	if got.body != wantBody {
		t.Errorf("body = %q, want %q", got.body, wantBody)
	}
	for name, v := range w.headers {
		if got := got.header.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if got.header.Get("x-amzn-requestid") == "" {
		t.Error("no x-amzn-requestid")
	}
	if got.status != 200 && got.header.Get("content-type") != "application/json" {
		t.Errorf("content-type = %q on a denial", got.header.Get("content-type"))
	}
}

const host = "Host: " + fat.RESTHost

func TestRequestMode(t *testing.T) {
	f := newFront(t, Options{Mode: ModeRequest, PathPrefix: "/authz"})
	tests := []struct {
		name    string
		line    string
		headers []string
		want    want
	}{
		{"allow passes principal and context, not the client's", "GET /authz/pets?limit=1 HTTP/1.1",
			[]string{host, "Authorization: " + fat.Allow, "x-request-id: req-42",
				"x-authorizer-principal-id: admin", "X-Authorizer-Role: admin"},
			want{200, "", map[string]string{"x-authorizer-principal-id": fat.Principal, "x-authorizer-role": "reader",
				"x-amzn-requestid": "req-42", "x-envoy-auth-headers-to-remove": ""}}},
		{"explicit deny", "GET /authz/pets HTTP/1.1", []string{host, "Authorization: " + fat.Deny},
			want{403, "explicit_deny", map[string]string{"x-amzn-errortype": "AccessDeniedException"}}},
		{"implicit deny", "GET /authz/pets HTTP/1.1", []string{host, "Authorization: " + fat.OtherRoute},
			want{403, "implicit_deny", map[string]string{"x-amzn-errortype": "AccessDeniedException"}}},
		{"the same token allowed on its route", "GET /authz/other HTTP/1.1", []string{host, "Authorization: " + fat.OtherRoute},
			want{200, "", map[string]string{"x-authorizer-principal-id": "user-other"}}},
		{"missing token", "GET /authz/pets HTTP/1.1", []string{host},
			want{401, "unauthorized", map[string]string{"x-amzn-errortype": "UnauthorizedException", "www-authenticate": ""}}},
		{"backend says Unauthorized", "GET /authz/pets HTTP/1.1", []string{host, "Authorization: " + fat.Unauthorized},
			want{401, "unauthorized", nil}},
		{"backend fails", "GET /authz/pets HTTP/1.1", []string{host, "Authorization: " + fat.Failing},
			want{500, "authorizer_failure", map[string]string{"x-amzn-errortype": "AuthorizerFailureException"}}},
		{"unknown route", "GET /authz/nowhere HTTP/1.1", []string{host, "Authorization: " + fat.Allow},
			want{403, "missing_token", map[string]string{"x-amzn-errortype": "MissingAuthenticationTokenException"}}},
		{"unknown host", "GET /authz/pets HTTP/1.1", []string{"Host: elsewhere.example.com", "Authorization: " + fat.Allow},
			want{403, "missing_token", nil}},
		{"NONE route without a token", "GET /authz/open HTTP/1.1", []string{host},
			want{200, "", map[string]string{"x-authorizer-principal-id": ""}}},
		{"NONE route still names spoofed headers for removal", "GET /authz/open HTTP/1.1",
			[]string{host, "x-authorizer-principal-id: admin"},
			want{200, "", map[string]string{"x-envoy-auth-headers-to-remove": "x-authorizer-principal-id"}}},
		{"HTTP API: unknown route is Not Found", "GET /authz/nowhere HTTP/1.1", []string{"Host: " + fat.HTTPHost},
			want{404, "http_not_found", nil}},
		{"HTTP API: deny is Forbidden", "GET /authz/pets HTTP/1.1", []string{"Host: " + fat.HTTPHost, "Authorization: " + fat.Deny},
			want{403, "http_forbidden", nil}},
		{"HTTP API: backend failure", "GET /authz/pets HTTP/1.1", []string{"Host: " + fat.HTTPHost, "Authorization: " + fat.Failing},
			want{500, "http_server_error", nil}},
		{"JWT 401 challenges", "GET /authz/jwt HTTP/1.1", []string{host},
			want{401, "unauthorized", map[string]string{"www-authenticate": "Bearer"}}},
		{"JWT allow", "GET /authz/jwt HTTP/1.1", []string{host, "Authorization: Bearer " + hs256(t)},
			want{200, "", map[string]string{"x-authorizer-principal-id": "alice"}}},
		{"path without the prefix", "GET /pets HTTP/1.1", []string{host, "Authorization: " + fat.Allow},
			want{400, "bad_request", nil}},
		{"prefix not followed by a slash", "GET /authzpets HTTP/1.1", []string{host, "Authorization: " + fat.Allow},
			want{400, "bad_request", nil}},
		{"absolute-form target", "GET http://rest.example.com/authz/pets HTTP/1.1", []string{host, "Authorization: " + fat.Allow},
			want{400, "bad_request", nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.want.check(t, f.send(t, tt.line, tt.headers...)) })
	}
}

// Paths an upstream could read otherwise than Portcullis: every one is refused, 400, whichever
// mode carries it, and the backend is never asked.
var confusing = []string{
	"/pets/../admin/x", "/pets/%2e%2e/admin/x", "/pets/.%2E/admin/x", "/admin%2Fx", "/admin%2fx",
	"/pets/%00", "/pets/%0d%0aX-Injected:%201", "/pets/a%5C..%5Cadmin", "/..;/admin/x", "/pets/%252e%252e/admin",
	"/pets/./x", "/pets/%C0%AE%C0%AE/admin",
}

func TestPathConfusionIsRefused(t *testing.T) {
	for _, mode := range []Mode{ModeRequest, ModeXForwarded, ModeXOriginal} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFront(t, Options{Mode: mode})
			for _, p := range confusing {
				var got *answer
				switch mode {
				case ModeRequest:
					got = f.send(t, "GET "+p+" HTTP/1.1", host, "Authorization: "+fat.Allow)
				case ModeXForwarded:
					got = f.send(t, "GET / HTTP/1.1", host, "X-Forwarded-Method: GET", "X-Forwarded-Uri: "+p, "Authorization: "+fat.Allow)
				case ModeXOriginal:
					got = f.send(t, "GET /auth HTTP/1.1", host, "X-Original-Method: GET", "X-Original-URI: "+p, "Authorization: "+fat.Allow)
				}
				if got.status != 400 || got.body != fat.Body["bad_request"] {
					t.Errorf("%s: %s, want 400 Bad Request", p, got)
				}
			}
			if n := f.backend.Calls(fat.Allow); n != 0 {
				t.Errorf("backend asked %d times about refused requests", n)
			}
		})
	}
}

// A mode reads only its own headers: a client (or a proxy set up for another mode) cannot choose
// the URI that is authorized.
func TestModesReadOnlyTheirHeaders(t *testing.T) {
	tests := []struct {
		name    string
		mode    Mode
		line    string
		headers []string
		want    want
	}{
		{"x-forwarded: URI and method from its headers, not the request line", ModeXForwarded, "GET /open HTTP/1.1",
			[]string{host, "X-Forwarded-Method: GET", "X-Forwarded-Uri: /pets"}, want{401, "unauthorized", nil}},
		{"x-forwarded: the forwarded host picks the Api", ModeXForwarded, "GET / HTTP/1.1",
			[]string{"Host: portcullis.internal", "X-Forwarded-Host: " + fat.HTTPHost, "X-Forwarded-Method: GET", "X-Forwarded-Uri: /nowhere"},
			want{404, "http_not_found", nil}},
		{"x-forwarded: Host when no forwarded host", ModeXForwarded, "GET / HTTP/1.1",
			[]string{host, "X-Forwarded-Method: GET", "X-Forwarded-Uri: /open?x=1"}, want{200, "", nil}},
		{"x-forwarded: method taken from its header", ModeXForwarded, "GET / HTTP/1.1",
			[]string{host, "X-Forwarded-Method: DELETE", "X-Forwarded-Uri: /open"}, want{403, "missing_token", nil}},
		{"x-forwarded: no URI header is 400, x-original's ignored", ModeXForwarded, "GET /open HTTP/1.1",
			[]string{host, "X-Forwarded-Method: GET", "X-Original-URI: /open"}, want{400, "bad_request", nil}},
		{"x-forwarded: no method header is 400", ModeXForwarded, "GET /open HTTP/1.1",
			[]string{host, "X-Forwarded-Uri: /open", "X-Original-Method: GET"}, want{400, "bad_request", nil}},
		{"x-forwarded: a repeated URI header is 400", ModeXForwarded, "GET / HTTP/1.1",
			[]string{host, "X-Forwarded-Method: GET", "X-Forwarded-Uri: /open", "X-Forwarded-Uri: /pets"}, want{400, "bad_request", nil}},
		{"x-forwarded: an empty URI header is 400", ModeXForwarded, "GET / HTTP/1.1",
			[]string{host, "X-Forwarded-Method: GET", "X-Forwarded-Uri: "}, want{400, "bad_request", nil}},
		{"x-original: URI and method from its headers", ModeXOriginal, "GET /open HTTP/1.1",
			[]string{host, "X-Original-Method: POST", "X-Original-URI: /pets", "Authorization: " + fat.Allow},
			want{200, "", map[string]string{"x-authorizer-principal-id": fat.Principal}}},
		{"x-original: the forwarded host is ignored", ModeXOriginal, "GET /auth HTTP/1.1",
			[]string{host, "X-Forwarded-Host: " + fat.HTTPHost, "X-Original-Method: GET", "X-Original-URI: /nowhere"},
			want{403, "missing_token", nil}},
		{"x-original: no URI header is 400, x-forwarded's ignored", ModeXOriginal, "GET /open HTTP/1.1",
			[]string{host, "X-Original-Method: GET", "X-Forwarded-Uri: /open"}, want{400, "bad_request", nil}},
		{"request: the other modes' headers are ignored", ModeRequest, "GET /pets HTTP/1.1",
			[]string{host, "X-Forwarded-Uri: /open", "X-Original-URI: /open", "X-Original-Method: GET"},
			want{401, "unauthorized", nil}},
	}
	fronts := map[Mode]*front{}
	for _, m := range []Mode{ModeRequest, ModeXForwarded, ModeXOriginal} {
		fronts[m] = newFront(t, Options{Mode: m})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.check(t, fronts[tt.mode].send(t, tt.line, tt.headers...))
		})
	}
}

func TestHeadersToRemove(t *testing.T) {
	f := newFront(t, Options{})
	got := f.send(t, "GET /pets HTTP/1.1", host, "Authorization: "+fat.Allow,
		"X-Authorizer-Principal-Id: admin", "x-authorizer-role: admin", "x-authorizer-tenant: acme",
		"X_Authorizer_Principal_Id: admin", "x-authorizer-tenant: second")
	if got.status != 200 {
		t.Fatalf("got %s", got)
	}
	removed := strings.Split(got.header.Get("x-envoy-auth-headers-to-remove"), ",")
	slices.Sort(removed)
	// The answer sets principal-id and role itself: the proxy overwrites them, and removing them
	// too would remove the authorizer's value.
	if want := []string{"x-authorizer-tenant", "x_authorizer_principal_id"}; !slices.Equal(removed, want) {
		t.Errorf("x-envoy-auth-headers-to-remove = %v, want %v", removed, want)
	}
	if len(got.header.Values("x-authorizer-principal-id")) != 1 {
		t.Errorf("principal header sent %d times", len(got.header.Values("x-authorizer-principal-id")))
	}
}

func TestCachedAcrossRequests(t *testing.T) {
	f := newFront(t, Options{Mode: ModeXOriginal})
	for i := range 50 {
		path := []string{"/pets", "/pets/1", "/admin/a/b"}[i%3]
		got := f.send(t, "GET /auth HTTP/1.1", host, "X-Original-Method: GET", "X-Original-URI: "+path, "Authorization: "+fat.Allow)
		if got.status != 200 {
			t.Fatalf("request %d: %s", i, got)
		}
	}
	if n := f.backend.Calls(fat.Allow); n != 1 {
		t.Errorf("backend called %d times for one token, want 1", n)
	}
}

// Pooled request state must never carry one request's principal into another's answer.
func TestConcurrentRequestsKeepTheirOwnAnswers(t *testing.T) {
	f := newFront(t, Options{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				who := fmt.Sprintf("w%d-%d", w, i%5)
				got := f.send(t, "GET /pets/"+who+" HTTP/1.1", host, "Authorization: Bearer "+who)
				if got.status != 200 || got.header.Get("x-authorizer-principal-id") != "caller-"+who {
					t.Errorf("%s: %s", who, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A proxy that gives up on a slow authorization request (its connection closes) frees the
// request at once: its memory, header map included, serves the next requests while the backend
// call it started runs on, and that call still caches the slow identity's own answer.
func TestBackendCallOutlivesItsRequest(t *testing.T) {
	f := newFront(t, Options{})
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /pets/1 HTTP/1.1\r\n"+host+"\r\nAuthorization: "+fat.Slow+"\r\nX-Extra: slow\r\nContent-Length: 0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.backend.Calls(fat.Slow) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow call never reached the backend")
		}
		time.Sleep(time.Millisecond)
	}
	conn.Close() // the proxy gives up: the handler's context is cancelled
	for i := range 30 {
		who := fmt.Sprintf("other-%d", i%3)
		got := f.send(t, "GET /pets/"+who+" HTTP/1.1", host, "Authorization: Bearer "+who, "X-Extra: "+who)
		if got.status != 200 || got.header.Get("x-authorizer-principal-id") != "caller-"+who {
			t.Fatalf("%s while the slow call runs: %s", who, got)
		}
	}
	// Joins the slow call, or finds what it cached.
	got := f.send(t, "GET /pets/2 HTTP/1.1", host, "Authorization: "+fat.Slow)
	if got.status != 200 || got.header.Get("x-authorizer-principal-id") != "user-slow" {
		t.Fatalf("slow identity after its call: %s", got)
	}
	if n := f.backend.Calls(fat.Slow); n != 1 {
		t.Fatalf("backend called %d times for the slow identity, want 1", n)
	}
}

func TestClientAddressReachesTheBackend(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		xff     []string
		want    string
	}{
		{"no X-Forwarded-For: the peer", "127.0.0.0/8", nil, "127.0.0.1"},
		{"trusted peer: the rightmost untrusted entry", "127.0.0.0/8",
			[]string{"X-Forwarded-For: 198.51.100.9, 203.0.113.7"}, "203.0.113.7"},
		{"trusted entries skipped from the right", "127.0.0.0/8, 10.0.0.0/8",
			[]string{"X-Forwarded-For: 198.51.100.9, 203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"several lines read as one list", "127.0.0.0/8",
			[]string{"X-Forwarded-For: 203.0.113.7", "X-Forwarded-For: 198.51.100.9"}, "198.51.100.9"},
		{"all trusted: the leftmost", "127.0.0.0/8, 10.0.0.0/8",
			[]string{"X-Forwarded-For: 10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"untrusted peer: X-Forwarded-For ignored", "10.0.0.0/8",
			[]string{"X-Forwarded-For: 203.0.113.7"}, "127.0.0.1"},
		{"no trusted proxies: X-Forwarded-For ignored", "",
			[]string{"X-Forwarded-For: 203.0.113.7"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxies, err := ParseProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			f := newFront(t, Options{TrustedProxies: proxies})
			got := f.send(t, "GET /whoami HTTP/1.1", append([]string{host, "x-who: someone"}, tt.xff...)...)
			if got.status != 200 {
				t.Fatalf("got %s", got)
			}
			if ips := f.backend.SourceIPs(); len(ips) != 1 || ips[0] != tt.want {
				t.Errorf("sourceIp = %v, want %s", ips, tt.want)
			}
		})
	}
}

// aws:SecureTransport is the proxy's X-Forwarded-Proto, believed only from a trusted proxy.
func TestSchemeFromTrustedProxies(t *testing.T) {
	trusted := newFront(t, Options{Mode: ModeXOriginal})
	none, _ := ParseProxies("")
	untrusted := newFront(t, Options{Mode: ModeXOriginal, TrustedProxies: none})
	ask := func(f *front, proto string) int {
		headers := []string{host, "X-Original-Method: GET", "X-Original-URI: /pets", "Authorization: " + fat.TLSOnly}
		if proto != "" {
			headers = append(headers, "X-Forwarded-Proto: "+proto)
		}
		return f.send(t, "GET /auth HTTP/1.1", headers...).status
	}
	for _, tc := range []struct {
		name  string
		f     *front
		proto string
		want  int
	}{
		{"https from a trusted proxy", trusted, "https", 200},
		{"http from a trusted proxy", trusted, "http", 403},
		{"no X-Forwarded-Proto", trusted, "", 403},
		{"https from an untrusted peer", untrusted, "https", 403},
	} {
		if got := ask(tc.f, tc.proto); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A REQUEST authorizer's event carries the original request's headers, not the proxy's request's.
func TestHeadersOfTheOriginalRequest(t *testing.T) {
	f := newFront(t, Options{Mode: ModeXOriginal})
	var st reqState
	r, _ := http.NewRequest("GET", "http://"+fat.RESTHost+"/auth", nil)
	r.RemoteAddr, r.Proto = "127.0.0.1:1", "HTTP/1.1"
	r.Header = http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/pets"}, "Connection": {"keep-alive"},
		"Content-Length": {"0"}, "Accept": {"a/b", "c/d"}, "X-Custom": {"v"}}
	h, _ := New(f.engine, Options{Mode: ModeXOriginal})
	if err := h.facts(r, &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"accept": "a/b,c/d", "x-custom": "v", "host": fat.RESTHost}
	if !maps.Equal(st.req.Headers, want) {
		t.Errorf("headers = %v, want %v", st.req.Headers, want)
	}
}

func TestForgedForwardedForIsRefused(t *testing.T) {
	f := newFront(t, Options{})
	got := f.send(t, "GET /whoami HTTP/1.1", host, "x-who: someone", "X-Forwarded-For: 203.0.113.7, not-an-address")
	want{400, "bad_request", nil}.check(t, got)
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{PathPrefix: "authz"}, {PathPrefix: "/authz/"}, {PathPrefix: "/a/../b"}, {PathPrefix: "/a?b"},
		{Mode: ModeXOriginal, PathPrefix: "/authz"}, {Mode: 9},
	} {
		if _, err := New(nil, opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
	for _, s := range []string{"10.0.0.0/33", "not-a-cidr", "10.0.0.1/8/2"} {
		if _, err := ParseProxies(s); err == nil {
			t.Errorf("ParseProxies(%q) accepted", s)
		}
	}
	if _, err := ParseMode("X-Forwarded"); err == nil {
		t.Error("ParseMode is case-sensitive: X-Forwarded accepted")
	}
}

func TestServerLimits(t *testing.T) {
	f := newFront(t, Options{})
	big := "x-big: " + strings.Repeat("a", 80<<10)
	if got := f.send(t, "GET /pets HTTP/1.1", host, big); got.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("80 KiB header: %d, want 431", got.status)
	}
}

func hs256(t testing.TB) string {
	claims := gojwt.MapClaims{"iss": "https://issuer.test", "aud": "api", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(fat.JWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
