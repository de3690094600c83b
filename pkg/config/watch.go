package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch calls changed after the configuration under paths changes on disk, until ctx ends. It
// watches the directories that hold the paths rather than the files themselves, so that editors
// that replace a file and Kubernetes ConfigMap mounts, which swap a `..data` symlink, are seen.
// Bursts of events are folded into one call after quiet has passed without another.
func Watch(ctx context.Context, paths []string, quiet time.Duration, changed func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("config watch: %w", err)
	}
	dirs, files := map[string]bool{}, map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			w.Close()
			return fmt.Errorf("config watch: %w", err)
		}
		dir := abs
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			dir = filepath.Dir(abs)
			files[abs] = true
		}
		if !dirs[dir] {
			if err := w.Add(dir); err != nil {
				w.Close()
				return fmt.Errorf("config watch %s: %w", dir, err)
			}
			dirs[dir] = true
		}
	}
	go watchLoop(ctx, w, files, quiet, changed)
	return nil
}

func watchLoop(ctx context.Context, w *fsnotify.Watcher, files map[string]bool, quiet time.Duration, changed func()) {
	defer w.Close()
	timer := time.NewTimer(quiet)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if files[ev.Name] || relevant(ev) {
				timer.Reset(quiet)
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			// A lost event (queue overflow) may hide a change: reload to be sure.
			timer.Reset(quiet)
		case <-timer.C:
			changed()
		}
	}
}

// relevant reports whether an event can change what Load reads: a YAML file, or the `..data`
// symlink of a ConfigMap mount. Chmod alone changes nothing.
func relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	base := filepath.Base(ev.Name)
	switch filepath.Ext(base) {
	case ".yaml", ".yml":
		return base[0] != '.'
	}
	return base == "..data"
}
