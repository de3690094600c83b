package extauthz

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

const config1 = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "http://127.0.0.1:1/authorize"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: rest}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: restapi
  stage: prod
  hosts: [rest.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /open, methods: [GET], authorizer: NONE}
    - {path: /closed, methods: [GET]}
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
  hosts: [http.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /closed, methods: [GET]}
`

func serve(t *testing.T, srv *Server) authv3.AuthorizationClient {
	return extauthztest.Serve(t, NewGRPCServer(srv))
}

func newEngine(t *testing.T) *engine.Engine { return newEngineWith(t, "", engine.Options{}) }

// newEngineWith builds an engine on config1 whose authorizer is at authzURL (empty: the
// unreachable placeholder), closed when the test ends.
func newEngineWith(tb testing.TB, authzURL string, opts engine.Options) *engine.Engine {
	tb.Helper()
	cfg := config1
	if authzURL != "" {
		cfg = strings.ReplaceAll(cfg, "http://127.0.0.1:1/authorize", authzURL)
	}
	p := filepath.Join(tb.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
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

func check(host, path string, headers map[string]string) *authv3.CheckRequest {
	return extauthztest.Request("GET", host, path, headers)
}

func TestCheckAnswers(t *testing.T) {
	client := serve(t, New(newEngine(t), Options{}))
	tests := []struct {
		name      string
		req       *authv3.CheckRequest
		code      codes.Code
		status    int32
		body      string
		errorType string
	}{
		{"NONE route is allowed", check("rest.example.com", "/open", nil), codes.OK, 0, "", ""},
		{"REST missing route", check("rest.example.com", "/nope", nil), codes.PermissionDenied, 403,
			`{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		{"HTTP API missing route is Not Found", check("http.example.com", "/nope", nil), codes.PermissionDenied, 404,
			`{"message":"Not Found"}`, "MissingAuthenticationTokenException"},
		{"REST missing token", check("rest.example.com", "/closed", nil), codes.Unauthenticated, 401,
			`{"message":"Unauthorized"}`, "UnauthorizedException"},
		{"HTTP API missing token", check("http.example.com", "/closed", nil), codes.Unauthenticated, 401,
			`{"message":"Unauthorized"}`, "UnauthorizedException"},
		{"REST unreachable backend", check("rest.example.com", "/closed", map[string]string{"authorization": "x"}),
			codes.Unavailable, 500, `{"message":null}`, "AuthorizerFailureException"},
		{"HTTP API unreachable backend", check("http.example.com", "/closed", map[string]string{"authorization": "x"}),
			codes.Unavailable, 500, `{"message":"Internal Server Error"}`, "AuthorizerFailureException"},
		{"bad path", check("rest.example.com", "/a/%2e%2e/open", nil), codes.InvalidArgument, 400, `{"message":"Bad Request"}`, ""},
		{"no http attributes", &authv3.CheckRequest{}, codes.InvalidArgument, 400, `{"message":"Bad Request"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Check(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("gRPC error %v: Portcullis must always answer with a CheckResponse", err)
			}
			if got := codes.Code(resp.GetStatus().GetCode()); got != tt.code {
				t.Fatalf("code = %s, want %s", got, tt.code)
			}
			if tt.code == codes.OK {
				return
			}
			d := resp.GetDeniedResponse()
			if int32(d.GetStatus().GetCode()) != tt.status || d.GetBody() != tt.body {
				t.Fatalf("got %d %s, want %d %s", d.GetStatus().GetCode(), d.GetBody(), tt.status, tt.body)
			}
			headers := map[string]string{}
			for _, h := range d.GetHeaders() {
				headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
			}
			if headers["content-type"] != "application/json" || headers["x-amzn-requestid"] == "" || headers["x-amzn-errortype"] != tt.errorType {
				t.Fatalf("headers = %v", headers)
			}
		})
	}
}

func TestCheckRemovesSpoofedHeadersOnNoneRoutes(t *testing.T) {
	client := serve(t, New(newEngine(t), Options{}))
	resp, err := client.Check(context.Background(), check("rest.example.com", "/open",
		map[string]string{"x-authorizer-principal-id": "admin", "x-authorizer-role": "root"}))
	if err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{}
	for _, h := range resp.GetOkResponse().GetHeadersToRemove() {
		removed[h] = true
	}
	if !removed["x-authorizer-principal-id"] || !removed["x-authorizer-role"] || len(resp.GetOkResponse().GetHeaders()) != 0 {
		t.Fatalf("ok response = %v", resp.GetOkResponse())
	}
}

func TestCheckRecoversFromPanic(t *testing.T) {
	// An engine with no snapshot panics on the first lookup; the front must answer 500.
	e, err := engine.New(nil, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	client := serve(t, New(e, Options{}))
	resp, err := client.Check(context.Background(), check("rest.example.com", "/open", nil))
	if err != nil {
		t.Fatalf("gRPC error %v", err)
	}
	if d := resp.GetDeniedResponse(); d.GetStatus().GetCode() != 500 {
		t.Fatalf("status = %v, want 500", d.GetStatus())
	}
}

func TestMaxInflightSheds(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		w.Write([]byte(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`))
	}))
	defer authz.Close()
	defer close(release)
	client := serve(t, New(newEngineWith(t, authz.URL, engine.Options{}), Options{MaxInflight: 1}))
	go client.Check(context.Background(), check("rest.example.com", "/closed", map[string]string{"authorization": "slow"}))
	<-entered
	resp, err := client.Check(context.Background(), check("rest.example.com", "/open", nil))
	if err != nil {
		t.Fatal(err)
	}
	d := resp.GetDeniedResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.ResourceExhausted || d.GetStatus().GetCode() != 429 ||
		d.GetBody() != `{"message":"Too Many Requests"}` {
		t.Fatalf("over the limit: %v", resp)
	}
}

