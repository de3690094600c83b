package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/cache/shared"
	"github.com/portcullis-dev/portcullis/pkg/cache/shared/sharedtest"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/identity"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

var sharedSecret = []byte("engine-test-secret-of-at-least-32-bytes")

// replicas are engines over one fake backend and one real Redis, as replicas of one deployment
// are: each its own snapshot, cache and tier client.
func replicas(t testing.TB, r *sharedtest.Redis, fb *fakeBackend, n int) []*Engine {
	return replicasWith(t, r, fb, n, Options{})
}

func replicasWith(t testing.TB, r *sharedtest.Redis, fb *fakeBackend, n int, opts Options) []*Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make([]*Engine, n)
	for i := range out {
		// A timeout a loaded machine does not reach: these tests count backend calls exactly
		// (shared_test.go in pkg/cache/shared tests the timeout itself).
		tier, err := shared.New(shared.Options{URL: r.URL(), Secret: sharedSecret, Registerer: prometheus.NewRegistry(), Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tier.Close() })
		opts.Shared = tier
		out[i] = newTestEngine(t, fb, opts)
		tier.Subscribe(ctx, out[i].DropLocal)
	}
	return out
}

func TestSharedTierOneBackendCallAcrossReplicas(t *testing.T) {
	r := sharedtest.Start(t)
	fb := newFake()
	engines := replicas(t, r, fb, 3)
	ctx := context.Background()
	for i, tok := range []string{"alice", "bob", "carol"} {
		for j := range engines {
			e := engines[(i+j)%len(engines)]
			d := e.Decide(ctx, req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": tok}))
			if d.Outcome != Allow || d.PrincipalID != "user-"+tok {
				t.Fatalf("%s on replica %d: %s %v principal %q", tok, (i+j)%3, d.Outcome, d.Err, d.PrincipalID)
			}
			// What another replica rebuilt is the same answer: context values keep their text.
			if got := d.Answer.Context().Lookup("Tier Level"); got == nil || got.(interface{ String() string }).String() != "3" {
				t.Fatalf("context rebuilt as %#v", d.Answer.Context())
			}
			// And its policy is still evaluated per methodArn: it covers GET only.
			if d := e.Decide(ctx, req("DELETE", "api.example.com", "/v1/pets/1", map[string]string{"authorization": tok})); d.Outcome != ImplicitDeny {
				t.Fatalf("DELETE with a shared answer: %s", d.Outcome)
			}
		}
		if n := fb.Calls(tok); n != 1 {
			t.Fatalf("%s: %d backend calls over 3 replicas, want 1", tok, n)
		}
	}
	// Denials and 401s: a deny is shared like an allow; an Unauthorized is never cached.
	for _, e := range engines {
		e.Decide(ctx, req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "deny"}))
		e.Decide(ctx, req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "unauthorized"}))
	}
	if fb.Calls("deny") != 1 || fb.Calls("unauthorized") != 3 {
		t.Fatalf("deny %d calls (want 1), unauthorized %d (want 3)", fb.Calls("deny"), fb.Calls("unauthorized"))
	}
}

