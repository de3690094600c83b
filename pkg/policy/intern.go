package policy

import (
	"crypto/sha256"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// Interner shares one compiled Policy among all documents with the same bytes, so a million
// cached answers that carry a hundred distinct policies hold a hundred compiled policies.
//
// It holds policies weakly: an entry lives as long as something else (the decision cache)
// holds its Policy, and is removed once the garbage collector frees it, so backends that return
// a distinct policy per user do not make it grow without bound. It is safe for concurrent use;
// a hit is a sha256 and a lock-free map read.
type Interner struct {
	entries sync.Map // [32]byte -> weak.Pointer[Policy]
	n       atomic.Int64
}

// NewInterner returns an empty Interner.
func NewInterner() *Interner { return &Interner{} }

// Compile returns the shared compiled form of doc, compiling it if no live Policy has the same
// content. Errors are not remembered: a malformed document is compiled, and refused, each time.
func (in *Interner) Compile(doc []byte) (*Policy, error) {
	p, _, err := in.Intern(doc)
	return p, err
}

// Intern is Compile that also says whether this call compiled the Policy (fresh) rather than
// found it live, so a cache can charge a policy's memory to the entry that brought it in.
func (in *Interner) Intern(doc []byte) (p *Policy, fresh bool, err error) {
	key := sha256.Sum256(doc)
	if v, ok := in.entries.Load(key); ok {
		if p := v.(weak.Pointer[Policy]).Value(); p != nil {
			return p, false, nil
		}
	}
	p, err = compile(doc, key)
	if err != nil {
		return nil, false, err
	}
	stored := in.store(key, p)
	return stored, stored == p, nil
}

// store publishes p unless another goroutine published a live Policy for the same key first,
// in which case that one is returned and p is left to the garbage collector.
func (in *Interner) store(key [32]byte, p *Policy) *Policy {
	wp := weak.Make(p)
	for {
		old, loaded := in.entries.LoadOrStore(key, wp)
		if !loaded {
			in.n.Add(1)
			break
		}
		if q := old.(weak.Pointer[Policy]).Value(); q != nil {
			return q
		}
		// The old Policy was freed and its cleanup has not run yet: take its place. Its cleanup
		// will find the new entry and leave it alone.
		if in.entries.CompareAndSwap(key, old, wp) {
			break
		}
	}
	runtime.AddCleanup(p, in.forget, internEntry{key: key, wp: wp})
	return p
}

type internEntry struct {
	key [32]byte
	wp  weak.Pointer[Policy]
}

// forget removes an entry whose Policy was freed, unless the key was reused since.
func (in *Interner) forget(e internEntry) {
	if in.entries.CompareAndDelete(e.key, e.wp) {
		in.n.Add(-1)
	}
}

// Len is the number of policies interned, including freed ones whose removal is pending.
func (in *Interner) Len() int { return int(in.n.Load()) }
