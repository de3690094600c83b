package engine

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// BenchmarkMillionIdentities loads 1,000,000 distinct tokens whose answers share 100 distinct
// policies and reports the heap they hold (SPEC target: under 400 MiB) and the cache's count of
// interned policies. It runs once whatever b.N is: it measures memory, not time.
func BenchmarkMillionIdentities(b *testing.B) {
	const identities, policies = 1_000_000, 100
	fb := newFake()
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		n, _ := strconv.Atoi(req.Token[len("tok-"):])
		return &authorizer.Response{
			PrincipalID:    "user-" + strconv.Itoa(n),
			PolicyDocument: policyFor("Allow", fmt.Sprintf("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/%d", n%policies)),
			Context:        map[string]any{"tenant": "acme"},
		}, nil
	}
	e := newTestEngine(b, fb, Options{CacheMaxBytes: 1 << 30})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := req("GET", "api.example.com", "/v1/pets/1", map[string]string{})
	ctx := context.Background()
	for i := range identities {
		r.Headers["authorization"] = "tok-" + strconv.Itoa(i)
		if d := e.Decide(ctx, r); d.Answer == nil {
			b.Fatalf("identity %d: %s %v", i, d.Outcome, d.Err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "MiB-heap")
	b.ReportMetric(float64(e.interner.Len()), "policies")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/identities, "B/identity")
	runtime.KeepAlive(e)
}
