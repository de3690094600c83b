package deploy

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// pinnedTool is a binary the tests run: the path in env when that is set, else ./bin/name,
// which `make` builds or installs at a pinned version.
type pinnedTool struct {
	name    string
	env     string // overrides the path; empty: none
	install string // the make target that provides it
}

func helmPath(t *testing.T) string {
	t.Helper()
	return pinnedTool{name: "helm", env: "PORTCULLIS_HELM", install: "make tools"}.path(t)
}

func controllerGenPath(t *testing.T) string {
	t.Helper()
	return pinnedTool{name: "controller-gen", install: "make tools"}.path(t)
}

func portcullisPath(t *testing.T) string {
	t.Helper()
	return pinnedTool{name: "portcullis", install: "make build"}.path(t)
}

// path finds the tool. Under CI (CI=true) a missing tool fails the test, since the Makefile
// provides it before the tests run; elsewhere the test is skipped with the command to run.
func (p pinnedTool) path(t *testing.T) string {
	t.Helper()
	if p.env != "" {
		if v := os.Getenv(p.env); v != "" {
			return v
		}
	}
	bin := filepath.Join(repoRoot(t), "bin", p.name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing under CI: the Makefile provides it before the tests (%s)", bin, p.install)
	}
	t.Skipf("%s is not installed: run %s", bin, p.install)
	return ""
}
