// Package testenv finds the real components that tests run against (nginx, Caddy, redis-server,
// the Kubernetes API server, the Lambda emulator) and the repository's own ./bin. A component that
// is missing skips the test on a developer's machine and fails it under CI (CI is set), where
// `make test` must have installed it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the test's directory to the one holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Binary returns the path of the program name: $envVar when set, else ./bin/name under the
// repository root, else name on PATH (and the usual sbin folders, where Debian puts nginx and
// redis-server). Missing, it skips the test, or fails it under CI; install says how to get it.
func Binary(t testing.TB, name, envVar, install string) string {
	t.Helper()
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			return p
		}
	}
	candidates := []string{filepath.Join(RepoRoot(t), "bin", name)}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/sbin/"+name, "/usr/local/sbin/"+name)
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, fmt.Sprintf("%s not found in ./bin, on PATH or in /usr/sbin: %s", name, install))
	return ""
}

// Missing skips the test, or fails it under CI, for a real component that is not there.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreePort returns a loopback port that was free a moment ago, for programs that must be told
// their port in a config file rather than report the one they bound.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
