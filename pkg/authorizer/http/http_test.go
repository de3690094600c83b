package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

const (
	allowAnswer = `{"principalId":"user-42","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},"context":{"tier":"gold"}}`
	denyAnswer  = `{"principalId":"user-42","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`
)

// outcome is the class of a backend's result, which is what decides the status Envoy gets.
type outcome int

const (
	answered outcome = iota
	unauthorized
	configuration
	failure
)

func (o outcome) String() string {
	return [...]string{"answered", "unauthorized", "configuration error", "backend failure"}[o]
}

func classify(err error) outcome {
	switch {
	case err == nil:
		return answered
	case errors.Is(err, authorizer.ErrUnauthorized):
		return unauthorized
	case errors.Is(err, authorizer.ErrConfiguration):
		return configuration
	default:
		return failure
	}
}

// serve starts an authorizer endpoint on 127.0.0.1:0 that stops with the test.
func serve(t testing.TB, handler nethttp.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// stalled serves an endpoint that never answers. It reads the body first (the server notices a
// client hanging up only once the body is consumed) and gives up when the test ends, so closing
// the server never waits on it.
func stalled(t testing.TB) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := serve(t, func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	t.Cleanup(func() { close(stop) }) // runs before srv.Close: cleanups run last-in first-out
	return srv
}

func answer(status int, body string) nethttp.HandlerFunc {
	return func(w nethttp.ResponseWriter, r *nethttp.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func newBackend(t testing.TB, url string, cfg Config) *Backend {
	t.Helper()
	cfg.URL = url
	b, err := New("tokens", cfg, NewClient())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestAuthorizeAnswers(t *testing.T) {
	huge := `{"policyDocument":{"Version":"2012-10-17"},"pad":"` + strings.Repeat("x", authorizer.MaxResponseBytes) + `"}`
	tests := []struct {
		name      string
		handler   nethttp.HandlerFunc
		simple    bool
		typ       string
		version   string
		want      outcome
		principal string
		effect    string
		cause     string // in the error message
	}{
		{name: "allow answer", handler: answer(200, allowAnswer), want: answered, principal: "user-42", effect: "Allow"},
		{name: "deny answer", handler: answer(200, denyAnswer), want: answered, principal: "user-42", effect: "Deny"},
		{name: "simple answer", handler: answer(200, `{"isAuthorized":true}`), simple: true, typ: authorizer.TypeRequest, version: "2.0", want: answered},
		{name: "401 with a JSON body", handler: answer(401, `{"message":"Unauthorized"}`), want: unauthorized},
		{name: "401 with an empty body", handler: answer(401, ""), want: unauthorized},
		{name: "401 with a huge body", handler: answer(401, huge), want: unauthorized},
		{name: "500", handler: answer(500, allowAnswer), want: failure, cause: "500"},
		{name: "503", handler: answer(503, "busy"), want: failure, cause: "503"},
		{name: "403 is not a deny", handler: answer(403, denyAnswer), want: failure, cause: "403"},
		{name: "redirect not followed", handler: func(w nethttp.ResponseWriter, r *nethttp.Request) {
			nethttp.Redirect(w, r, "http://elsewhere.example/", nethttp.StatusTemporaryRedirect)
		}, want: failure, cause: "307"},
		{name: "garbage JSON", handler: answer(200, "<html>oops</html>"), want: configuration, cause: "not a JSON object"},
		{name: "empty 200 body", handler: answer(200, ""), want: configuration, cause: "not a JSON object"},
		{name: "missing policy", handler: answer(200, `{"principalId":"u"}`), want: configuration, cause: "policyDocument is missing"},
		{name: "TOKEN answers follow 1.0 rules", handler: answer(200, `{"policyDocument":{"Version":"2012-10-17"},"context":{"o":{}}}`),
			typ: authorizer.TypeToken, version: "2.0", want: configuration, cause: `context value "o"`},
		{name: "huge body with length", handler: answer(200, huge), want: failure, cause: "larger than 1 MiB"},
		{name: "huge body chunked", handler: func(w nethttp.ResponseWriter, r *nethttp.Request) {
			for i := 0; i < 3; i++ {
				_, _ = io.WriteString(w, huge[:len(huge)/2])
				w.(nethttp.Flusher).Flush()
			}
		}, want: failure, cause: "larger than 1 MiB"},
		{name: "connection closed without an answer", handler: func(w nethttp.ResponseWriter, r *nethttp.Request) {
			conn, _, err := w.(nethttp.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, want: failure, cause: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.handler)
			b := newBackend(t, srv.URL+"/authorize", Config{Simple: tt.simple, Timeout: 5 * time.Second})
			typ := tt.typ
			if typ == "" {
				typ = authorizer.TypeToken
			}
			resp, err := b.Authorize(context.Background(), authorizertest.Request(typ, tt.version))
			if got := classify(err); got != tt.want {
				t.Fatalf("outcome = %v (err %v), want %v", got, err, tt.want)
			}
			if err != nil {
				checkErrorMessage(t, err, tt.cause)
				return
			}
			if resp.PrincipalID != tt.principal {
				t.Errorf("principalId = %q, want %q", resp.PrincipalID, tt.principal)
			}
			if tt.effect != "" && !bytes.Contains(resp.PolicyDocument, []byte(`"Effect":"`+tt.effect+`"`)) {
				t.Errorf("policy %s, want effect %s", resp.PolicyDocument, tt.effect)
			}
			if tt.simple && (resp.IsAuthorized == nil || !*resp.IsAuthorized) {
				t.Errorf("isAuthorized = %v, want true", resp.IsAuthorized)
			}
		})
	}
}

// checkErrorMessage: the message names the authorizer and the cause, never the token.
func checkErrorMessage(t *testing.T, err error, cause string) {
	t.Helper()
	msg := err.Error()
	t.Log(msg)
	if !strings.Contains(msg, `"tokens"`) {
		t.Errorf("error %q does not name the authorizer", msg)
	}
	if !strings.Contains(msg, cause) {
		t.Errorf("error %q does not name the cause %q", msg, cause)
	}
	if strings.Contains(msg, authorizertest.Token) || strings.Contains(msg, "eyJ") {
		t.Errorf("error %q reveals the token", msg)
	}
}

func TestAuthorizeTimeout(t *testing.T) {
	srv := stalled(t)
	b := newBackend(t, srv.URL, Config{Timeout: 50 * time.Millisecond})
	_, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, ""))
	if classify(err) != failure || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a backend failure from the deadline", err)
	}
	checkErrorMessage(t, err, "timeout 50ms")
}

func TestAuthorizeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := newBackend(t, "http://"+addr+"/authorize", Config{})
	_, err = b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, ""))
	if classify(err) != failure || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want a backend failure from the refused connection", err)
	}
	checkErrorMessage(t, err, "connection refused")
}

