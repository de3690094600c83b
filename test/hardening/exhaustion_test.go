package hardening

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

const tokensConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 3600
  http: {url: "URL", timeout: 5s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: load}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: loadapi001
  stage: prod
  hosts: [load.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: "/x/{proxy+}", methods: [ANY]}
`

const loadArnPrefix = "arn:aws:execute-api:us-east-1:123456789012:loadapi001/prod/"

// oneOffBackend answers "Bearer tok-<n>" with an allow for user-<n> and counts the calls of each
// n, so a test can prove every token made exactly one call. policy builds the answer's policy.
type oneOffBackend struct {
	calls  []atomic.Int32
	policy func(n int) []statement
}

func (b *oneOffBackend) answer(w http.ResponseWriter, _ *http.Request, ev event, _ int64) {
	n, err := strconv.Atoi(strings.TrimPrefix(ev.AuthorizationToken, "Bearer tok-"))
	if err != nil || n < 0 || n >= len(b.calls) {
		http.Error(w, "unknown token", http.StatusUnauthorized)
		return
	}
	b.calls[n].Add(1)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(iamAnswer("user-"+strconv.Itoa(n), map[string]any{"tenant": "t" + strconv.Itoa(n%10), "plan": "gold"}, b.policy(n)...))
}

// sharedPolicies: 100 distinct policies among all tokens, as when policies follow roles.
func sharedPolicies(n int) []statement {
	return []statement{{"Allow", "execute-api:Invoke", fmt.Sprintf(loadArnPrefix+"GET/x/*/role-%d", n%100)},
		{"Allow", "execute-api:Invoke", loadArnPrefix + "GET/x/*"}}
}

// perUserPolicies: a distinct policy of 20 statements per token, as when a policy names the user.
func perUserPolicies(n int) []statement {
	st := make([]statement, 20)
	for i := range st {
		st[i] = statement{"Allow", "execute-api:Invoke", fmt.Sprintf(loadArnPrefix+"GET/x/user-%d/%d/*", n, i)}
	}
	return append(st, statement{"Allow", "execute-api:Invoke", loadArnPrefix + "GET/x/*"})
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// distinctTokensRun sends n one-off tokens through the pipeline with a cache bounded by
// cacheBytes, checks each answer and each token's single backend call, and returns the heap the
// run left behind.
func distinctTokensRun(t *testing.T, n int, cacheBytes int64, policy func(int) []statement) uint64 {
	backend := &oneOffBackend{calls: make([]atomic.Int32, n), policy: policy}
	// Not newAuthzServer: it keeps every event, which would weigh on the heap being measured.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		backend.answer(w, r, ev, 0)
	}))
	t.Cleanup(srv.Close)
	svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{CacheMaxBytes: cacheBytes})
	before := heapInUse()
	const workers = 16
	var next atomic.Int64
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				res, err := svc.try(httpReq{method: "GET", host: "load.example.com", path: "/x/" + strconv.Itoa(i),
					headers: map[string]string{"authorization": "Bearer tok-" + strconv.Itoa(i)}})
				counts.decisions.Add(1)
				if err != nil || !res.matches(wantAllow) {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	counts.attacks.Add(int64(n))
	if w := wrong.Load(); w != 0 {
		counts.wrong.Add(w)
		t.Errorf("%d of %d one-off tokens were not allowed", w, n)
	}
	for i := range backend.calls {
		if c := backend.calls[i].Load(); c != 1 {
			wrongDecision(t, "token %d made %d backend calls, want 1", i, c)
			break
		}
	}
	after := heapInUse()
	runtime.KeepAlive(svc)
	if after < before {
		return 0
	}
	return after - before
}

// heapAllowance is what the process may hold beyond the cache bound after a run: the cache's
// write-through map of recent answers (4,096 entries), ristretto's admission counters, gRPC and
// HTTP connection buffers.
const heapAllowance = 32 << 20

// TestDistinctTokensBoundedHeap sends 100,000 one-off tokens (10,000 under the race detector,
// 1,000,000 with -long): each makes exactly one backend call and is allowed, and the heap after
// the run stays within --cache-max-bytes plus a fixed allowance.
func TestDistinctTokensBoundedHeap(t *testing.T) {
	n := 100_000
	switch {
	case long():
		n = 1_000_000
	case raceEnabled:
		n = 10_000
	}
	const cacheBytes = 16 << 20
	grown := distinctTokensRun(t, n, cacheBytes, sharedPolicies)
	t.Logf("%d one-off tokens, 100 shared policies: heap grew %.1f MiB (cache bound %d MiB, allowance %d MiB)",
		n, float64(grown)/(1<<20), cacheBytes>>20, heapAllowance>>20)
	if grown > cacheBytes+heapAllowance {
		wrongDecision(t, "heap grew %.1f MiB after %d one-off tokens, bound %d MiB", float64(grown)/(1<<20), n, (cacheBytes+heapAllowance)>>20)
	}
}

// TestDistinctPoliciesBoundedHeap is TestDistinctTokensBoundedHeap with a distinct 21-statement
// policy per token, as when a backend names the user in the policy: the compiled policies must
// count against the cache bound too. 30,000 tokens fill the 16 MiB cache twice over.
func TestDistinctPoliciesBoundedHeap(t *testing.T) {
	n := 30_000
	switch {
	case long():
		n = 300_000
	case raceEnabled:
		n = 10_000
	}
	const cacheBytes = 16 << 20
	grown := distinctTokensRun(t, n, cacheBytes, perUserPolicies)
	if p, err := policy.Compile(iamPolicy(perUserPolicies(0))); err == nil {
		t.Logf("one compiled 21-statement policy: %d bytes by Policy.Size", p.Size())
	}
	t.Logf("%d one-off tokens, one 21-statement policy each: heap grew %.1f MiB (cache bound %d MiB, allowance %d MiB)",
		n, float64(grown)/(1<<20), cacheBytes>>20, heapAllowance>>20)
	if grown > cacheBytes+heapAllowance {
		wrongDecision(t, "heap grew %.1f MiB after %d one-off tokens, bound %d MiB", float64(grown)/(1<<20), n, (cacheBytes+heapAllowance)>>20)
	}
}

// TestOversizedRequests sends requests over the SPEC's header limit (64 KiB in total): 400.
func TestOversizedRequests(t *testing.T) {
	srv := newAuthzServer(t, answerWith(iamAnswer("alice", nil, allowAll())))
	svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
	many := func(count, valueLen int) map[string]string {
		h := map[string]string{"authorization": "Bearer big"}
		for i := range count {
			h[fmt.Sprintf("x-h%d", i)] = strings.Repeat("v", valueLen)
		}
		return h
	}
	var headerMap []*corev3.HeaderValue
	for i := range 100 {
		headerMap = append(headerMap, &corev3.HeaderValue{Key: "x-dup", RawValue: []byte(strings.Repeat("d", 700))}, &corev3.HeaderValue{Key: fmt.Sprintf("x-%d", i)})
	}
	headerMap = append(headerMap, &corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer big")})
	tests := []struct {
		name      string
		headers   map[string]string
		headerMap []*corev3.HeaderValue
		want      want
	}{
		{"control: headers under 64 KiB", many(60, 1000), nil, wantAllow},
		{"one header of 65 KiB", map[string]string{"authorization": "Bearer big", "x-big": strings.Repeat("b", 65<<10)}, nil, wantBadRequest},
		{"70 headers of 1,000 bytes", many(70, 1000), nil, wantBadRequest},
		{"10,000 empty headers", many(10_000, 0), nil, wantBadRequest},
		{"one header name of 65 KiB", map[string]string{"authorization": "Bearer big", strings.Repeat("n", 65<<10): "v"}, nil, wantBadRequest},
		{"header_map repeats joined past 64 KiB", nil, headerMap, wantBadRequest},
		{"a 2 MiB cookie", map[string]string{"authorization": "Bearer big", "cookie": strings.Repeat("c=1;", 512<<10)}, nil, wantBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			res := svc.check(t, httpReq{method: "GET", host: "load.example.com", path: "/x/1", headers: tt.headers, headerMap: tt.headerMap})
			expect(t, tt.name, res.verdict, tt.want)
		})
	}
	// Over gRPC's 4 MiB message limit the server refuses the message before Portcullis reads it:
	// a gRPC error, which Envoy turns into its status_on_error. The allocation stays bounded.
	t.Run("8 MiB of headers", func(t *testing.T) {
		counts.attacks.Add(1)
		counts.decisions.Add(1)
		req := httpReq{method: "GET", host: "load.example.com", path: "/x/1",
			headers: map[string]string{"authorization": "Bearer big", "x-huge": strings.Repeat("h", 8<<20)}}
		resp, err := svc.client.Check(t.Context(), req.checkRequest("huge"))
		switch {
		case err != nil && status.Code(err) == codes.ResourceExhausted:
		case err == nil && readVerdict(resp).matches(wantBadRequest):
		default:
			wrongDecision(t, "8 MiB of headers: %v %v, want 400 or gRPC ResourceExhausted", resp, err)
		}
	})
}