// A replica that reads an answer from the shared tier keeps it only for the time it has left,
// never for a whole TTL of its own.
func TestSharedAnswerKeepsItsExpiry(t *testing.T) {
	r := sharedtest.Start(t)
	fb := newFake()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	engines := replicasWith(t, r, fb, 2, Options{Now: now})
	if d := decideTok(engines[0], "alice"); d.Outcome != Allow {
		t.Fatal(d.Outcome, d.Err)
	}
	offset.Store(int64(290 * time.Second)) // of the tokens authorizer's 300s
	if d := decideTok(engines[1], "alice"); d.Outcome != Allow || fb.Calls("alice") != 1 {
		t.Fatalf("from the shared tier: %s, %d calls", d.Outcome, fb.Calls("alice"))
	}
	if d := decideTok(engines[1], "alice"); !d.Cached {
		t.Fatal("not kept locally")
	}
	offset.Store(int64(301 * time.Second))
	if d := decideTok(engines[1], "alice"); d.Outcome != Allow || d.Cached || fb.Calls("alice") != 2 {
		t.Fatalf("after the first answer's expiry: %s cached=%v, %d calls (want 2)", d.Outcome, d.Cached, fb.Calls("alice"))
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 1s: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// holds reports whether e's own cache has an answer for tok from the tokens authorizer, without
// asking for one.
func holds(e *Engine, tok string) bool {
	k := identity.Key(e.Snapshot().Authorizer("tokens").UID, "petstore", []string{tok})
	mixGeneration(&k, e.generation("tokens"))
	_, ok := e.cache.Get((*cache.Key)(&k))
	return ok
}

// forget drops tok's answer from e's own cache.
func forget(e *Engine, tok string) {
	k := identity.Key(e.Snapshot().Authorizer("tokens").UID, "petstore", []string{tok})
	e.DropLocal("tokens", [][32]byte{k})
}

func decideTok(e *Engine, tok string) *Decision {
	return e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": tok}))
}

func TestInvalidateAcrossReplicas(t *testing.T) {
	r := sharedtest.Start(t)
	fb := newFake()
	engines := replicas(t, r, fb, 3)
	warm := func(toks ...string) {
		t.Helper()
		for _, tok := range toks {
			for _, e := range engines {
				if d := decideTok(e, tok); d.Outcome != Allow || !holds(e, tok) {
					t.Fatalf("%s: %s, not cached", tok, d.Outcome)
				}
			}
		}
	}
	warm("alice", "bob")
	ctx := context.Background()
	if shared, err := engines[0].Invalidate(ctx, "tokens", []string{"alice"}); err != nil || !shared {
		t.Fatalf("Invalidate: %v, %v", shared, err)
	}
	for i, e := range engines {
		waitFor(t, "alice dropped on replica "+strconv.Itoa(i), func() bool { return !holds(e, "alice") })
		if !holds(e, "bob") {
			t.Fatalf("bob dropped on replica %d", i)
		}
	}
	warm("alice")
	if fb.Calls("alice") != 2 || fb.Calls("bob") != 1 {
		t.Fatalf("after dropping alice: alice %d calls (want 2), bob %d (want 1)", fb.Calls("alice"), fb.Calls("bob"))
	}

	if _, err := engines[1].Invalidate(ctx, "tokens", nil); err != nil {
		t.Fatal(err)
	}
	for i, e := range engines {
		waitFor(t, "all dropped on replica "+strconv.Itoa(i), func() bool { return !holds(e, "alice") && !holds(e, "bob") })
	}
	warm("alice", "bob")
	if fb.Calls("alice") != 3 || fb.Calls("bob") != 2 {
		t.Fatalf("after dropping all: alice %d calls (want 3), bob %d (want 2)", fb.Calls("alice"), fb.Calls("bob"))
	}
	if _, err := engines[0].Invalidate(ctx, "nope", nil); !errors.Is(err, ErrNoSuchAuthorizer) {
		t.Fatalf("unknown authorizer: %v", err)
	}
	if _, err := engines[0].Invalidate(ctx, "tokens", []string{"alice", "extra"}); !errors.Is(err, ErrIdentityShape) {
		t.Fatalf("two values for one source: %v", err)
	}
}

func TestInvalidateWithoutSharedTier(t *testing.T) {
	fb := newFake()
	e := newTestEngine(t, fb)
	for _, tok := range []string{"alice", "bob"} {
		decideTok(e, tok)
	}
	if shared, err := e.Invalidate(context.Background(), "tokens", []string{"alice"}); err != nil || shared {
		t.Fatalf("Invalidate: %v, %v", shared, err)
	}
	if holds(e, "alice") || !holds(e, "bob") {
		t.Fatalf("after dropping alice: alice %v bob %v", holds(e, "alice"), holds(e, "bob"))
	}
	e.Invalidate(context.Background(), "tokens", nil)
	if holds(e, "bob") {
		t.Fatal("bob kept after dropping all")
	}
	decideTok(e, "bob")
	if !holds(e, "bob") || fb.Calls("bob") != 2 {
		t.Fatalf("bob after a new fetch: cached %v, %d calls", holds(e, "bob"), fb.Calls("bob"))
	}
	if d := decideTok(e, "bob"); !d.Cached {
		t.Fatal("bob not served from the cache under the new generation")
	}
}

// The cached path with a shared tier configured stays allocation-free: the tier is asked only
// on a miss.
func TestSharedTierLeavesTheCachedPathAlone(t *testing.T) {
	r := sharedtest.Start(t)
	e := replicas(t, r, newFake(), 1)[0]
	e.DropLocal("other", nil) // a generation map in force, for another authorizer
	rq := req("GET", "api.example.com", "/v1/pets/42", map[string]string{"authorization": "bench"})
	ctx := context.Background()
	e.Decide(ctx, rq)
	if n := testing.AllocsPerRun(200, func() { e.Release(e.Decide(ctx, rq)) }); n != 0 {
		t.Fatalf("%v allocations per cached Check", n)
	}
}

// A store that answers with another replica's values for a spec it does not have, or with
// values that no longer open, costs a backend call, never a wrong answer.
func TestSharedTierStoreDownIsABackendCall(t *testing.T) {
	r := sharedtest.Start(t)
	fb := newFake()
	engines := replicas(t, r, fb, 2)
	decideTok(engines[0], "alice")
	r.Stop()
	for i := 0; i < 3; i++ {
		start := time.Now()
		d := decideTok(engines[1], "carol-"+strconv.Itoa(i))
		if d.Outcome != Allow {
			t.Fatalf("store down: %s %v", d.Outcome, d.Err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("store down: Check took %v", took)
		}
	}
	if d := decideTok(engines[1], "alice"); d.Outcome != Allow || fb.Calls("alice") != 2 {
		t.Fatalf("alice with the store down: %s, %d calls", d.Outcome, fb.Calls("alice"))
	}
}

// BenchmarkTiers compares a Check answered from the local cache, one answered from the shared
// tier (a real Redis on loopback) after a local miss, and one answered by a real HTTP authorizer
// on loopback. cpu-ns/op is this process's CPU (user and system, all threads) per Check: Redis's
// own is not in it, the in-process HTTP authorizer's is.
func BenchmarkTiers(b *testing.B) {
	r := sharedtest.Start(b)
	var backendCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		backendCalls.Add(1)
		w.Header().Set("content-type", "application/json")
		w.Write([]byte(`{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/*"}]},"context":{"tenant":"acme","tier":3}}`))
	}))
	b.Cleanup(srv.Close)
	cfg := strings.ReplaceAll(testConfig, "http://127.0.0.1:1/authorize", srv.URL)
	p := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	engine := func(tier SharedCache) *Engine {
		snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{p}})
		if err != nil {
			b.Fatal(err)
		}
		e, err := New(snap, Options{Shared: tier})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(e.Close)
		return e
	}
	tier, err := shared.New(shared.Options{URL: r.URL(), Secret: sharedSecret, Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tier.Close() })
	ctx := context.Background()
	reqs := map[string]*request.Request{}
	decide := func(b *testing.B, e *Engine, tok string, want bool) {
		rq := reqs[tok]
		if rq == nil {
			rq = req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": tok})
			reqs[tok] = rq
		}
		d := e.Decide(ctx, rq)
		if d.Outcome != Allow || d.Cached != want {
			b.Fatalf("%s: %s cached=%v %v", tok, d.Outcome, d.Cached, d.Err)
		}
		e.Release(d)
	}
	b.Run("L1hit", func(b *testing.B) {
		e := engine(tier)
		decide(b, e, "hot", false)
		b.ReportAllocs()
		cpu := cpuClock(b)
		for b.Loop() {
			decide(b, e, "hot", true)
		}
		cpu()
	})
	b.Run("L2hit", func(b *testing.B) {
		// A writer replica fills the store; a reader replica whose own cache is dropped before
		// every Check reads it back.
		writer, reader := engine(tier), engine(tier)
		decide(b, writer, "warm", false)
		calls := backendCalls.Load()
		b.ReportAllocs()
		var cpu cpuSpans
		defer cpu.report(b)
		for b.Loop() {
			b.StopTimer()
			forget(reader, "warm")
			b.StartTimer()
			cpu.start(b)
			decide(b, reader, "warm", false)
			cpu.stop(b)
		}
		if backendCalls.Load() != calls {
			b.Fatalf("%d backend calls while reading the shared tier", backendCalls.Load()-calls)
		}
	})
	b.Run("backend", func(b *testing.B) {
		e := engine(nil)
		b.ReportAllocs()
		var cpu cpuSpans
		defer cpu.report(b)
		for b.Loop() {
			b.StopTimer()
			forget(e, "cold")
			b.StartTimer()
			cpu.start(b)
			decide(b, e, "cold", false)
			cpu.stop(b)
		}
	})
	b.Run("backend+L2write", func(b *testing.B) {
		// A backend call whose answer is written to the store before the Check is answered.
		e := engine(tier)
		b.ReportAllocs()
		var cpu cpuSpans
		defer cpu.report(b)
		for b.Loop() {
			b.StopTimer()
			forget(e, "cold")
			tier.Invalidate(ctx, "tokens", [][32]byte{identity.Key(e.Snapshot().Authorizer("tokens").UID, "petstore", []string{"cold"})})
			b.StartTimer()
			cpu.start(b)
			decide(b, e, "cold", false)
			cpu.stop(b)
		}
	})
}

