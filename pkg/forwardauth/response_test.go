package forwardauth

import (
	"runtime"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// A cached answer's upstream headers are built once and shared; the entry goes with the answer.
func TestUpstreamCacheFollowsTheAnswer(t *testing.T) {
	var c upstreamCache
	size := func() (n int) {
		c.m.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	func() {
		a := &engine.Answer{PrincipalID: "user-7"}
		first, err := c.headers(&engine.Decision{Answer: a, Cached: true})
		if err != nil {
			t.Fatal(err)
		}
		again, _ := c.headers(&engine.Decision{Answer: a, Cached: true})
		if first != again || first.headers[0].Value != "user-7" {
			t.Fatalf("second lookup built the headers again (%p, %p) or got %v", first, again, first.headers)
		}
		fresh, _ := c.headers(&engine.Decision{Answer: a, Cached: false})
		if fresh == first {
			t.Fatal("an answer not from the cache was served the kept headers")
		}
		runtime.KeepAlive(a)
	}()
	if size() != 1 {
		t.Fatalf("%d entries, want 1", size())
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the entry outlived its answer")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
