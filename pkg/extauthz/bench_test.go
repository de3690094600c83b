package extauthz

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/mem"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
)

// BenchmarkCheck measures the whole Check handler for a cached allow: request facts, routing,
// identity, cache, policy, and the CheckResponse, without the network.
func BenchmarkCheck(b *testing.B) { benchmarkCheck(b, "Allow") }

// BenchmarkCheckCachedDeny is BenchmarkCheck for an identity whose cached policy denies the route
// explicitly: the 403 is built from parts shared by every such denial.
func BenchmarkCheckCachedDeny(b *testing.B) { benchmarkCheck(b, "Deny") }

// BenchmarkCheckGatewayResponses is BenchmarkCheck on an Api with gateway responses configured:
// a cached allow must cost what it costs without them.
func BenchmarkCheckGatewayResponses(b *testing.B) { benchmarkCheckOn(b, "Allow", responsesConfig) }

// BenchmarkCheckCachedDenyGatewayResponses is BenchmarkCheckCachedDeny answered by a configured
// gateway response that reads nothing of the request: built at load, shared like a built-in one.
func BenchmarkCheckCachedDenyGatewayResponses(b *testing.B) {
	benchmarkCheckOn(b, "Deny", responsesConfig)
}

// responsesConfig is config1 with gateway responses on the rest Api, one of which (ACCESS_DENIED)
// answers the cached denial.
var responsesConfig = strings.Replace(config1, `  routes:
    - {path: /open, methods: [GET], authorizer: NONE}`, `  stageVariables: {login: "https://login.example.com/"}
  gatewayResponses:
    UNAUTHORIZED:
      statusCode: 302
      responseParameters: {gatewayresponse.header.Location: stageVariables.login}
    ACCESS_DENIED:
      responseParameters: {gatewayresponse.header.cache-control: "'no-store'"}
      responseTemplates: {application/json: '{"error":$context.error.messageString,"type":"$context.error.responseType"}'}
    DEFAULT_4XX:
      responseTemplates: {application/json: '{"message":$context.error.messageString,"id":"$context.requestId"}'}
  routes:
    - {path: /open, methods: [GET], authorizer: NONE}`, 1)

func benchmarkCheck(b *testing.B, effect string) { benchmarkCheckOn(b, effect, config1) }

func benchmarkCheckOn(b *testing.B, effect, cfg string) {
	srv, req := cachedServerOn(b, effect, cfg)
	if resp, _ := srv.Check(context.Background(), req); cfg == responsesConfig && effect == "Deny" &&
		resp.GetDeniedResponse().GetBody() != `{"error":"User is not authorized to access this resource with an explicit deny","type":"ACCESS_DENIED"}` {
		b.Fatalf("not the configured gateway response: %v", resp)
	}
	ctx := context.Background()
	want := effect == "Allow"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if resp, _ := srv.Check(ctx, req); (resp.GetOkResponse() != nil) != want {
			b.Fatalf("effect %s: got %v", effect, resp)
		}
	}
}

// BenchmarkCheckWire is BenchmarkCheck from the request's wire bytes to the response's: the
// codec's decoding of a sidecar's CheckRequest, the handler, and the codec's encoding, which is
// all the work of a Check that is Portcullis's rather than gRPC's.
func BenchmarkCheckWire(b *testing.B) {
	srv, _ := cachedServer(b, "Allow")
	in := extauthztest.Sidecar()
	in.Attributes.Request.Http.Host, in.Attributes.Request.Http.Path = "rest.example.com", "/closed"
	in.Attributes.Request.Http.Headers[":authority"], in.Attributes.Request.Http.Headers[":path"] = "rest.example.com", "/closed"
	in.Attributes.Request.Http.Headers["authorization"] = "Bearer bench-token"
	in.Attributes.ContextExtensions = nil
	data := mustMarshal(b, in)
	c := wire.Codec()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &authv3.CheckRequest{}
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(data)}, req); err != nil {
			b.Fatal(err)
		}
		resp, _ := srv.Check(ctx, req)
		if resp.GetOkResponse() == nil {
			b.Fatalf("not allowed: %v", resp)
		}
		out, err := c.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		out.Free()
	}
}

// cachedServer is a server whose answer for the returned request, a policy with effect on the
// route, is in its cache and has been served from it once.
func cachedServer(b *testing.B, effect string) (*Server, *authv3.CheckRequest) {
	return cachedServerOn(b, effect, config1)
}

func cachedServerOn(b *testing.B, effect, cfg string) (*Server, *authv3.CheckRequest) {
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"principalId":"bench-user","policyDocument":{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"` + effect + `","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:restapi/prod/*"}]},` +
			`"context":{"tenant":"acme","plan":"gold"}}`))
	}))
	b.Cleanup(authz.Close)
	// Metrics on, as serve runs it.
	reg := prometheus.NewRegistry()
	e := engineFor(b, strings.ReplaceAll(cfg, "http://127.0.0.1:1/authorize", "AUTHZ_URL"), authz.URL, engine.Options{Metrics: engine.NewMetrics(reg)})
	srv := New(e, Options{Registry: reg})
	req := check("rest.example.com", "/closed", map[string]string{
		"authorization": "Bearer bench-token", "user-agent": "bench", "x-request-id": "0f9c7c1e-2b55-4f43-a7a1-3d1f1b1a5e22",
		"accept": "*/*", "accept-encoding": "gzip",
	})
	for range 2 { // the backend's answer, then the first one from the cache
		if resp, _ := srv.Check(context.Background(), req); (resp.GetOkResponse() != nil) != (effect == "Allow") {
			b.Fatalf("effect %s: got %v", effect, resp)
		}
	}
	return srv, req
}

// cachedResponse is the response cachedServer sends for a cached answer with effect.
func cachedResponse(b *testing.B, effect string) *authv3.CheckResponse {
	srv, req := cachedServer(b, effect)
	resp, err := srv.Check(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

// BenchmarkIdentityMemory reports the heap each identity holds through the whole Check handler,
// response parts included: once after one Check per identity (one-off tokens) and again after a
// second Check each (tokens in use, whose response parts are kept). 100,000 identities, answered
// by a real HTTP authorizer with a principal per token and two context keys, share one policy.
// It runs once whatever b.N is.
func BenchmarkIdentityMemory(b *testing.B) {
	const identities = 100_000
	authz := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
		}
		json.NewDecoder(r.Body).Decode(&ev)
		fmt.Fprintf(w, `{"principalId":"user-%s","policyDocument":{"Version":"2012-10-17","Statement":[`+
			`{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:restapi/prod/*"}]},`+
			`"context":{"tenant":"acme","plan":"gold"}}`, strings.TrimPrefix(ev.AuthorizationToken, "Bearer "))
	}))
	defer authz.Close()
	srv := New(newEngineWith(b, authz.URL, engine.Options{CacheMaxBytes: 1 << 30}), Options{})
	ctx := context.Background()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	pass := func() {
		for i := range identities {
			req := check("rest.example.com", "/closed", map[string]string{"authorization": "Bearer " + strconv.Itoa(i)})
			if resp, _ := srv.Check(ctx, req); resp.GetOkResponse() == nil {
				b.Fatalf("identity %d not allowed: %v", i, resp)
			}
		}
	}
	before := heap()
	pass()
	once := heap()
	pass()
	twice := heap()
	b.ReportMetric(float64(once-before)/identities, "B/identity-once")
	b.ReportMetric(float64(twice-before)/identities, "B/identity-in-use")
	runtime.KeepAlive(srv)
}