// BenchmarkReplicas sends each new token to three replicas in turn, as a load balancer spreads
// one client's requests, and reports the backend calls per token with and without the shared
// tier.
func BenchmarkReplicas(b *testing.B) {
	r := sharedtest.Start(b)
	for _, withTier := range []bool{false, true} {
		name := "local-only"
		if withTier {
			name = "shared"
		}
		b.Run(name, func(b *testing.B) {
			fb := newFake()
			var engines []*Engine
			if withTier {
				engines = replicas(b, r, fb, 3)
			} else {
				for range 3 {
					engines = append(engines, newTestEngine(b, fb))
				}
			}
			var calls atomic.Int64
			inner := fb.answer
			fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
				calls.Add(1)
				return inner(req)
			}
			ctx := context.Background()
			// The store outlives one run of this function: tokens of an earlier run must not be
			// found there.
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			tokens := 0
			b.ReportAllocs()
			for b.Loop() {
				tokens++
				tok := run + "-" + strconv.Itoa(tokens)
				for _, e := range engines {
					d := e.Decide(ctx, req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": tok}))
					if d.Outcome != Allow {
						b.Fatal(d.Outcome, d.Err)
					}
				}
			}
			b.ReportMetric(float64(calls.Load())/float64(tokens), "backend-calls/token")
		})
	}
}

