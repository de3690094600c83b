// Package sharedtest runs a real redis-server for tests of the shared cache tier: in the
// foreground, on a free loopback port, persistence off, stopped when the test ends.
package sharedtest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/test/testenv"
)

// Redis is one redis-server process, which a test may stop and start again on the same port.
type Redis struct {
	t    testing.TB
	bin  string
	Port int
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server (Debian's redis-server package; `make system-deps` installs it).
func Start(t testing.TB) *Redis {
	t.Helper()
	bin := testenv.Binary(t, "redis-server", "REDIS_SERVER", "apt-get install -y redis-server (make system-deps)")
	r := &Redis{t: t, bin: bin, Port: testenv.FreePort(t), dir: t.TempDir()}
	r.Restart()
	t.Cleanup(r.Stop)
	return r
}

// Addr is host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL is the redis:// URL of database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Restart starts the server again after Stop (empty: persistence is off) and waits until it
// answers PING.
func (r *Redis) Restart() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.t.Fatal("sharedtest: redis-server already running")
	}
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("sharedtest: redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.do("PING"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("sharedtest: redis-server on port %d did not answer within 10s", r.Port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server and waits for it to exit.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// do sends one command and returns its first reply line: enough for PING.
func (r *Redis) do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", strings.TrimSpace(line[1:]))
	}
	return strings.TrimSpace(line), nil
}
