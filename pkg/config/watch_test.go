package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitCall waits for one call on ch, failing the test after a generous bound: the watcher has
// to see the change, not be fast.
func waitCall(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no reload after %s", what)
	}
}

func TestWatchSeesChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	file := filepath.Join(dir, "portcullis.conf")
	os.WriteFile(file, []byte("a"), 0o600)
	calls := make(chan struct{}, 10)
	if err := Watch(ctx, []string{dir, file}, 20*time.Millisecond, func() { calls <- struct{}{} }); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(filepath.Join(dir, "apis.yaml"), []byte("x"), 0o600)
	waitCall(t, calls, "a new yaml file")

	os.WriteFile(file, []byte("b"), 0o600)
	waitCall(t, calls, "a write to an explicit file")

	// A ConfigMap mount: ..data is a symlink swapped with a rename.
	os.Mkdir(filepath.Join(dir, "..2026_11_25"), 0o700)
	os.Symlink("..2026_11_25", filepath.Join(dir, "..data_tmp"))
	os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data"))
	waitCall(t, calls, "a ..data symlink swap")

	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)
	select {
	case <-calls:
		t.Fatal("reload for a file the loader never reads")
	case <-time.After(200 * time.Millisecond):
	}
}