// TestCheckRemovesUnderscoreSpellings proves a client cannot pass x_authorizer_* past the strip
// to an upstream that reads '_' as '-'.
func TestCheckRemovesUnderscoreSpellings(t *testing.T) {
	client := serve(t, New(newEngine(t), Options{}))
	resp, err := client.Check(context.Background(), check("rest.example.com", "/open",
		map[string]string{"x_authorizer_principal_id": "admin", "x_authorizer-role": "root", "x-authorized": "kept"}))
	if err != nil {
		t.Fatal(err)
	}
	removed := resp.GetOkResponse().GetHeadersToRemove()
	slices.Sort(removed)
	if want := []string{"x_authorizer-role", "x_authorizer_principal_id"}; !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
}

// TestAllowCarriesAnswerParts reads allows over gRPC as Envoy does and compares each with the
// response built field by field: the answer's pre-encoded headers and metadata must arrive as
// the headers and map entries they are, on the first allow (encoded, not kept), the second (kept)
// and the third (read from the answer).
func TestAllowCarriesAnswerParts(t *testing.T) {
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},"context":{"tenant":"acme","level":3,"ok":true}}`))
	}))
	defer authz.Close()
	client := serve(t, New(newEngineWith(t, authz.URL, engine.Options{}), Options{}))
	ctxValue, _ := structpb.NewStruct(map[string]any{"tenant": "acme", "level": 3.0, "ok": true})
	for i, cached := range []bool{false, true, true} {
		got, err := client.Check(context.Background(), check("rest.example.com", "/closed", map[string]string{
			"authorization": "Bearer t", "x-request-id": "req-1", "x_authorizer_role": "spoofed"}))
		if err != nil {
			t.Fatal(err)
		}
		want := &authv3.CheckResponse{
			Status: &status.Status{},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{
					header("x-authorizer-principal-id", "alice"),
					header("x-authorizer-level", "3"),
					header("x-authorizer-ok", "true"),
					header("x-authorizer-tenant", "acme"),
				},
				HeadersToRemove:      []string{"x_authorizer_role"},
				ResponseHeadersToAdd: []*corev3.HeaderValueOption{header("x-amzn-requestid", "req-1")},
			}},
			DynamicMetadata: &structpb.Struct{Fields: map[string]*structpb.Value{
				"api":         structpb.NewStringValue("rest"),
				"authorizer":  structpb.NewStringValue("tokens"),
				"principalId": structpb.NewStringValue("alice"),
				"context":     structpb.NewStructValue(ctxValue),
				"cached":      structpb.NewBoolValue(cached),
			}},
		}
		if !proto.Equal(got, want) {
			t.Fatalf("allow %d:\n got %v\nwant %v", i+1, got, want)
		}
	}
}

// TestAllowHasOneMetadataField: on the wire, an allow carries its dynamic metadata as one
// CheckResponse field, so Envoy (and any reader) parses one Struct rather than merging two.
func TestAllowHasOneMetadataField(t *testing.T) {
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"k":"v"}}`))
	}))
	defer authz.Close()
	srv := New(newEngineWith(t, authz.URL, engine.Options{}), Options{})
	for i, cached := range []bool{false, true, true} {
		resp, err := srv.Check(context.Background(), check("rest.example.com", "/closed", map[string]string{"authorization": "t"}))
		if err != nil || resp.GetOkResponse() == nil {
			t.Fatalf("allow %d: %v %v", i+1, resp, err)
		}
		data, err := wire.Codec().Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		fields := 0
		parsed := eachField(data.Materialize(), func(num protowire.Number, _ protowire.Type, _ []byte) bool {
			if num == 4 { // dynamic_metadata
				fields++
			}
			return true
		})
		if !parsed {
			t.Fatalf("allow %d: the response does not parse", i+1)
		}
		var got authv3.CheckResponse
		if err := proto.Unmarshal(data.Materialize(), &got); err != nil {
			t.Fatal(err)
		}
		md := got.GetDynamicMetadata().GetFields()
		if fields != 1 || md["cached"].GetBoolValue() != cached || md["principalId"].GetStringValue() != "p" {
			t.Fatalf("allow %d: %d dynamic_metadata fields, metadata %v; want 1, cached %v", i+1, fields, md, cached)
		}
	}
}