// BenchmarkSharedEntryBytes measures what one answer costs in Redis: MEMORY USAGE of a stored
// key (the key, the sealed value, Redis's own overhead) and used_memory's growth per entry over
// 2,000 entries, for an answer with a one-statement policy and two context keys.
func BenchmarkSharedEntryBytes(b *testing.B) {
	r := sharedtest.Start(b)
	e := replicas(b, r, newFake(), 1)[0]
	client := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	b.Cleanup(func() { client.Close() })
	ctx := context.Background()
	usedMemory := func() float64 {
		info := client.Info(ctx, "memory").Val()
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	const entries = 2000
	before := usedMemory()
	for i := range entries {
		decideTok(e, "user-token-"+strconv.Itoa(i))
	}
	grown := (usedMemory() - before) / entries
	keys := client.Keys(ctx, "*").Val()
	if len(keys) != entries {
		b.Fatalf("%d keys, want %d", len(keys), entries)
	}
	usage := float64(client.MemoryUsage(ctx, keys[0]).Val())
	value := float64(client.StrLen(ctx, keys[0]).Val())
	for b.Loop() {
	}
	b.ReportMetric(usage, "memory-usage-B/entry")
	b.ReportMetric(grown, "used-memory-B/entry")
	b.ReportMetric(value, "value-B")
	b.ReportMetric(float64(len(keys[0])), "key-B")
}

// cpuSpans adds up this process's CPU time over the timed part of each iteration, for
// iterations long enough (tens of microseconds) that two getrusage calls do not matter.
type cpuSpans struct{ total, started int64 }

func (c *cpuSpans) start(b *testing.B) { c.started = processCPU(b) }
func (c *cpuSpans) stop(b *testing.B)  { c.total += processCPU(b) - c.started }
func (c *cpuSpans) report(b *testing.B) {
	b.ReportMetric(float64(c.total)/float64(b.N), "cpu-ns/op")
}

// cpuClock starts counting this process's CPU time; the function it returns reports it per
// iteration, for a loop with no stopped-timer part.
func cpuClock(b *testing.B) func() {
	start := processCPU(b)
	return func() { b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op") }
}

func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
