package shared

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-dev/portcullis/pkg/cache/shared/sharedtest"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

func newTier(t *testing.T, url string, secret []byte, mod func(*Options)) *Tier {
	t.Helper()
	opts := Options{URL: url, Secret: secret, Registerer: prometheus.NewRegistry()}
	if mod != nil {
		mod(&opts)
	}
	tier, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tier.Close() })
	return tier
}

func rawClient(t *testing.T, r *sharedtest.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func key(s string) *[32]byte {
	var k [32]byte
	copy(k[:], s)
	return &k
}

func TestNewRefusesShortSecret(t *testing.T) {
	if _, err := New(Options{URL: "redis://127.0.0.1:1", Secret: make([]byte, 31)}); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("31-byte secret: %v", err)
	}
	if _, err := New(Options{URL: "http://x", Secret: testSecret}); err == nil {
		t.Fatal("http URL accepted")
	}
}

func TestRoundTripAndStoreContents(t *testing.T) {
	r := sharedtest.Start(t)
	tier := newTier(t, r.URL(), testSecret, nil)
	ctx := context.Background()
	k := key("identity-key-of-alice")
	if _, ok := tier.Get(ctx, "authz", k); ok {
		t.Fatal("hit on an empty store")
	}
	value := []byte(`{"p":"alice-principal","d":{"Statement":[]}}`)
	tier.Set(ctx, "authz", k, value, time.Minute)
	got, ok := tier.Get(ctx, "authz", k)
	if !ok || !bytes.Equal(got, value) {
		t.Fatalf("Get = %q, %v", got, ok)
	}
	if _, ok := tier.Get(ctx, "other-authz", k); ok {
		t.Fatal("another authorizer's lookup found the answer")
	}
	// What the store holds says nothing of the key, the authorizer or the value.
	c := rawClient(t, r)
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v, %v", keys, err)
	}
	raw, _ := c.Get(ctx, keys[0]).Bytes()
	ttl, _ := c.PTTL(ctx, keys[0]).Result()
	if ttl <= 0 || ttl > time.Minute {
		t.Errorf("store TTL %v, want the answer's minute", ttl)
	}
	for _, secret := range []string{"alice", "authz", hex.EncodeToString(k[:8]), string(k[:8]), "Statement"} {
		if strings.Contains(keys[0], secret) || bytes.Contains(raw, []byte(secret)) {
			t.Errorf("store holds %q in plain sight: key %q", secret, keys[0])
		}
	}
	if testutil.ToFloat64(tier.metrics.hits) != 1 || testutil.ToFloat64(tier.metrics.misses) != 2 {
		t.Errorf("hits %v misses %v, want 1 and 2", testutil.ToFloat64(tier.metrics.hits), testutil.ToFloat64(tier.metrics.misses))
	}
}

func TestRefusedValuesAreCountedMisses(t *testing.T) {
	r := sharedtest.Start(t)
	tier := newTier(t, r.URL(), testSecret, nil)
	c := rawClient(t, r)
	ctx := context.Background()
	alice, bob := key("alice"), key("bob")
	aliceName, bobName := tier.seal.storeKey("authz", alice), tier.seal.storeKey("authz", bob)
	set := func() {
		tier.Set(ctx, "authz", alice, []byte("alice's answer"), time.Minute)
		tier.Set(ctx, "authz", bob, []byte("bob's answer"), time.Minute)
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T)
		lookup *[32]byte
	}{
		{"corrupted byte", func(t *testing.T) {
			v, _ := c.Get(ctx, aliceName).Bytes()
			v[len(v)-3] ^= 1
			c.Set(ctx, aliceName, v, time.Minute)
		}, alice},
		{"truncated", func(t *testing.T) {
			v, _ := c.Get(ctx, aliceName).Bytes()
			c.Set(ctx, aliceName, v[:10], time.Minute)
		}, alice},
		{"garbage", func(t *testing.T) { c.Set(ctx, aliceName, "{\"p\":\"root\"}", time.Minute) }, alice},
		{"swapped with another key's value", func(t *testing.T) {
			v, _ := c.Get(ctx, bobName).Bytes()
			c.Set(ctx, aliceName, v, time.Minute)
		}, alice},
		{"sealed under another secret", func(t *testing.T) {
			other := newTier(t, r.URL(), bytes.Repeat([]byte("x"), 32), nil)
			// Same store key only if the naming key matched; write where this tier reads.
			c.Set(ctx, aliceName, other.seal.seal(aliceName, []byte("forged")), time.Minute)
		}, alice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set()
			tc.tamper(t)
			before := testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonUnsealed))
			if v, ok := tier.Get(ctx, "authz", tc.lookup); ok {
				t.Fatalf("tampered value served: %q", v)
			}
			if got := testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonUnsealed)) - before; got != 1 {
				t.Fatalf("unsealed errors +%v, want +1", got)
			}
			if v, ok := tier.Get(ctx, "authz", bob); !ok || string(v) != "bob's answer" {
				t.Fatalf("untouched value: %q, %v", v, ok)
			}
		})
	}
}

func TestSilentStoreIsAMissWithinTheTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	tier := newTier(t, sharedtest.Silent(t), testSecret, func(o *Options) { o.Timeout = timeout; o.BreakerFailures = 1000 })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		start := time.Now()
		if _, ok := tier.Get(ctx, "authz", key("alice")); ok {
			t.Fatal("hit from a silent store")
		}
		if took := time.Since(start); took > timeout+200*time.Millisecond {
			t.Fatalf("Get took %v against a %v timeout", took, timeout)
		}
		start = time.Now()
		tier.Set(ctx, "authz", key("alice"), []byte("v"), time.Minute)
		if took := time.Since(start); took > timeout+200*time.Millisecond {
			t.Fatalf("Set took %v against a %v timeout", took, timeout)
		}
	}
	if got := testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonStore)); got != 10 {
		t.Errorf("store errors %v, want 10", got)
	}
}

