package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-dev/portcullis/pkg/cache/shared/sharedtest"
)

// sharedAuthorizer answers every token with a principal, a context value and a policy that are
// each marked with the token, so the test can look for them in the store; it counts calls.
type sharedAuthorizer struct {
	url   string
	mu    sync.Mutex
	calls map[string]int
	total int
}

func newSharedAuthorizer(t *testing.T) *sharedAuthorizer {
	a := &sharedAuthorizer{calls: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
			MethodArn          string `json:"methodArn"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		tok := ev.AuthorizationToken
		a.mu.Lock()
		a.calls[tok]++
		a.total++
		a.mu.Unlock()
		prefix := strings.Join(strings.SplitN(ev.MethodArn, "/", 3)[:2], "/")
		json.NewEncoder(w).Encode(map[string]any{
			"principalId": "principal-" + tok,
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
				"Sid": "sid-" + tok, "Effect": "Allow", "Action": "execute-api:Invoke", "Resource": prefix + "/GET/*",
			}}},
			"context": map[string]any{"secretctx": "ctxvalue-" + tok},
		})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	a.url = "http://" + l.Addr().String() + "/authorize"
	return a
}

func (a *sharedAuthorizer) Calls(tok string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[tok]
}

func (a *sharedAuthorizer) Total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

const sharedConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 300
  http: {url: "AUTHZ_URL", timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: partners}
spec:
  type: TOKEN
  identitySource: method.request.header.x-partner-key
  resultTtlInSeconds: 300
  http: {url: "AUTHZ_URL", timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /pets, methods: [GET]}
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: /partners, methods: [GET], authorizer: partners}
`

const adminToken = "e2e-admin-token-0123456789"

type sharedSetup struct {
	redis  *sharedtest.Redis
	authz  *sharedAuthorizer
	config string
	secret string // the secret file
}

func newSharedSetup(t *testing.T) *sharedSetup {
	s := &sharedSetup{redis: sharedtest.Start(t), authz: newSharedAuthorizer(t)}
	s.config = writeConfig(t, strings.ReplaceAll(sharedConfig, "AUTHZ_URL", s.authz.url))
	s.secret = filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(s.secret, []byte("an-e2e-secret-that-is-over-32-bytes-long\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// replicas starts n replicas sharing the store; the timeout is generous so that a loaded
// machine does not turn shared hits into misses (the bound itself is tested separately).
func (s *sharedSetup) replicas(t *testing.T, n int, extra ...string) []*instance {
	out := make([]*instance, n)
	for i := range out {
		args := append([]string{"--config", s.config, "--shared-cache-url", s.redis.URL(),
			"--shared-cache-secret-file", s.secret, "--shared-cache-timeout", "1s", "--admin-token", adminToken}, extra...)
		out[i] = start(t, args...)
	}
	return out
}

func (s *sharedSetup) store(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.redis.Addr(), DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func petCheck(t *testing.T, inst *instance, method, tok string) *authv3.CheckResponse {
	t.Helper()
	return inst.check(t, method, "api.example.com", "/pets/1", map[string]string{"authorization": tok})
}

func allowedAs(t *testing.T, resp *authv3.CheckResponse, tok string) {
	t.Helper()
	status, body := denied(resp)
	h := upstreamHeaders(resp)
	if status != 200 || h["x-authorizer-principal-id"] != "principal-"+tok || h["x-authorizer-secretctx"] != "ctxvalue-"+tok {
		t.Fatalf("%s: %d %s, headers %v", tok, status, body, h)
	}
}

// fromOwnCache reports the allow's dynamic metadata "cached": answered from the replica's own cache.
func fromOwnCache(resp *authv3.CheckResponse) bool {
	return resp.GetDynamicMetadata().GetFields()["cached"].GetBoolValue()
}

func TestSharedCacheAcrossReplicas(t *testing.T) {
	s := newSharedSetup(t)
	reps := s.replicas(t, 3)
	const tokens = 200
	for i := range tokens {
		tok := fmt.Sprintf("tok-%03d", i)
		for j := range reps {
			allowedAs(t, petCheck(t, reps[(i+j)%3], "GET", tok), tok)
		}
	}
	if n := s.authz.Total(); n != tokens {
		t.Fatalf("%d backend calls for %d tokens over 3 replicas, want %d", n, tokens, tokens)
	}
	// Each replica re-evaluates the shared policy per methodArn: it allows GET only.
	for i, r := range reps {
		for _, tok := range []string{"tok-000", "tok-001", "tok-002"} {
			if status, _ := denied(petCheck(t, r, "DELETE", tok)); status != 403 {
				t.Fatalf("replica %d: DELETE with %s: %d, want 403", i, tok, status)
			}
		}
	}
	if n := s.authz.Total(); n != tokens {
		t.Fatalf("%d backend calls after the DELETEs, want %d", n, tokens)
	}

	// Nothing of a token, principal, policy or context is in the store, in keys or values.
	ctx := context.Background()
	store := s.store(t)
	var keys []string
	iter := store.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if len(keys) != tokens {
		t.Fatalf("%d keys in the store, want %d", len(keys), tokens)
	}
	forbidden := []string{"tok-", "principal-", "ctxvalue-", "secretctx", "sid-", "execute-api", "Allow", "Statement", "a1b2c3d4e5", "tokens", "petstore"}
	for _, k := range keys {
		v, err := store.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forbidden {
			if strings.Contains(k, f) || bytes.Contains(v, []byte(f)) {
				t.Fatalf("store holds %q in plain sight (key %q)", f, k)
			}
		}
		if ttl := store.PTTL(ctx, k).Val(); ttl <= 0 || ttl > 300*time.Second {
			t.Fatalf("key %q expires in %v, want within the authorizer's 300s", k, ttl)
		}
	}

	metrics := func(inst *instance) string { _, body := inst.get(t, "/metrics"); return body }
	if m := metrics(reps[1]); !strings.Contains(m, "portcullis_shared_cache_hits_total") || !strings.Contains(m, "portcullis_shared_cache_duration_seconds") {
		t.Fatal("shared cache metrics missing")
	}
}

func TestWithoutSharedCacheEveryReplicaCalls(t *testing.T) {
	s := newSharedSetup(t)
	reps := make([]*instance, 3)
	for i := range reps {
		reps[i] = start(t, "--config", s.config)
	}
	const tokens = 200
	for i := range tokens {
		tok := fmt.Sprintf("tok-%03d", i)
		for j := range reps {
			allowedAs(t, petCheck(t, reps[(i+j)%3], "GET", tok), tok)
		}
	}
	if n := s.authz.Total(); n != 3*tokens {
		t.Fatalf("%d backend calls, want %d", n, 3*tokens)
	}
}

func TestSharedCacheRefusesTamperedValues(t *testing.T) {
	s := newSharedSetup(t)
	reps := s.replicas(t, 3)
	ctx := context.Background()
	store := s.store(t)
	// One key per token, learnt by filling the store one token at a time.
	keyOf := map[string]string{}
	for _, tok := range []string{"alice", "bob"} {
		before := store.Keys(ctx, "*").Val()
		allowedAs(t, petCheck(t, reps[0], "GET", tok), tok)
		for _, k := range store.Keys(ctx, "*").Val() {
			if !contains(before, k) {
				keyOf[tok] = k
			}
		}
	}
	alice, _ := store.Get(ctx, keyOf["alice"]).Bytes()
	bob, _ := store.Get(ctx, keyOf["bob"]).Bytes()
	// Swapped: bob's sealed value under alice's key. Another replica must not answer alice as bob.
	store.Set(ctx, keyOf["alice"], bob, time.Minute)
	allowedAs(t, petCheck(t, reps[1], "GET", "alice"), "alice")
	if n := s.authz.Calls("alice"); n != 2 {
		t.Fatalf("alice: %d backend calls, want 2 (the swapped value refused)", n)
	}
	// Corrupted: one bit of bob's value flipped.
	bob[len(bob)/2] ^= 0x01
	store.Set(ctx, keyOf["bob"], bob, time.Minute)
	allowedAs(t, petCheck(t, reps[2], "GET", "bob"), "bob")
	if n := s.authz.Calls("bob"); n != 2 {
		t.Fatalf("bob: %d backend calls, want 2 (the corrupted value refused)", n)
	}
	_ = alice
	for i := 1; i <= 2; i++ {
		_, m := reps[i].get(t, "/metrics")
		if !strings.Contains(m, `portcullis_shared_cache_errors_total{reason="unsealed"} 1`) {
			t.Fatalf("replica %d did not count the refused value:\n%s", i, grepLines(m, "portcullis_shared_cache"))
		}
	}
}

// timedCheck returns the Check's answer and how long it took.
func timedCheck(t *testing.T, inst *instance, tok string) (*authv3.CheckResponse, time.Duration) {
	t.Helper()
	start := time.Now()
	resp := petCheck(t, inst, "GET", tok)
	return resp, time.Since(start)
}

func TestSharedCacheStoreDownAndBack(t *testing.T) {
	s := newSharedSetup(t)
	reps := s.replicas(t, 2)
	allowedAs(t, petCheck(t, reps[0], "GET", "before"), "before")
	s.redis.Stop()
	// Decisions continue through the backend.
	for i := range 20 {
		tok := fmt.Sprintf("down-%d", i)
		resp, took := timedCheck(t, reps[i%2], tok)
		allowedAs(t, resp, tok)
		if took > 2*time.Second {
			t.Fatalf("Check with the store down took %v", took)
		}
	}
	allowedAs(t, petCheck(t, reps[1], "GET", "before"), "before")
	if n := s.authz.Calls("before"); n != 2 {
		t.Fatalf("before: %d calls, want 2 (the store is down)", n)
	}
	// Back: once the breaker lets calls through again, one call serves both replicas.
	s.redis.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		tok := fmt.Sprintf("back-%d", i)
		allowedAs(t, petCheck(t, reps[0], "GET", tok), tok)
		allowedAs(t, petCheck(t, reps[1], "GET", tok), tok)
		if s.authz.Calls(tok) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replicas did not share again within 15s of the store coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSharedCacheSilentStoreIsBoundedByTheTimeout(t *testing.T) {
	s := newSharedSetup(t)
	inst := start(t, "--config", s.config, "--shared-cache-url", sharedtest.Silent(t),
		"--shared-cache-secret-file", s.secret, "--shared-cache-timeout", "100ms")
	// A miss reads the store (100ms), calls the backend, writes the store (100ms): the two store
	// calls bound what the store adds; the breaker then stops asking.
	for i := range 10 {
		tok := fmt.Sprintf("silent-%d", i)
		resp, took := timedCheck(t, inst, tok)
		allowedAs(t, resp, tok)
		if took > 200*time.Millisecond+time.Second {
			t.Fatalf("Check %d took %v against a silent store with a 100ms timeout", i, took)
		}
	}
	_, m := inst.get(t, "/metrics")
	if !strings.Contains(m, `portcullis_shared_cache_errors_total{reason="store"}`) || !strings.Contains(m, `portcullis_shared_cache_errors_total{reason="breaker"}`) {
		t.Fatalf("store and breaker errors not counted:\n%s", grepLines(m, "portcullis_shared_cache"))
	}
}

func postInvalidate(t *testing.T, inst *instance, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+inst.httpAddr+"/cache/invalidate", strings.NewReader(body))
	if token != "" {
		req.Header.Set("authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func partnerCheck(t *testing.T, inst *instance, key string) *authv3.CheckResponse {
	t.Helper()
	return inst.check(t, "GET", "api.example.com", "/partners", map[string]string{"x-partner-key": key})
}

// waitUncached waits until every replica answers check from outside its own cache.
func waitUncached(t *testing.T, reps []*instance, what string, check func(*instance) *authv3.CheckResponse) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for i, r := range reps {
		for fromOwnCache(check(r)) {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d still serves %s from its cache 1s after the invalidation", i, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func assertCached(t *testing.T, reps []*instance, what string, check func(*instance) *authv3.CheckResponse) {
	t.Helper()
	for i, r := range reps {
		if !fromOwnCache(check(r)) {
			t.Fatalf("replica %d dropped %s, which was not named", i, what)
		}
	}
}

func TestInvalidationOnEveryReplica(t *testing.T) {
	s := newSharedSetup(t)
	reps := s.replicas(t, 3)
	alice := func(r *instance) *authv3.CheckResponse { return petCheck(t, r, "GET", "alice") }
	bob := func(r *instance) *authv3.CheckResponse { return petCheck(t, r, "GET", "bob") }
	partner := func(r *instance) *authv3.CheckResponse { return partnerCheck(t, r, "p-key") }
	warm := func() {
		for _, r := range reps {
			allowedAs(t, alice(r), "alice")
			allowedAs(t, bob(r), "bob")
			partner(r)
		}
	}
	warm()
	assertCached(t, reps, "alice", alice)

	// Refused without the admin token, or with another; a replica without one has no endpoint.
	if code, _ := postInvalidate(t, reps[0], "", `{"authorizer":"tokens"}`); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := postInvalidate(t, reps[0], "not-the-token", `{"authorizer":"tokens"}`); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _ := postInvalidate(t, start(t, "--config", s.config), adminToken, `{"authorizer":"tokens"}`); code != 404 {
		t.Fatalf("no --admin-token: %d, want 404", code)
	}
	assertCached(t, reps, "alice", alice)

	// One identity, through the CLI against one replica: dropped on all three, in the store too.
	cmd := exec.Command(binary, "cache", "invalidate", "--http-addr", reps[1].httpAddr, "--authorizer", "tokens", "--identity", "alice")
	cmd.Env = append(os.Environ(), "PORTCULLIS_ADMIN_TOKEN="+adminToken)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"replicas":"all"`) {
		t.Fatalf("portcullis cache invalidate: %v\n%s", err, out)
	}
	waitUncached(t, reps, "alice", alice)
	assertCached(t, reps, "bob", bob)
	assertCached(t, reps, "the partner key", partner)
	if n := s.authz.Calls("alice"); n != 2 {
		t.Fatalf("alice: %d backend calls, want 2: one more, then shared again", n)
	}

	// The CLI without the token is refused.
	cmd = exec.Command(binary, "cache", "invalidate", "--http-addr", reps[1].httpAddr, "--authorizer", "tokens", "--admin-token", "wrong")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("CLI with a wrong token: %v\n%s", err, out)
	}

	// All of one authorizer's answers: the other authorizer's stay.
	if code, body := postInvalidate(t, reps[2], adminToken, `{"authorizer":"tokens"}`); code != 200 || !strings.Contains(body, `"dropped":"all"`) {
		t.Fatalf("invalidate all: %d %s", code, body)
	}
	waitUncached(t, reps, "bob", bob)
	waitUncached(t, reps, "alice", alice)
	assertCached(t, reps, "the partner key", partner)
	if a, b, p := s.authz.Calls("alice"), s.authz.Calls("bob"), s.authz.Calls("p-key"); a != 3 || b != 2 || p != 1 {
		t.Fatalf("backend calls alice %d (want 3), bob %d (want 2), partner %d (want 1)", a, b, p)
	}
}

func TestInvalidationWithoutSharedTier(t *testing.T) {
	s := newSharedSetup(t)
	inst := start(t, "--config", s.config, "--admin-token", adminToken)
	alice := func(r *instance) *authv3.CheckResponse { return petCheck(t, r, "GET", "alice") }
	bob := func(r *instance) *authv3.CheckResponse { return petCheck(t, r, "GET", "bob") }
	alice(inst)
	bob(inst)
	code, body := postInvalidate(t, inst, adminToken, `{"authorizer":"tokens","identity":["alice"]}`)
	if code != 200 || !strings.Contains(body, `"replicas":"this"`) {
		t.Fatalf("%d %s", code, body)
	}
	if fromOwnCache(alice(inst)) || !fromOwnCache(bob(inst)) {
		t.Fatal("local invalidation dropped the wrong answer")
	}
	if code, body := postInvalidate(t, inst, adminToken, `{"authorizer":"nobody"}`); code != 404 {
		t.Fatalf("unknown authorizer: %d %s", code, body)
	}
}
