package policy

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

func userDoc(i int) []byte {
	return []byte(doc(stmt("Allow", fmt.Sprintf("%sGET/users/%d", arnPrefix, i))))
}

func TestInternerShares(t *testing.T) {
	in := NewInterner()
	a, err := in.Compile(userDoc(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := in.Compile(userDoc(1))
	c, _ := in.Compile(userDoc(2))
	if a != b {
		t.Error("equal documents gave different policies")
	}
	if a == c {
		t.Error("different documents gave the same policy")
	}
	if in.Len() != 2 {
		t.Errorf("Len = %d, want 2", in.Len())
	}
	if _, err := in.Compile([]byte(`{"Statement":`)); err == nil {
		t.Error("malformed document compiled")
	}
	if in.Len() != 2 {
		t.Errorf("Len after an error = %d, want 2", in.Len())
	}
	runtime.KeepAlive(a)
	runtime.KeepAlive(c)
}

// TestInternerForgets proves the interner does not keep policies alive: once nothing holds
// them, the garbage collector frees them and their entries go.
func TestInternerForgets(t *testing.T) {
	in := NewInterner()
	kept, _ := in.Compile(userDoc(-1))
	for i := range 100 {
		if _, err := in.Compile(userDoc(i)); err != nil {
			t.Fatal(err)
		}
	}
	if in.Len() != 101 {
		t.Fatalf("Len = %d, want 101", in.Len())
	}
	// Cleanups run on their own goroutine after a collection; collect until they have run.
	for i := 0; i < 1000 && in.Len() > 1; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if in.Len() != 1 {
		t.Fatalf("Len after collection = %d, want 1 (the policy still held)", in.Len())
	}
	again, _ := in.Compile(userDoc(-1))
	if again != kept {
		t.Error("a policy still held was compiled again")
	}
	fresh, err := in.Compile(userDoc(5))
	if err != nil || fresh.Evaluate(arnPrefix+"GET/users/5", nil).Decision != Allow {
		t.Errorf("recompiling a freed policy: %v", err)
	}
	runtime.KeepAlive(kept)
}

func TestInternerConcurrent(t *testing.T) {
	in := NewInterner()
	const workers, docs = 8, 20
	got := make([][]*Policy, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			got[w] = make([]*Policy, docs)
			for i := range docs {
				p, err := in.Compile(userDoc(i))
				if err != nil {
					t.Error(err)
					return
				}
				got[w][i] = p
			}
		})
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		for i := range docs {
			if got[w][i] != got[0][i] {
				t.Fatalf("worker %d document %d: a second policy for equal content", w, i)
			}
		}
	}
	if in.Len() != docs {
		t.Errorf("Len = %d, want %d", in.Len(), docs)
	}
}

// TestInternerSaysWhoCompiled proves Intern reports fresh only to the call that compiled the
// policy, so a cache charges a policy's memory once.
func TestInternerSaysWhoCompiled(t *testing.T) {
	in := NewInterner()
	a, fresh, err := in.Intern(userDoc(1))
	if err != nil || !fresh {
		t.Fatalf("first Intern: fresh=%v err=%v, want fresh", fresh, err)
	}
	b, fresh, err := in.Intern(userDoc(1))
	if err != nil || fresh || a != b {
		t.Fatalf("second Intern: fresh=%v same=%v err=%v, want the shared policy, not fresh", fresh, a == b, err)
	}
	if _, fresh, err := in.Intern([]byte(`{"Statement":`)); err == nil || fresh {
		t.Fatalf("malformed Intern: fresh=%v err=%v", fresh, err)
	}
	runtime.KeepAlive(a)
}
