package introspection_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/introspection"
)

var now = time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC)

// endpoint is an introspection endpoint as RFC 7662 describes one: it authenticates its caller
// with HTTP Basic (RFC 6749 2.3.1 encoding), reads token from a form body and answers the JSON
// it was given for that token, or {"active":false}.
type endpoint struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers map[string]string // token -> JSON answer
	last    url.Values
	calls   int
}

const (
	clientID     = "gate way"   // a space, to prove the id is form-encoded before Basic
	clientSecret = "s3cr:t/+%=" // ':' and other characters RFC 6749 says to encode
)

func newEndpoint(t *testing.T, answers map[string]string) *endpoint {
	e := &endpoint{answers: answers}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	if !ok || id != clientID || secret != clientSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.last, e.calls = r.PostForm, e.calls+1
	answer, ok := e.answers[r.PostForm.Get("token")]
	e.mu.Unlock()
	if !ok {
		answer = `{"active":false}`
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, answer)
}

func newBackend(t *testing.T, url string, edit func(*introspection.Config)) *introspection.Backend {
	t.Helper()
	cfg := introspection.Config{
		URL: url, ClientID: clientID, ClientSecret: clientSecret, TokenTypeHint: "access_token",
		ContextClaims: []string{"client_id", "tenant"},
		Policy: []v1alpha1.PolicyRule{
			{Scopes: []string{"pets:write"}, Effect: "Allow", Routes: []string{"* /pets/*"}},
			{Effect: "Allow", Routes: []string{"GET /pets/*"}},
		},
		Now: func() time.Time { return now },
	}
	if edit != nil {
		edit(&cfg)
	}
	b, err := introspection.New("opaque", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tokenRequest(token string) *authorizer.Request {
	req := authorizertest.Request(authorizer.TypeToken, "")
	req.Token = token
	return req
}

func resources(t *testing.T, doc []byte) map[string][]string {
	t.Helper()
	var d struct {
		Statement []struct {
			Effect   string
			Resource []string
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, s := range d.Statement {
		out[s.Effect] = append(out[s.Effect], s.Resource...)
	}
	return out
}

const arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

func TestAuthorizeActiveToken(t *testing.T) {
	exp := now.Add(10 * time.Minute).Unix()
	e := newEndpoint(t, map[string]string{
		"writer": `{"active":true,"sub":"alice","client_id":"app-1","tenant":"acme","scope":"pets:read pets:write","exp":` + jsonInt(exp) + `}`,
		"reader": `{"active":true,"username":"bob","scope":"pets:read"}`,
		"robot":  `{"active":true,"client_id":"batch-job","token_type":"Bearer"}`,
	})
	b := newBackend(t, e.srv.URL, nil)
	tests := []struct {
		name, token, principal string
		allow                  []string
		context                map[string]any
		expires                time.Time
	}{
		{"sub is the principal, exp caps the cache", "Bearer writer", "alice",
			[]string{arn + "*/pets/*", arn + "GET/pets/*"}, map[string]any{"client_id": "app-1", "tenant": "acme"}, time.Unix(exp, 0)},
		{"username when there is no sub; bearer in any case", "bearer reader", "bob",
			[]string{arn + "GET/pets/*"}, map[string]any{}, time.Time{}},
		{"client_id for a client-credentials token", "robot", "batch-job",
			[]string{arn + "GET/pets/*"}, map[string]any{"client_id": "batch-job"}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := b.Authorize(context.Background(), tokenRequest(tt.token))
			if err != nil {
				t.Fatal(err)
			}
			if resp.PrincipalID != tt.principal || !resp.ExpiresAt.Equal(tt.expires) {
				t.Errorf("principal %q expires %v, want %q %v", resp.PrincipalID, resp.ExpiresAt, tt.principal, tt.expires)
			}
			if got := resources(t, resp.PolicyDocument); strings.Join(got["Allow"], " ") != strings.Join(tt.allow, " ") || len(got["Deny"]) != 0 {
				t.Errorf("policy %v, want Allow %v", got, tt.allow)
			}
			if len(resp.Context) != len(tt.context) {
				t.Errorf("context %v, want %v", resp.Context, tt.context)
			}
			for k, v := range tt.context {
				if resp.Context[k] != v {
					t.Errorf("context %v, want %v", resp.Context, tt.context)
				}
			}
		})
	}
	// What went over the wire: the token without "Bearer ", and the hint.
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last.Get("token") != "robot" || e.last.Get("token_type_hint") != "access_token" {
		t.Errorf("form sent %v", e.last)
	}
}

func TestAuthorizeConfiguredPrincipalClaim(t *testing.T) {
	e := newEndpoint(t, map[string]string{"t": `{"active":true,"sub":"alice","email":"a@example.com"}`})
	b := newBackend(t, e.srv.URL, func(c *introspection.Config) { c.PrincipalIDClaim = "email" })
	resp, err := b.Authorize(context.Background(), tokenRequest("Bearer t"))
	if err != nil || resp.PrincipalID != "a@example.com" {
		t.Fatalf("got %+v, %v; want the email claim as principal", resp, err)
	}
	b = newBackend(t, e.srv.URL, func(c *introspection.Config) { c.PrincipalIDClaim = "missing" })
	if _, err := b.Authorize(context.Background(), tokenRequest("Bearer t")); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("err %v, want ErrUnauthorized when the principal claim is absent", err)
	}
}

// Every answer that says the token may not be used is a 401, never an allow.
func TestAuthorizeUnauthorized(t *testing.T) {
	e := newEndpoint(t, map[string]string{
		"expired": `{"active":true,"sub":"a","exp":` + jsonInt(now.Unix()) + `}`,
		"early":   `{"active":true,"sub":"a","nbf":` + jsonInt(now.Add(time.Minute).Unix()) + `}`,
		"refresh": `{"active":true,"sub":"a","token_type":"refresh_token"}`,
	})
	b := newBackend(t, e.srv.URL, nil)
	for _, token := range []string{"Bearer unknown", "Bearer expired", "Bearer early", "Bearer refresh", "Bearer ", ""} {
		t.Run(token, func(t *testing.T) {
			resp, err := b.Authorize(context.Background(), tokenRequest(token))
			if !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("got %+v, %v; want ErrUnauthorized", resp, err)
			}
		})
	}
}

// Anything but a 200 with an RFC 7662 answer fails closed: an error that is not
// ErrUnauthorized (the engine answers 500), and that never holds the token.
func TestAuthorizeFailsClosed(t *testing.T) {
	const token = "tok-SECRET-123"
	handler := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })
	tests := []struct {
		name    string
		handler http.Handler
		config  bool // ErrConfiguration rather than a plain failure
	}{
		{"our client credentials refused", handler(401, `{"error":"invalid_client"}`), false},
		{"server error", handler(500, "oops"), false},
		{"redirect, even to an answer that would allow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/active" {
				io.WriteString(w, `{"active":true,"sub":"elsewhere"}`)
				return
			}
			http.Redirect(w, r, "/active", http.StatusTemporaryRedirect)
		}), false},
		{"not JSON", handler(200, "<html>login</html>"), true},
		{"JSON array", handler(200, `[{"active":true}]`), true},
		{"no active member", handler(200, `{"sub":"alice"}`), true},
		{"active as a string", handler(200, `{"active":"true","sub":"alice"}`), true},
		{"trailing garbage", handler(200, `{"active":true,"sub":"a"} x`), true},
		{"too large", handler(200, `{"active":true,"sub":"`+strings.Repeat("a", authorizer.MaxResponseBytes)+`"}`), false},
		{"no answer before the timeout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Read to the end, so the server notices the client giving up (r.Context).
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-slow:
			case <-r.Context().Done():
			}
		}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			b := newBackend(t, srv.URL, func(c *introspection.Config) { c.Timeout = 200 * time.Millisecond })
			resp, err := b.Authorize(context.Background(), tokenRequest("Bearer "+token))
			if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("got %+v, %v; want a failure (500)", resp, err)
			}
			if errors.Is(err, authorizer.ErrConfiguration) != tt.config {
				t.Errorf("ErrConfiguration = %v, want %v: %v", !tt.config, tt.config, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error holds the token: %v", err)
			}
		})
	}
	t.Run("endpoint down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		b := newBackend(t, srv.URL, nil)
		if _, err := b.Authorize(context.Background(), tokenRequest("Bearer x")); err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
			t.Fatalf("err %v, want a failure", err)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	for name, cfg := range map[string]introspection.Config{
		"no url":               {ClientID: "c"},
		"ftp url":              {URL: "ftp://x/", ClientID: "c"},
		"credentials in url":   {URL: "https://u:p@x/", ClientID: "c"},
		"no client id":         {URL: "https://x/"},
		"timeout over the max": {URL: "https://x/", ClientID: "c", Timeout: time.Hour},
		"bad policy route":     {URL: "https://x/", ClientID: "c", Policy: []v1alpha1.PolicyRule{{Effect: "Allow", Routes: []string{"GET"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := introspection.New("opaque", cfg, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
