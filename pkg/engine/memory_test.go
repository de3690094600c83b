package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

// BenchmarkMillionIdentities loads 1,000,000 distinct tokens whose answers share 100 distinct
// policies and reports the heap they hold (SPEC target: under 400 MiB) and the cache's count of
// interned policies. Each answer is as an HTTP backend decodes it: principal "user-N", a context
// decoded from JSON. The cache bound is what a million such answers are charged, plus 10%, as an
// operator would size --cache-max-bytes for them. It runs once whatever b.N is: it measures
// memory, not time.
func BenchmarkMillionIdentities(b *testing.B) {
	const identities, policies = 1_000_000, 100
	fb := newFake()
	fb.uncounted = true
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		n, _ := strconv.Atoi(req.Token[len("tok-"):])
		var ctx map[string]any
		if err := json.Unmarshal([]byte(`{"tenant":"acme"}`), &ctx); err != nil {
			return nil, err
		}
		return &authorizer.Response{
			PrincipalID:    "user-" + strconv.Itoa(n),
			PolicyDocument: policyFor("Allow", fmt.Sprintf("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/%d", n%policies)),
			Context:        ctx,
		}, nil
	}
	resp, err := fb.answer(&authorizer.Request{Token: "tok-999999"})
	if err != nil {
		b.Fatal(err)
	}
	sample := new(Answer)
	if err := (&Engine{names: newUpstreamNames("x-authorizer-"), interner: policy.NewInterner()}).compileAnswer(resp, sample); err != nil {
		b.Fatal(err)
	}
	sample.policyBytes = 0 // charged once per policy, not per identity
	bound := identities * sample.cost() * 11 / 10
	e := newTestEngine(b, fb, Options{CacheMaxBytes: bound})
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
	b.ReportMetric(float64(sample.cost()), "cost-B/identity")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/identities, "B/identity")
	runtime.KeepAlive(e)
}
