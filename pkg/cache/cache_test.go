package cache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newTestCache(t *testing.T, clk *clock) *Cache[string] {
	t.Helper()
	opts := Options{MaxBytes: 1 << 20}
	if clk != nil {
		opts.Now = clk.Now
	}
	c, err := New[string](opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func keyOf(b byte) Key { var k Key; k[0], k[31] = b, b; return k }

func answer(v string, ttl time.Duration, calls *atomic.Int64) Fetch[string] {
	return func(_ context.Context, out *string) (int64, time.Duration, error) {
		calls.Add(1)
		*out = v
		return 100, ttl, nil
	}
}

func TestGetOrFetch(t *testing.T) {
	ctx := context.Background()
	t.Run("second call is a hit", func(t *testing.T) {
		c := newTestCache(t, nil)
		var calls atomic.Int64
		k := keyOf(1)
		e, cached, err := c.GetOrFetch(ctx, &k, answer("a", time.Minute, &calls))
		if err != nil || cached || e.Value != "a" {
			t.Fatalf("first: %v %v %v", e, cached, err)
		}
		e, cached, err = c.GetOrFetch(ctx, &k, answer("b", time.Minute, &calls))
		if err != nil || !cached || e.Value != "a" || calls.Load() != 1 {
			t.Fatalf("second: %v %v %v calls=%d", e.Value, cached, err, calls.Load())
		}
	})
	t.Run("entry expires after its ttl", func(t *testing.T) {
		clk := &clock{now: time.Unix(1000, 0)}
		c := newTestCache(t, clk)
		var calls atomic.Int64
		k := keyOf(2)
		c.GetOrFetch(ctx, &k, answer("a", 10*time.Second, &calls))
		clk.Advance(9 * time.Second)
		if _, cached, _ := c.GetOrFetch(ctx, &k, answer("b", 10*time.Second, &calls)); !cached {
			t.Fatal("expired too early")
		}
		clk.Advance(2 * time.Second)
		e, cached, _ := c.GetOrFetch(ctx, &k, answer("b", 10*time.Second, &calls))
		if cached || e.Value != "b" || calls.Load() != 2 {
			t.Fatalf("after ttl: cached=%v value=%q calls=%d", cached, e.Value, calls.Load())
		}
	})
	t.Run("an expired entry is replaced in the store", func(t *testing.T) {
		// Entries carry their expiry themselves (ristretto is given none): the fetch after
		// expiry must replace the stored entry, not only the write-through map's.
		clk := &clock{now: time.Unix(1000, 0)}
		c, err := New[string](Options{MaxBytes: 1 << 20, RecentEntries: 1, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		var calls atomic.Int64
		k := keyOf(6)
		fromStore := func(want string, other Key) {
			t.Helper()
			c.store.Wait()
			c.GetOrFetch(ctx, &other, answer("o", time.Hour, &calls)) // k leaves the write-through map
			if e, ok := c.Get(&k); !ok || e.Value != want {
				t.Fatalf("store holds %v (found %v), want %q", e, ok, want)
			}
		}
		c.GetOrFetch(ctx, &k, answer("a", 10*time.Second, &calls))
		fromStore("a", keyOf(7))
		clk.Advance(11 * time.Second)
		if _, ok := c.Get(&k); ok {
			t.Fatal("an expired entry was served")
		}
		if e, cached, _ := c.GetOrFetch(ctx, &k, answer("b", 10*time.Second, &calls)); cached || e.Value != "b" {
			t.Fatalf("after expiry: cached=%v value=%q", cached, e.Value)
		}
		fromStore("b", keyOf(8))
	})
	t.Run("zero ttl is never cached", func(t *testing.T) {
		c := newTestCache(t, nil)
		var calls atomic.Int64
		k := keyOf(3)
		c.GetOrFetch(ctx, &k, answer("a", 0, &calls))
		c.GetOrFetch(ctx, &k, answer("a", 0, &calls))
		if calls.Load() != 2 {
			t.Fatalf("calls = %d, want 2", calls.Load())
		}
	})
	t.Run("errors are never cached", func(t *testing.T) {
		c := newTestCache(t, nil)
		k := keyOf(4)
		boom := errors.New("backend down")
		_, _, err := c.GetOrFetch(ctx, &k, func(context.Context, *string) (int64, time.Duration, error) {
			return 0, time.Minute, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		var calls atomic.Int64
		if _, cached, _ := c.GetOrFetch(ctx, &k, answer("a", time.Minute, &calls)); cached || calls.Load() != 1 {
			t.Fatalf("error was cached: cached=%v calls=%d", cached, calls.Load())
		}
	})
	t.Run("keys sharing their first 64 bits stay apart", func(t *testing.T) {
		// A difference anywhere after the index's 8 bytes must tell the entries apart.
		for _, at := range []int{8, 15, 16, 23, 24, 31} {
			c := newTestCache(t, nil)
			var calls atomic.Int64
			a, b := keyOf(5), keyOf(5)
			b[at] ^= 0x40
			c.GetOrFetch(ctx, &a, answer("a", time.Minute, &calls))
			c.store.Wait()
			e, cached, _ := c.GetOrFetch(ctx, &b, answer("b", time.Minute, &calls))
			if cached || e.Value != "b" {
				t.Fatalf("byte %d: b got a's entry: cached=%v value=%q", at, cached, e.Value)
			}
		}
	})
}

func TestColdBurstMakesOneCall(t *testing.T) {
	c := newTestCache(t, nil)
	var calls atomic.Int64
	release := make(chan struct{})
	fetch := func(_ context.Context, out *string) (int64, time.Duration, error) {
		calls.Add(1)
		<-release
		*out = "a"
		return 100, time.Minute, nil
	}
	k := keyOf(7)
	var wg sync.WaitGroup
	var fetchedHere atomic.Int64
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, cached, err := c.GetOrFetch(context.Background(), &k, fetch)
			if err != nil || e.Value != "a" {
				t.Errorf("got %v, %v", e, err)
			}
			if !cached {
				fetchedHere.Add(1)
			}
		}()
	}
	close(release)
	wg.Wait()
	// Requests right after the burst must hit, whether or not ristretto admitted the entry yet.
	for range 100 {
		c.GetOrFetch(context.Background(), &k, fetch)
	}
	if calls.Load() != 1 || fetchedHere.Load() != 1 {
		t.Fatalf("backend calls = %d, uncached answers = %d; want 1 and 1", calls.Load(), fetchedHere.Load())
	}
}

func TestWaiterCancellationDoesNotCancelFlight(t *testing.T) {
	c := newTestCache(t, nil)
	k := keyOf(8)
	started := make(chan struct{})
	release := make(chan struct{})
	var fetchErr atomic.Value
	fetch := func(ctx context.Context, out *string) (int64, time.Duration, error) {
		close(started)
		<-release
		if ctx.Err() != nil {
			fetchErr.Store(ctx.Err())
		}
		*out = "a"
		return 100, time.Minute, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, _, err := c.GetOrFetch(ctx, &k, fetch); done <- err }()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	other := make(chan string)
	go func() { e, _, _ := c.GetOrFetch(context.Background(), &k, fetch); other <- e.Value }()
	close(release)
	if v := <-other; v != "a" {
		t.Fatalf("other caller got %q", v)
	}
	if err := fetchErr.Load(); err != nil {
		t.Fatalf("flight saw cancellation: %v", err)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c, _ := New[string](Options{MaxBytes: 1 << 20})
	defer c.Close()
	k := keyOf(9)
	var calls atomic.Int64
	c.GetOrFetch(context.Background(), &k, answer("a", time.Hour, &calls))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, ok := c.Get(&k); !ok {
			b.Fatal("miss")
		}
	}
}

// A Delete right after the fetch that stored an entry (its ristretto Set still buffered) is not
// undone by that Set.
func TestDeleteRightAfterFetch(t *testing.T) {
	c, err := New[int](Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fetch := func(context.Context, *int) (int64, time.Duration, error) { return 1, time.Minute, nil }
	for i := range 2000 {
		k := Key{byte(i), byte(i >> 8), 1}
		if _, cached, err := c.GetOrFetch(context.Background(), &k, fetch); err != nil || cached {
			t.Fatalf("fetch %d: cached %v, %v", i, cached, err)
		}
		c.Delete(&k)
		if _, ok := c.Get(&k); ok {
			t.Fatalf("entry %d back after Delete", i)
		}
	}
}
