// Package cache holds authorizer answers per identity: a ristretto cache bounded in bytes, a small
// write-through map that covers ristretto's asynchronous admission, and singleflight so that a
// burst of requests for one cold identity makes exactly one backend call.
package cache

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// Key identifies one identity of one authorizer spec (see identity.Key): a sha256.
type Key [32]byte

// Entry is what is kept per identity, its value held inline: one allocation per identity. It is
// immutable once stored, except for what V itself lets its users change.
type Entry[V any] struct {
	check   [2]uint64 // the key's bits that ristretto's index does not hold (see storeKey)
	expires int64     // Unix nanoseconds
	Value   V
}

// Expires is when the entry stops being served.
func (e *Entry[V]) Expires() time.Time { return time.Unix(0, e.expires) }

func (e *Entry[V]) live(now time.Time) bool { return now.UnixNano() < e.expires }

// Options size the cache.
type Options struct {
	// MaxBytes bounds the total cost of the entries.
	MaxBytes int64
	// AvgEntryBytes is the expected cost of one entry, used to size ristretto's admission counters.
	AvgEntryBytes int64
	// RecentEntries bounds the write-through map; default 4096.
	RecentEntries int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Cache maps Keys to answers of type V.
type Cache[V any] struct {
	store  *ristretto.Cache[uint64, *Entry[V]]
	recent *recentMap[V]
	flight singleflight.Group
	now    func() time.Time
}

// New makes a cache bounded by opts.MaxBytes.
func New[V any](opts Options) (*Cache[V], error) {
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("cache: max bytes must be positive, got %d", opts.MaxBytes)
	}
	if opts.AvgEntryBytes <= 0 {
		opts.AvgEntryBytes = 512
	}
	if opts.RecentEntries <= 0 {
		opts.RecentEntries = 4096
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	counters := 10 * opts.MaxBytes / opts.AvgEntryBytes
	if counters < 1000 {
		counters = 1000
	}
	store, err := ristretto.NewCache(&ristretto.Config[uint64, *Entry[V]]{
		NumCounters: counters,
		MaxCost:     opts.MaxBytes,
		BufferItems: 64,
		Metrics:     false,
		// A cost already counts ristretto's own bookkeeping for the entry (see engine's
		// Answer.cost), so ristretto must not add its item size again.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Cache[V]{store: store, recent: newRecentMap[V](opts.RecentEntries), now: opts.Now}, nil
}

// Close releases ristretto's goroutines.
func (c *Cache[V]) Close() { c.store.Close() }

// storeKey is the 64-bit hash ristretto indexes by: the key's first 8 bytes. An entry keeps 128
// more bits of the key (checkOf: bytes 8-15 folded with 24-31, and 16-23) and compares them on
// every hit, so two identities would need to agree in 192 bits of a sha256 to share an answer;
// a collision of the index alone is a miss, never another identity's answer. Keeping the check
// at 16 bytes instead of 24 puts an engine's entry in a 16-byte smaller size class.
func storeKey(k *Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

func checkOf(k *Key) [2]uint64 {
	return [2]uint64{
		binary.LittleEndian.Uint64(k[8:16]) ^ binary.LittleEndian.Uint64(k[24:32]),
		binary.LittleEndian.Uint64(k[16:24]),
	}
}

// Get returns the live entry for k.
func (c *Cache[V]) Get(k *Key) (*Entry[V], bool) {
	now := c.now()
	if e, ok := c.store.Get(storeKey(k)); ok && e.check == checkOf(k) && e.live(now) {
		return e, true
	}
	return c.recent.get(k, now)
}

// Delete drops the entry for k, so the next Get misses. It waits for ristretto's buffered
// writes: a Set still in its buffer would otherwise be applied after the delete's immediate
// part and bring the entry back until the buffered delete follows.
func (c *Cache[V]) Delete(k *Key) {
	c.store.Del(storeKey(k))
	c.store.Wait()
	c.recent.delete(k)
}

// Fetch is called on a miss to fill in the value in place; it returns the value's cost in bytes
// and how long it may live (0 or less: not cached).
type Fetch[V any] func(ctx context.Context, v *V) (cost int64, ttl time.Duration, err error)

// GetOrFetch returns the entry for k, calling fetch once for all concurrent callers of one cold
// key. cached is false only for the caller whose fetch made the entry; the callers that waited
// for that fetch get true, as they would had the entry been stored a moment earlier. Errors are
// never cached.
func (c *Cache[V]) GetOrFetch(ctx context.Context, k *Key, fetch Fetch[V]) (e *Entry[V], cached bool, err error) {
	if e, ok := c.Get(k); ok {
		return e, true, nil
	}
	// Only the caller that starts the flight runs this closure; fetched tells it so.
	fetched := false
	ch := c.flight.DoChan(string(k[:]), func() (any, error) {
		// A caller that lost the race to start this flight may arrive after the previous
		// flight stored the entry.
		if e, ok := c.Get(k); ok {
			return e, nil
		}
		fetched = true
		e := &Entry[V]{check: checkOf(k)}
		// The flight outlives any one caller's cancellation: the others still wait for it.
		cost, ttl, err := fetch(context.WithoutCancel(ctx), &e.Value)
		if err != nil {
			return nil, err
		}
		e.expires = c.now().Add(ttl).UnixNano()
		if ttl > 0 {
			c.recent.put(k, e)
			// Without a TTL: every hit checks the entry's own expiry (live), and ristretto's
			// expiry buckets, a map entry per identity, would add to each of them (see
			// BenchmarkMillionIdentities and docs/performance.md). An expired entry
			// is replaced by the next fetch for its identity, or evicted by cost like any other,
			// least used first.
			c.store.Set(storeKey(k), e, cost)
		}
		return e, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, false, res.Err
		}
		return res.Val.(*Entry[V]), !fetched, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// recentMap remembers the latest entries until ristretto has applied its buffered Sets (or
// rejected them), so a request right after a miss never calls the backend a second time.
type recentMap[V any] struct {
	mu    sync.Mutex
	items map[Key]*Entry[V]
	order []Key
	next  int
}

func newRecentMap[V any](size int) *recentMap[V] {
	return &recentMap[V]{items: make(map[Key]*Entry[V], size), order: make([]Key, 0, size)}
}

func (r *recentMap[V]) get(k *Key, now time.Time) (*Entry[V], bool) {
	r.mu.Lock()
	e, ok := r.items[*k]
	r.mu.Unlock()
	if !ok || !e.live(now) {
		return nil, false
	}
	return e, true
}

// delete forgets k; its slot in order stays until reused, harmlessly naming an absent key.
func (r *recentMap[V]) delete(k *Key) {
	r.mu.Lock()
	delete(r.items, *k)
	r.mu.Unlock()
}

func (r *recentMap[V]) put(k *Key, e *Entry[V]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.items[*k]; ok {
		r.items[*k] = e
		return
	}
	if len(r.order) < cap(r.order) {
		r.order = append(r.order, *k)
	} else {
		delete(r.items, r.order[r.next])
		r.order[r.next] = *k
		r.next = (r.next + 1) % len(r.order)
	}
	r.items[*k] = e
}
