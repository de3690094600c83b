package hardening

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// flapper is a backend that fails every other call with 503 and otherwise allows "allow-*"
// tokens and explicitly denies every other token, after a short random delay so calls overlap.
type flapper struct {
	n        atomic.Int64
	failures atomic.Int64 // 503s given: the faults injected
	mu       sync.Mutex
	calls    map[string]int
}

func (f *flapper) answer(w http.ResponseWriter, r *http.Request, ev event, _ int64) {
	token := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	f.mu.Lock()
	f.calls[token]++
	f.mu.Unlock()
	select {
	case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
	case <-r.Context().Done():
		return
	}
	if f.n.Add(1)%2 == 1 {
		f.failures.Add(1)
		http.Error(w, "flapping", http.StatusServiceUnavailable)
		return
	}
	st := denyAll()
	if strings.HasPrefix(token, "allow-") {
		st = allowAll()
	}
	_, _ = w.Write(iamAnswer(token, nil, st))
}

func (f *flapper) callsFor(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[token]
}

// burst runs do(i) for i < n in n goroutines released at once.
func burst(n int, do func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			do(i)
		})
	}
	close(start)
	wg.Wait()
}

// TestConcurrentChecksFlappingBackend sends 1,000 concurrent Checks with distinct tokens (10,000
// with -long), half of which the backend denies, against a backend failing every other call, then
// each token once more. No denied token is ever allowed, no Check panics or fails at the gRPC
// level, and a token whose first answer was a 500 calls the backend again.
func TestConcurrentChecksFlappingBackend(t *testing.T) {
	n := 1000
	if long() {
		n = 10_000
	}
	f := &flapper{calls: map[string]int{}}
	srv := newAuthzServer(t, f.answer)
	svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
	token := func(i int) string {
		if i%2 == 0 {
			return "allow-" + strconv.Itoa(i)
		}
		return "deny-" + strconv.Itoa(i)
	}
	first := make([]result, n)
	second := make([]result, n)
	errs := make([]error, n)
	for round, into := range [][]result{first, second} {
		burst(n, func(i int) {
			res, err := svc.try(httpReq{method: "GET", host: "load.example.com", path: "/x/" + strconv.Itoa(i),
				headers: map[string]string{"authorization": "Bearer " + token(i)}})
			into[i] = res
			if err != nil {
				errs[i] = err
			}
		})
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d, %s: %v", round+1, token(i), errs[i])
			}
			if i%2 == 0 {
				expectOneOf(t, token(i), into[i].verdict, wantAllow, wantFailure)
			} else {
				expectOneOf(t, token(i), into[i].verdict, wantExplicitDeny, wantFailure)
			}
		}
	}
	// A 500 (a 503 from the backend, or no call slot free within a second) is not cached: the
	// second round asks the backend again. An answer is cached: the second round does not.
	for i := range n {
		calls := f.callsFor(token(i))
		switch {
		case first[i].matches(wantFailure) && second[i].logged.Cached:
			wrongDecision(t, "%s: first answer 500, second answered from the cache", token(i))
		case !first[i].matches(wantFailure) && (!second[i].logged.Cached || calls != 1):
			wrongDecision(t, "%s: first answer %s, second cached: %v, %d backend calls in all, want cached and 1",
				token(i), first[i].verdict, second[i].logged.Cached, calls)
		}
	}
	counts.faults.Add(f.failures.Load())
	t.Logf("%d tokens, two rounds: %d backend calls, %d of them failed with 503", n, f.n.Load(), f.failures.Load())
}

// TestConcurrentBurstOneDeniedToken sends 1,000 concurrent Checks with one token the backend
// denies, against the flapping backend: none is allowed, and the burst shares its backend calls.
func TestConcurrentBurstOneDeniedToken(t *testing.T) {
	n := 1000
	if long() {
		n = 10_000
	}
	f := &flapper{calls: map[string]int{}}
	srv := newAuthzServer(t, f.answer)
	svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
	results := make([]result, n)
	errs := make([]error, n)
	burst(n, func(i int) {
		results[i], errs[i] = svc.try(httpReq{method: "GET", host: "load.example.com", path: "/x/" + strconv.Itoa(i),
			headers: map[string]string{"authorization": "Bearer deny-burst"}})
	})
	counts.faults.Add(f.failures.Load())
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		expectOneOf(t, "deny-burst", results[i].verdict, wantExplicitDeny, wantFailure)
	}
	// Every call after a failure may start a new flight; a success ends them.
	if calls := f.callsFor("deny-burst"); calls > n/10 {
		wrongDecision(t, "%d concurrent Checks of one token made %d backend calls", n, calls)
	}
	t.Logf("%d concurrent Checks of one denied token: %d backend calls", n, f.callsFor("deny-burst"))
}
