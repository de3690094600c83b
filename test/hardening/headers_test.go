package hardening

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

const headersConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "URL", timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: spoof}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: spoofapi01
  stage: prod
  hosts: [spoof.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /open, methods: [GET], authorizer: NONE}
    - {path: /closed, methods: [ANY]}
`

const prefix = engine.DefaultHeaderPrefix

// answerBook is a backend whose answer depends on the token: "Bearer <name>" gets book[name],
// anything else the default allow for alice with context tier=gold.
type answerBook struct {
	mu    sync.Mutex
	book  map[string][]byte
	calls map[string]int
}

func (a *answerBook) set(name string, body []byte) {
	a.mu.Lock()
	a.book[name] = body
	a.mu.Unlock()
}

func (a *answerBook) callsFor(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[name]
}

func (a *answerBook) answer(w http.ResponseWriter, _ *http.Request, ev event, _ int64) {
	name := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	a.mu.Lock()
	a.calls[name]++
	body, ok := a.book[name]
	a.mu.Unlock()
	if !ok {
		body = iamAnswer("alice", map[string]any{"tier": "gold"}, allowAll())
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func newHeadersRig(t *testing.T) (*service, *answerBook) {
	t.Helper()
	book := &answerBook{book: map[string][]byte{}, calls: map[string]int{}}
	backend := newAuthzServer(t, book.answer)
	return startService(t, strings.Replace(headersConfig, "URL", backend.URL, 1), engine.Options{}), book
}

// checkUpstream verifies what the upstream receives after an allow, in both orders in which Envoy
// may apply the answer: every header Portcullis set arrives with Portcullis's value, and no client
// value survives under a name that carries the prefix, compared as CGI-style upstreams compare
// names (case-insensitive, '_' and '-' the same).
func checkUpstream(t *testing.T, client map[string]string, res result, wantOwn map[string]string) {
	t.Helper()
	ok := res.resp.GetOkResponse()
	own := map[string]string{}
	for _, h := range ok.GetHeaders() {
		own[strings.ToLower(h.GetHeader().GetKey())] = h.GetHeader().GetValue()
	}
	for name, value := range wantOwn {
		if own[name] != value {
			wrongDecision(t, "Portcullis set %s = %q, want %q", name, own[name], value)
		}
	}
	ownByCGI := map[string]string{}
	for name, value := range own {
		ownByCGI[cgiName(name)] = value
	}
	for _, removeFirst := range []bool{false, true} {
		got := upstreamHeaders(client, ok, removeFirst)
		for name, values := range got {
			if !strings.HasPrefix(cgiName(name), cgiName(prefix)) {
				continue
			}
			want, set := ownByCGI[cgiName(name)]
			if !set || len(values) != 1 || values[0] != want || own[name] != want {
				wrongDecision(t, "upstream (remove first: %v) gets %s: %q; Portcullis's value: %q (set: %v)",
					removeFirst, name, values, want, set)
			}
		}
	}
}

// TestClientSpoofedHeaders sends client copies of the headers Portcullis passes upstream, in every
// case and duplicated, on a NONE route and on an allowed route. None may reach the upstream.
func TestClientSpoofedHeaders(t *testing.T) {
	svc, _ := newHeadersRig(t)
	tests := []struct {
		name      string
		headers   map[string]string
		headerMap []*corev3.HeaderValue
	}{
		{"principal id, lower-case", map[string]string{"x-authorizer-principal-id": "admin"}, nil},
		{"principal id, canonical case", map[string]string{"X-Authorizer-Principal-Id": "admin"}, nil},
		{"principal id, upper-case", map[string]string{"X-AUTHORIZER-PRINCIPAL-ID": "admin"}, nil},
		{"context name the backend also sets", map[string]string{"x-authorizer-tier": "platinum"}, nil},
		{"context name the backend does not set", map[string]string{"X-AUTHORIZER-ROLE": "root"}, nil},
		{"prefix alone", map[string]string{"x-authorizer-": "x"}, nil},
		{"many spoofed names at once", map[string]string{
			"x-authorizer-principal-id": "admin", "x-authorizer-role": "root", "X-Authorizer-Tier": "platinum",
			"x-authorizer-groups": "admins", "X-AUTHORIZER-SCOPES": "*"}, nil},
		{"duplicates joined by Envoy with a comma", map[string]string{"x-authorizer-principal-id": "admin,alice"}, nil},
		{"duplicates in header_map", nil, []*corev3.HeaderValue{
			{Key: "x-authorizer-principal-id", RawValue: []byte("admin")},
			{Key: "X-Authorizer-Principal-Id", RawValue: []byte("root")},
			{Key: "x-authorizer-role", RawValue: []byte("root")},
			{Key: "x-authorizer-role", RawValue: []byte("admin")}}},
		{"underscores for dashes", map[string]string{"x_authorizer_principal_id": "admin"}, nil},
		{"one underscore", map[string]string{"x-authorizer_principal-id": "admin"}, nil},
	}
	routes := []struct {
		path    string
		wantOwn map[string]string
	}{
		{"/open", nil},
		{"/closed", map[string]string{prefix + "principal-id": "alice", prefix + "tier": "gold"}},
	}
	for _, tt := range tests {
		for _, route := range routes {
			t.Run(tt.name+" on "+route.path, func(t *testing.T) {
				counts.attacks.Add(1)
				client := map[string]string{"authorization": "Bearer spoofer"}
				for k, v := range tt.headers {
					client[k] = v
				}
				req := httpReq{method: "GET", host: "spoof.example.com", path: route.path, headers: client}
				if tt.headerMap != nil {
					req.headerMap = append([]*corev3.HeaderValue{{Key: "authorization", RawValue: []byte("Bearer spoofer")}}, tt.headerMap...)
					client = map[string]string{"authorization": "Bearer spoofer"}
					for _, h := range tt.headerMap {
						client[strings.ToLower(h.GetKey())] = string(h.GetRawValue())
					}
				}
				res := svc.check(t, req)
				if !expect(t, route.path, res.verdict, wantAllow) {
					return
				}
				if route.wantOwn == nil && len(res.resp.GetOkResponse().GetHeaders()) != 0 {
					wrongDecision(t, "NONE route passes headers upstream: %v", res.resp.GetOkResponse().GetHeaders())
				}
				checkUpstream(t, client, res, route.wantOwn)
			})
		}
	}
}

// TestBackendContextHeaderNames gives the backend context keys that look like pseudo-headers,
// hop-by-hop headers, or the principal header. Each becomes a header under the prefix, or is
// dropped; none replaces the principal or leaves the prefix.
func TestBackendContextHeaderNames(t *testing.T) {
	svc, book := newHeadersRig(t)
	tests := []struct {
		name   string
		key    string
		header string // the header the key becomes; "" when it must be dropped
	}{
		{"pseudo-header :path", ":path", prefix + "-path"},
		{"pseudo-header :authority", ":authority", prefix + "-authority"},
		{"host", "host", prefix + "host"},
		{"hop-by-hop connection", "connection", prefix + "connection"},
		{"hop-by-hop transfer-encoding", "Transfer-Encoding", prefix + "transfer-encoding"},
		{"the principal header's own suffix", "principal-id", ""},
		{"the principal header's suffix, upper-case", "PRINCIPAL-ID", ""},
		{"the whole principal header name", prefix + "principal-id", prefix + prefix + "principal-id"},
		{"principal with an underscore", "Principal_ID", ""},
		{"empty key", "", prefix + "-"},
		{"key with CRLF", "role\r\nx-injected: yes", prefix + "role--x-injected--yes"},
		{"key with a space and a colon", "a b:c", prefix + "a-b-c"},
		{"non-ASCII key", "r\u00f4le", prefix + "r--le"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			token := fmt.Sprintf("ctx-%q", tt.key)
			book.set(token, iamAnswer("alice", map[string]any{tt.key: "spoofed"}, allowAll()))
			res := svc.check(t, httpReq{method: "GET", host: "spoof.example.com", path: "/closed",
				headers: map[string]string{"authorization": "Bearer " + token}})
			if !expect(t, "context key "+tt.key, res.verdict, wantAllow) {
				return
			}
			checkOwnHeaders(t, res, "alice")
			got := map[string]string{}
			for _, h := range res.resp.GetOkResponse().GetHeaders() {
				got[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
			}
			if tt.header != "" && got[tt.header] != "spoofed" {
				wrongDecision(t, "context key %q: headers %v, want %s: spoofed", tt.key, got, tt.header)
			}
			if tt.header == "" && len(got) != 1 {
				wrongDecision(t, "context key %q must be dropped: headers %v", tt.key, got)
			}
		})
	}
}

// checkOwnHeaders checks every header of an allow: under the prefix, a valid name and value, the
// principal exactly once, and no other header one that CGI-style upstreams read as the principal.
func checkOwnHeaders(t *testing.T, res result, principal string) {
	t.Helper()
	principalName := prefix + "principal-id"
	seen := 0
	var names []string
	for _, h := range res.resp.GetOkResponse().GetHeaders() {
		k, v := h.GetHeader().GetKey(), h.GetHeader().GetValue()
		names = append(names, k)
		if !strings.HasPrefix(k, prefix) || !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			wrongDecision(t, "header %q: %q leaves the prefix or is not a valid header", k, v)
		}
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			wrongDecision(t, "header %q has append action %s, want OVERWRITE_IF_EXISTS_OR_ADD", k, h.GetAppendAction())
		}
		if cgiName(k) == cgiName(principalName) {
			seen++
			if k != principalName || v != principal {
				wrongDecision(t, "header %q: %q is read as the principal, want only %s: %s", k, v, principalName, principal)
			}
		}
	}
	if seen != 1 {
		sort.Strings(names)
		wrongDecision(t, "principal header present %d times in %v", seen, names)
	}
}

// TestBackendHeaderInjection gives the backend principal IDs and context values that would inject
// headers if passed on. Portcullis refuses the whole answer: 500 AuthorizerConfigurationException,
// not cached.
func TestBackendHeaderInjection(t *testing.T) {
	svc, book := newHeadersRig(t)
	tests := []struct {
		name      string
		principal string
		context   map[string]any
		want      want
	}{
		{"CRLF in principalId", "alice\r\nx-authorizer-role: admin", nil, wantConfiguration},
		{"LF in principalId", "alice\nx-authorizer-role: admin", nil, wantConfiguration},
		{"CR in principalId", "alice\rx", nil, wantConfiguration},
		{"NUL in principalId", "alice\x00admin", nil, wantConfiguration},
		{"DEL in principalId", "alice\x7f", nil, wantConfiguration},
		{"CRLF in a context value", "alice", map[string]any{"role": "user\r\nx-authorizer-principal-id: admin"}, wantConfiguration},
		{"LF in a context value", "alice", map[string]any{"role": "user\nSet-Cookie: a=b"}, wantConfiguration},
		{"NUL in a context value", "alice", map[string]any{"role": "user\x00admin"}, wantConfiguration},
		{"vertical tab in a context value", "alice", map[string]any{"role": "user\vadmin"}, wantConfiguration},
		{"escape in a context value", "alice", map[string]any{"role": "\x1b[31m"}, wantConfiguration},
		{"context value over 8 KiB", "alice", map[string]any{"blob": strings.Repeat("x", 8<<10+1)}, wantConfiguration},
		{"principalId over 8 KiB", strings.Repeat("p", 8<<10+1), nil, wantConfiguration},
		{"object context value in payload 1.0", "alice", map[string]any{"nested": map[string]any{"a": "b"}}, wantConfiguration},
		{"control: tab is a valid header character", "alice", map[string]any{"role": "a\tb"}, wantAllow},
		{"control: number and boolean values", "alice", map[string]any{"n": 42, "ok": true}, wantAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			token := "inject-" + strings.ReplaceAll(tt.name, " ", "-")
			book.set(token, iamAnswer(tt.principal, tt.context, allowAll()))
			req := httpReq{method: "GET", host: "spoof.example.com", path: "/closed",
				headers: map[string]string{"authorization": "Bearer " + token}}
			for i := 1; i <= 2; i++ {
				res := svc.check(t, req)
				expect(t, fmt.Sprintf("request %d", i), res.verdict, tt.want)
				if res.code == codes.OK {
					checkOwnHeaders(t, res, tt.principal)
				}
			}
			// An allow is cached; a refused answer is asked again.
			wantCalls := 2
			if tt.want == wantAllow {
				wantCalls = 1
			}
			if got := book.callsFor(token); got != wantCalls {
				wrongDecision(t, "backend called %d times for two requests, want %d", got, wantCalls)
			}
		})
	}
}

// TestRequestIDInjection sends x-request-id values that would inject response headers if echoed
// as x-amzn-requestid.
func TestRequestIDInjection(t *testing.T) {
	svc, _ := newHeadersRig(t)
	for _, id := range []string{"id\r\nSet-Cookie: a=b", "id\x00Set-Cookie: a=b", "id\nSet-Cookie: a=b", "id\rSet-Cookie: a=b"} {
		for _, path := range []string{"/open", "/closed", "/missing"} {
			counts.attacks.Add(1)
			req := httpReq{method: "GET", host: "spoof.example.com", path: path,
				headers: map[string]string{"x-request-id": id, "authorization": "Bearer rid"}}
			resp, err := svc.client.Check(t.Context(), req.checkRequest(id))
			if err != nil {
				t.Fatalf("gRPC error %v", err)
			}
			var echoed []string
			for _, h := range resp.GetOkResponse().GetResponseHeadersToAdd() {
				echoed = append(echoed, h.GetHeader().GetValue())
			}
			for _, h := range resp.GetDeniedResponse().GetHeaders() {
				echoed = append(echoed, h.GetHeader().GetValue())
			}
			counts.decisions.Add(1)
			for _, v := range echoed {
				if strings.Contains(v, "Set-Cookie") || !httpguts.ValidHeaderFieldValue(v) {
					wrongDecision(t, "%s: x-request-id %.40q echoed as %.40q", path, id, v)
				}
			}
		}
	}
}
