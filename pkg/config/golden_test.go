package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/errors")

// TestGoldenErrors loads each testdata/errors/*.yaml and compares every error it reports with
// the .golden file beside it (go test -update rewrites them).
func TestGoldenErrors(t *testing.T) {
	paths, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