func TestAuthorizeUnknownHost(t *testing.T) {
	// .invalid never resolves (RFC 2606). Only the class is checked: in a sandbox the lookup may
	// fail differently, or a configured proxy may answer instead.
	b := newBackend(t, "http://authorizer.portcullis.invalid/authorize", Config{Timeout: 2 * time.Second})
	_, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, ""))
	if classify(err) != failure {
		t.Fatalf("err = %v, want a backend failure", err)
	}
	checkErrorMessage(t, err, "authorizer.portcullis.invalid")
}

func TestAuthorizeCallerCancel(t *testing.T) {
	srv := stalled(t)
	b := newBackend(t, srv.URL, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Authorize(ctx, authorizertest.Request(authorizer.TypeToken, ""))
	if classify(err) != failure || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a failure wrapping context.Canceled", err)
	}
}

// received is what the endpoint saw of one call.
type received struct {
	method, path, query string
	header              nethttp.Header
	body                []byte
}

func recorder(t testing.TB, answerBody string) (*httptest.Server, func() received) {
	var mu sync.Mutex
	var last received
	srv := serve(t, func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body}
		mu.Unlock()
		_, _ = io.WriteString(w, answerBody)
	})
	return srv, func() received {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func TestAuthorizeSendsHeaders(t *testing.T) {
	srv, last := recorder(t, allowAnswer)
	b := newBackend(t, srv.URL+"/authorize?v=1", Config{Headers: map[string]string{"x-api-key": "k-123", "X-Tenant": "acme"}})
	if _, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, "")); err != nil {
		t.Fatal(err)
	}
	got := last()
	if got.method != nethttp.MethodPost || got.path != "/authorize" || got.query != "v=1" {
		t.Errorf("request = %s %s?%s, want POST /authorize?v=1", got.method, got.path, got.query)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json",
		"User-Agent":   "portcullis",
		"X-Api-Key":    "k-123",
		"X-Tenant":     "acme",
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
}

