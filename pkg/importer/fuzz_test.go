package importer

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary bytes as a definition: the import either refuses them with an
// InputError or writes documents, and never panics or loops.
func FuzzImport(f *testing.F) {
	for _, seed := range []string{"written/swagger-export.json", "written/intrinsics.yaml", "bad/ref-loop.json", "written/http-export.yaml"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		file := filepath.Join(t.TempDir(), "in.yaml")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		res, err := Import([]string{file}, baseOpts)
		if (res == nil) == (err == nil) {
			t.Fatalf("Import gave result %v and error %v", res != nil, err)
		}
	})
}
