package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/test/load/loadkit"
)

// The CPU-limited rounds stand on this: a process moved into a cap's cgroup is held to its
// quota, the throttling is seen, and the cgroup goes away afterwards. It needs root and a
// writable cgroup cpu controller, as `make bench` does, and is skipped without them.
func TestCPUCapThrottlesAndCleansUp(t *testing.T) {
	c, err := newCPUCap(fmt.Sprintf("portcullis-load-test-%d", os.Getpid()))
	if err != nil {
		t.Skipf("no cgroup to test with: %v", err)
	}
	spin := exec.Command("sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		c.remove()
		t.Fatal(err)
	}
	defer func() {
		spin.Process.Kill()
		spin.Wait()
		if err := c.remove(); err != nil {
			t.Errorf("remove: %v", err)
		}
		if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists: %v", c.dir, err)
		}
	}()
	// A cgroup made but not usable (a container's read-only controller files) is the machine's
	// limit, not a fault: make bench would say so and skip the pass too.
	if err := c.add(spin.Process.Pid); err != nil {
		t.Skipf("cannot move a process into %s: %v", c.dir, err)
	}
	if err := c.set(0.1); err != nil {
		t.Skipf("cannot set a quota on %s: %v", c.dir, err)
	}
	cpu0, _ := loadkit.ProcessCPU(spin.Process.Pid)
	p0, t0, err := c.throttling()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	p1, t1, _ := c.throttling()
	cpu1, _ := loadkit.ProcessCPU(spin.Process.Pid)
	if t1-t0 == 0 || p1-p0 == 0 {
		t.Fatalf("a spinning process at 0.1 CPU was never throttled: %d of %d periods", t1-t0, p1-p0)
	}
	// 0.1 CPU for 0.5 s is 50 ms; /proc counts in 10 ms ticks, and the sleep may run long.
	if used := cpu1 - cpu0; used > 200*time.Millisecond {
		t.Fatalf("a process limited to 0.1 CPU used %v in 0.5 s", used)
	}
	if err := c.set(0); err != nil {
		t.Fatalf("lifting the limit: %v", err)
	}
}