func TestAuthorizeConfiguredUserAgentWins(t *testing.T) {
	srv, last := recorder(t, allowAnswer)
	b := newBackend(t, srv.URL, Config{Headers: map[string]string{"user-agent": "gateway/2"}})
	if _, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, "")); err != nil {
		t.Fatal(err)
	}
	if ua := last().header.Values("User-Agent"); len(ua) != 1 || ua[0] != "gateway/2" {
		t.Errorf("User-Agent = %q, want only the configured one", ua)
	}
}

func TestAuthorizeSendsGoldenEvent(t *testing.T) {
	tests := []struct {
		golden, typ, version string
	}{
		{"event_token.json", authorizer.TypeToken, ""},
		{"event_request_v1.json", authorizer.TypeRequest, "1.0"},
		{"event_request_v2.json", authorizer.TypeRequest, "2.0"},
	}
	srv, last := recorder(t, allowAnswer)
	b := newBackend(t, srv.URL, Config{})
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			if _, err := b.Authorize(context.Background(), authorizertest.Request(tt.typ, tt.version)); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, last().body, "", "  "); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			got.WriteByte('\n')
			want, err := os.ReadFile(filepath.Join("..", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("endpoint received\n%s\nwant\n%s", got.Bytes(), want)
			}
		})
	}
}

func TestAuthorizeConcurrentCalls(t *testing.T) {
	srv := serve(t, answer(200, allowAnswer))
	b := newBackend(t, srv.URL, Config{Headers: map[string]string{"x-api-key": "k"}})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeRequest, "2.0"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestNewClientSpeaksHTTP2OverTLS(t *testing.T) {
	var proto string
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		proto = r.Proto
		_, _ = io.WriteString(w, allowAnswer)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := NewClient()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	client.Transport.(*nethttp.Transport).TLSClientConfig = &tls.Config{RootCAs: roots}
	b, err := New("tokens", Config{URL: srv.URL}, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, "")); err != nil {
		t.Fatal(err)
	}
	if proto != "HTTP/2.0" {
		t.Errorf("protocol = %q, want HTTP/2.0", proto)
	}
}

func TestNewRejects(t *testing.T) {
	const secret = "k-123\r\nX-Evil: 1"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "scheme"},
		{"ftp URL", Config{URL: "ftp://authz.example/"}, `scheme "ftp"`},
		{"URL without host", Config{URL: "http:///authorize"}, "no host"},
		{"credentials in URL", Config{URL: "https://user:pw@authz.example/"}, "credentials"},
		{"unparseable URL", Config{URL: "http://[::1"}, "not a valid URL"},
		{"negative timeout", Config{URL: "http://authz.example/", Timeout: -time.Second}, "timeout"},
		{"timeout over 30s", Config{URL: "http://authz.example/", Timeout: 31 * time.Second}, "timeout"},
		{"invalid header name", Config{URL: "http://authz.example/", Headers: map[string]string{"x api key": "v"}}, "not a valid header name"},
		{"header value with CRLF", Config{URL: "http://authz.example/", Headers: map[string]string{"x-api-key": secret}}, "not allowed in a header"},
		{"content-type configured", Config{URL: "http://authz.example/", Headers: map[string]string{"content-type": "text/plain"}}, "cannot be configured"},
		{"host configured", Config{URL: "http://authz.example/", Headers: map[string]string{"Host": "other"}}, "cannot be configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("tokens", tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"tokens"`) {
				t.Fatalf("err = %v, want one naming the authorizer and containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "k-123") {
				t.Errorf("error %q reveals a header value", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	b, err := New("tokens", Config{URL: "https://authz.example/authorize"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.timeout != DefaultTimeout {
		t.Errorf("timeout = %s, want %s", b.timeout, DefaultTimeout)
	}
	if b.client == nil {
		t.Error("no client")
	}
}

func BenchmarkAuthorizeRoundTrip(b *testing.B) {
	srv := serve(b, answer(200, allowAnswer))
	backend := newBackend(b, srv.URL, Config{Headers: map[string]string{"x-api-key": "k"}})
	for _, kind := range []struct{ name, typ, version string }{
		{"token", authorizer.TypeToken, ""},
		{"request_v2", authorizer.TypeRequest, "2.0"},
	} {
		req := authorizertest.Request(kind.typ, kind.version)
		b.Run(kind.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := backend.Authorize(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
