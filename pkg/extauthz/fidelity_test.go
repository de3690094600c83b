package extauthz

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
)

// engineFor builds an engine on cfg, "AUTHZ_URL" replaced by authzURL.
func engineFor(tb testing.TB, cfg, authzURL string, opts engine.Options) *engine.Engine {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(cfg, "AUTHZ_URL", authzURL)), 0o600); err != nil {
		tb.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{p}})
	if err != nil {
		tb.Fatal(err)
	}
	e, err := engine.New(snap, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// serveProduction serves srv over loopback gRPC with the codec the binary uses (the hand-written
// CheckRequest decoder), and returns a client of it.
func serveProduction(t testing.TB, srv *Server) authv3.AuthorizationClient {
	t.Helper()
	return extauthztest.Serve(t, NewGRPCServer(srv))
}

const requestAuthorizers = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: v1}
spec:
  type: REQUEST
  identitySource: method.request.header.Authorization
  payloadFormatVersion: "1.0"
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: v2}
spec:
  type: REQUEST
  identitySource: $request.header.Authorization
  payloadFormatVersion: "2.0"
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: api}
spec:
  protocol: HTTP
  region: us-east-1
  accountId: "123456789012"
  apiId: httpapi
  stage: prod
  hosts: [api.example.com]
  routes:
    - {path: /one, methods: [GET, POST], authorizer: v1}
    - {path: /two, methods: [GET], authorizer: v2}
    - {path: /open, methods: [GET], authorizer: NONE}
`

const allowAll = `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[` +
	`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`

// TestPayload2ContextHoldsArraysAndObjects: in payload format 2.0, context values may be arrays
// and objects, passed upstream JSON-encoded; 1.0 still refuses them as a configuration error.
func TestPayload2ContextHoldsArraysAndObjects(t *testing.T) {
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(allowAll + `,"context":{"groups":["a","b"],"org":{"id":7,"name":"acme"},"n":1.5}}`))
	}))
	defer authz.Close()
	client := serveProduction(t, New(engineFor(t, requestAuthorizers, authz.URL, engine.Options{}), Options{}))
	for i := range 2 { // the first allow encodes the answer, the second reads it from the cache
		resp, err := client.Check(context.Background(), check("api.example.com", "/two", map[string]string{"authorization": "t"}))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, h := range resp.GetOkResponse().GetHeaders() {
			got[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		if got["x-authorizer-groups"] != `["a","b"]` || got["x-authorizer-org"] != `{"id":7,"name":"acme"}` || got["x-authorizer-n"] != "1.5" {
			t.Fatalf("allow %d: upstream headers %v (response %v)", i+1, got, resp)
		}
		ctx := resp.GetDynamicMetadata().GetFields()["context"].GetStructValue().GetFields()
		if len(ctx["groups"].GetListValue().GetValues()) != 2 || ctx["org"].GetStructValue().GetFields()["name"].GetStringValue() != "acme" {
			t.Fatalf("allow %d: metadata context %v", i+1, ctx)
		}
	}
	resp, err := client.Check(context.Background(), check("api.example.com", "/one", map[string]string{"authorization": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.GetDeniedResponse(); d.GetStatus().GetCode() != 500 {
		t.Fatalf("payload 1.0 with an array context value: %v, want 500", resp)
	}
}

// TestPseudoHeadersMustAgree: a CheckRequest whose :method, :authority, :scheme or :path header
// says something else than the attribute the decision is made on is refused with 400, through
// the production codec, before any authorizer is asked.
func TestPseudoHeadersMustAgree(t *testing.T) {
	calls := 0
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.Write([]byte(allowAll + `}`))
	}))
	defer authz.Close()
	client := serveProduction(t, New(engineFor(t, requestAuthorizers, authz.URL, engine.Options{}), Options{}))
	tests := []struct {
		name   string
		edit   func(h *authv3.AttributeContext_HttpRequest)
		status int32
	}{
		{"all agree", func(h *authv3.AttributeContext_HttpRequest) {}, 0},
		{":method GET, method POST", func(h *authv3.AttributeContext_HttpRequest) { h.Method = "POST" }, 400},
		{":authority of another host", func(h *authv3.AttributeContext_HttpRequest) { h.Headers[":authority"] = "other.example.com" }, 400},
		{":scheme http, scheme https", func(h *authv3.AttributeContext_HttpRequest) { h.Headers[":scheme"] = "http" }, 400},
		{":path elsewhere", func(h *authv3.AttributeContext_HttpRequest) { h.Headers[":path"] = "/open" }, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := check("api.example.com", "/one", map[string]string{"authorization": "t", ":scheme": "https"})
			in.Attributes.Request.Http.Scheme = "https"
			tt.edit(in.Attributes.Request.Http)
			resp, err := client.Check(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			d := resp.GetDeniedResponse()
			if int32(d.GetStatus().GetCode()) != tt.status {
				t.Fatalf("status %v, want %d: %v", d.GetStatus(), tt.status, resp)
			}
			if tt.status == 400 && (codes.Code(resp.GetStatus().GetCode()) != codes.InvalidArgument || d.GetBody() != `{"message":"Bad Request"}`) {
				t.Fatalf("refusal: %v", resp)
			}
		})
	}
	if calls != 1 {
		t.Fatalf("the authorizer was asked %d times, want once (the agreeing request)", calls)
	}
}

// lockedBuffer is a log sink for one engine's handler.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestOneRequestID: the backend event, the x-amzn-requestid header and the decision log carry the
// same id: x-request-id when it is safe, else one fresh UUID.
func TestOneRequestID(t *testing.T) {
	var events []string
	var mu sync.Mutex
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ RequestContext struct{ RequestID string } }
		json.Unmarshal(body, &ev)
		mu.Lock()
		events = append(events, ev.RequestContext.RequestID)
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized) // never cached: every request calls the backend
	}))
	defer authz.Close()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	client := serveProduction(t, New(engineFor(t, requestAuthorizers, authz.URL, engine.Options{Logger: logger}), Options{}))
	tests := []struct {
		name, header string
		fresh        bool
	}{
		{"safe x-request-id", "req-42", false},
		{"no x-request-id", "", true},
		{"x-request-id with a newline", "a\nb", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{"authorization": "t" + tt.name}
			if tt.header != "" {
				headers["x-request-id"] = tt.header
			}
			resp, err := client.Check(context.Background(), check("api.example.com", "/one", headers))
			if err != nil {
				t.Fatal(err)
			}
			var answered string
			for _, h := range resp.GetDeniedResponse().GetHeaders() {
				if h.GetHeader().GetKey() == "x-amzn-requestid" {
					answered = h.GetHeader().GetValue()
				}
			}
			if _, err := uuid.Parse(answered); tt.fresh && err != nil || !tt.fresh && answered != tt.header {
				t.Fatalf("x-amzn-requestid %q", answered)
			}
			mu.Lock()
			event := events[i]
			mu.Unlock()
			if event != answered {
				t.Fatalf("event requestId %q, header %q", event, answered)
			}
			if !strings.Contains(logs.String(), `"request_id":"`+answered+`"`) {
				t.Fatalf("decision log lacks request_id %q:\n%s", answered, logs)
			}
		})
	}
}