func TestBreakerStopsWaitingAndRetries(t *testing.T) {
	const timeout = 50 * time.Millisecond
	tier := newTier(t, sharedtest.Silent(t), testSecret, func(o *Options) {
		o.Timeout, o.BreakerFailures, o.BreakerCooldown = timeout, 3, 500*time.Millisecond
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		tier.Get(ctx, "authz", key("alice"))
	}
	// Open: the store is not asked at all (a call to it would count a store error and wait
	// out the timeout).
	start := time.Now()
	for i := 0; i < 100; i++ {
		tier.Get(ctx, "authz", key("alice"))
	}
	if took := time.Since(start); took > 10*timeout {
		t.Fatalf("100 Gets with the breaker open took %v", took)
	}
	if got := testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonStore)); got != 3 {
		t.Fatalf("store errors %v with the breaker open, want the 3 that opened it", got)
	}
	if got := testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonBreaker)); got != 100 {
		t.Fatalf("breaker errors %v, want 100", got)
	}
	// After the cooldown one call goes to the store again.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonStore)) < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the breaker never let a call through again")
		}
		tier.Get(ctx, "authz", key("alice"))
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBreakerClosesWhenTheStoreIsBack(t *testing.T) {
	r := sharedtest.Start(t)
	tier := newTier(t, r.URL(), testSecret, func(o *Options) { o.BreakerFailures, o.BreakerCooldown = 2, 100*time.Millisecond })
	ctx := context.Background()
	tier.Set(ctx, "authz", key("alice"), []byte("v"), time.Minute)
	r.Stop()
	for i := 0; i < 5; i++ {
		if _, ok := tier.Get(ctx, "authz", key("alice")); ok {
			t.Fatal("hit from a stopped store")
		}
	}
	if testutil.ToFloat64(tier.metrics.errors.WithLabelValues(reasonBreaker)) == 0 {
		t.Fatal("the breaker did not open")
	}
	r.Restart()
	tier.Set(ctx, "authz", key("alice"), []byte("v2"), time.Minute) // may be refused by the open breaker
	deadline := time.Now().Add(5 * time.Second)
	for {
		tier.Set(ctx, "authz", key("alice"), []byte("v2"), time.Minute)
		if v, ok := tier.Get(ctx, "authz", key("alice")); ok && string(v) == "v2" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the store came back but the tier never used it again")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type drops struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newDrops() *drops { return &drops{ch: make(chan struct{}, 16)} }

func (d *drops) drop(authorizer string, keys [][32]byte) {
	d.mu.Lock()
	s := authorizer + ":"
	if keys == nil {
		s += "all"
	}
	for _, k := range keys {
		s += string(bytes.TrimRight(k[:], "\x00")) + ","
	}
	d.got = append(d.got, s)
	d.mu.Unlock()
	d.ch <- struct{}{}
}

func (d *drops) next(t *testing.T) string {
	t.Helper()
	select {
	case <-d.ch:
	case <-time.After(time.Second):
		t.Fatal("no invalidation within 1s")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.got[len(d.got)-1]
}

func TestInvalidateReachesEveryReplicaAndEmptiesTheStore(t *testing.T) {
	r := sharedtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := newTier(t, r.URL(), testSecret, nil), newTier(t, r.URL(), testSecret, nil)
	da, db := newDrops(), newDrops()
	a.Subscribe(ctx, da.drop)
	b.Subscribe(ctx, db.drop)
	for _, id := range []string{"alice", "bob"} {
		a.Set(ctx, "authz", key(id), []byte(id), time.Minute)
		a.Set(ctx, "other", key(id), []byte(id), time.Minute)
	}

	if err := a.Invalidate(ctx, "authz", [][32]byte{*key("alice")}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*drops{da, db} {
		if got := d.next(t); got != "authz:alice," {
			t.Fatalf("dropped %q", got)
		}
	}
	if _, ok := b.Get(ctx, "authz", key("alice")); ok {
		t.Fatal("invalidated answer still in the store")
	}
	for _, probe := range []struct{ a, id string }{{"authz", "bob"}, {"other", "alice"}} {
		if _, ok := b.Get(ctx, probe.a, key(probe.id)); !ok {
			t.Fatalf("%s/%s dropped too", probe.a, probe.id)
		}
	}

	if err := b.Invalidate(ctx, "authz", nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*drops{da, db} {
		if got := d.next(t); got != "authz:all" {
			t.Fatalf("dropped %q", got)
		}
	}
	if _, ok := a.Get(ctx, "authz", key("bob")); ok {
		t.Fatal("authorizer-wide invalidation left an answer")
	}
	if _, ok := a.Get(ctx, "other", key("bob")); !ok {
		t.Fatal("authorizer-wide invalidation dropped another authorizer's answer")
	}

	// A forged invalidation (not sealed under the secret) is refused.
	c := rawClient(t, r)
	c.Publish(ctx, invalidateChannel, `{"a":"other"}`)
	deadline := time.Now().Add(time.Second)
	for testutil.ToFloat64(a.metrics.errors.WithLabelValues(reasonUnsealed)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("forged invalidation not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-da.ch:
		t.Fatal("forged invalidation applied")
	default:
	}
}