// allowingEngine is an engine whose backend allows everything to principal p, and a request it
// decides.
func allowingEngine(t *testing.T) (*engine.Engine, *request.Request) {
	t.Helper()
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`))
	}))
	t.Cleanup(authz.Close)
	req, err := request.FromCheck(check("rest.example.com", "/closed", map[string]string{"authorization": "t"}), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return newEngineWith(t, authz.URL, engine.Options{}), req
}

// TestRenderingKeptFromSecondAllow: a token seen once leaves no encoded parts with its answer;
// the first allow served from the cache keeps them for the ones after.
func TestRenderingKeptFromSecondAllow(t *testing.T) {
	e, req := allowingEngine(t)
	for i, wantKept := range []bool{false, true} {
		d := e.Decide(context.Background(), req)
		if _, err := allow(d, req, "id"); err != nil || d.Answer == nil {
			t.Fatalf("allow %d: %v %v", i+1, d.Outcome, err)
		}
		if kept := d.Answer.Rendered() != nil; kept != wantKept {
			t.Fatalf("after allow %d (cached %v): parts kept %v, want %v", i+1, d.Cached, kept, wantKept)
		}
	}
}

// An answer's kept parts say cached: true; an allow of the same answer that did not come from
// the cache (a request that waited for another one's backend call) must not borrow them.
func TestKeptRenderingOnlyForCachedAllows(t *testing.T) {
	e, req := allowingEngine(t)
	var d *engine.Decision
	for range 2 { // the backend's answer, then the first from the cache, which keeps the parts
		d = e.Decide(context.Background(), req)
		if _, err := allow(d, req, "id"); err != nil {
			t.Fatal(err)
		}
	}
	if d.Answer.Rendered() == nil {
		t.Fatal("parts not kept")
	}
	fresh := *d
	fresh.Cached = false
	resp, err := allow(&fresh, req, "id")
	if err != nil {
		t.Fatal(err)
	}
	data, err := wire.Codec().Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var got authv3.CheckResponse
	if err := proto.Unmarshal(data.Materialize(), &got); err != nil {
		t.Fatal(err)
	}
	if md := got.GetDynamicMetadata().GetFields(); md["cached"] == nil || md["cached"].GetBoolValue() {
		t.Fatalf("an allow not from the cache says cached %v", md["cached"])
	}
}

// Denials share their constant parts; each keeps its own request id, and building one never
// changes the parts another response holds.
func TestDenialsShareOnlyConstantParts(t *testing.T) {
	d := &engine.Decision{Outcome: engine.Unauthorized, Protocol: config.REST, JWT: true}
	first := deny(d, nil, "req-1")
	second := deny(d, nil, "req-2")
	ids := func(r *authv3.CheckResponse) []string {
		var out []string
		for _, h := range r.GetDeniedResponse().GetHeaders() {
			out = append(out, h.GetHeader().GetKey()+"="+h.GetHeader().GetValue())
		}
		return out
	}
	want1 := []string{"content-type=application/json", "x-amzn-requestid=req-1", "x-amzn-errortype=UnauthorizedException", "www-authenticate=Bearer"}
	if got := ids(first); !slices.Equal(got, want1) {
		t.Fatalf("first denial headers %v, want %v", got, want1)
	}
	if got := ids(second); got[1] != "x-amzn-requestid=req-2" {
		t.Fatalf("second denial headers %v", got)
	}
	if n := len(gatewayresponse.Default(gatewayresponse.Unauthorized, true).Kept(gatewayresponse.GRPC).(*denyParts).headers); n != 3 {
		t.Fatalf("shared parts changed: %d headers", n)
	}
	httpSet, errs := gatewayresponse.Compile(nil, gatewayresponse.Api{Protocol: "HTTP"})
	if errs != nil {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		d    engine.Decision
		code int32
		http typev3.StatusCode
	}{
		{engine.Decision{Outcome: engine.Allow}, int32(codes.Unavailable), 500},        // never a weaker answer
		{engine.Decision{Outcome: engine.Outcome(200)}, int32(codes.Unavailable), 500}, // outside the table
		{engine.Decision{Outcome: engine.MissingToken, Protocol: config.HTTP, Responses: httpSet}, int32(codes.PermissionDenied), 404},
		{engine.Decision{Outcome: engine.URITooLong}, int32(codes.InvalidArgument), 414},
	} {
		r := deny(&tc.d, nil, "x")
		if r.GetStatus().GetCode() != tc.code || r.GetDeniedResponse().GetStatus().GetCode() != tc.http {
			t.Errorf("outcome %d %s: gRPC %d HTTP %d, want %d %d", tc.d.Outcome, tc.d.Protocol, r.GetStatus().GetCode(), r.GetDeniedResponse().GetStatus().GetCode(), tc.code, tc.http)
		}
	}
}

// The engine reuses a Decision's memory once Check has built its response, and zeroes it before
// Check returns. A response that borrowed a string from it would show NULs as soon as it is
// returned, and other requests' bytes later: every string of every response must be whole when
// Check returns, and still the same after many more Checks.
func TestResponsesOutliveTheirReleasedDecisions(t *testing.T) {
	e, _ := allowingEngine(t)
	s := New(e, Options{})
	ctx := context.Background()
	requests := []*authv3.CheckRequest{
		check("rest.example.com", "/closed", map[string]string{"authorization": "t", "x-request-id": "r1"}),
		check("rest.example.com", "/open", map[string]string{"x-request-id": "r2"}),
		check("rest.example.com", "/closed", map[string]string{"x-request-id": "r3"}),
		check("rest.example.com", "/open/deeper/path", map[string]string{"x-request-id": "r4"}),
		check("rest.example.com", "/closed", map[string]string{"authorization": "t", "x-request-id": "r5"}),
	}
	// The first makes the backend call and the last is answered from the cache: every Decision,
	// that of the backend call included, goes back to the pool.
	held := make([]*authv3.CheckResponse, len(requests))
	wires := make([][]byte, len(requests))
	for i, in := range requests {
		held[i], _ = s.Check(ctx, in)
		wires[i] = deterministic(t, reparsed(t, held[i]))
		eachString(reparsed(t, held[i]).ProtoReflect(), func(v string) {
			if strings.ContainsRune(v, 0) {
				t.Errorf("response %d holds a zeroed string %q: it borrowed the released Decision's memory", i, v)
			}
		})
	}
	for i := range 50 {
		s.Check(ctx, requests[i%len(requests)])
	}
	for i := range held {
		if !bytes.Equal(deterministic(t, reparsed(t, held[i])), wires[i]) {
			t.Errorf("response %d changed after later Checks: %v", i, held[i])
		}
	}
}

// reparsed is m encoded and decoded again, so that the parts a response carries encoded (as
// unknown fields) are fields again.
func reparsed(t *testing.T, m *authv3.CheckResponse) *authv3.CheckResponse {
	t.Helper()
	out := &authv3.CheckResponse{}
	if err := proto.Unmarshal(mustMarshal(t, m), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// eachString calls visit with every string in m: fields, lists, map keys and values, nested.
func eachString(m protoreflect.Message, visit func(string)) {
	value := func(fd protoreflect.FieldDescriptor, v protoreflect.Value) {
		switch {
		case fd.Kind() == protoreflect.StringKind:
			visit(v.String())
		case fd.Message() != nil:
			eachString(v.Message(), visit)
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				value(fd, v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(k.String())
				value(fd.MapValue(), mv)
				return true
			})
		default:
			value(fd, v)
		}
		return true
	})
}

// deterministic encodes m with its map entries in order, so that equal messages give equal bytes.
func deterministic(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
