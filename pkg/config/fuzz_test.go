package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBytes holds the loader to its contract on any input: no panic, and either a Set whose
// objects are defaulted and valid, or an ErrorList whose every error names the file.
func FuzzLoadBytes(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.y*ml", "testdata/errors/*.yaml"} {
		paths, _ := filepath.Glob(pattern)
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := LoadBytes("f.yaml", data)
		if err != nil {
			var list ErrorList
			if set != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("LoadBytes = %v, %v: want no Set and a non-empty ErrorList", set, err)
			}
			for _, e := range list {
				if e.File != "f.yaml" || e.Reason == "" {
					t.Fatalf("error %q does not name the file and a reason", e.Error())
				}
			}
			return
		}
		for _, a := range set.Authorizers {
			if a.Spec.ResultTTLInSeconds == nil {
				t.Fatalf("Authorizer %q not defaulted", a.Name)
			}
			if problems := a.Validate(); len(problems) > 0 {
				t.Fatalf("Authorizer %q loaded with problems %v", a.Name, problems)
			}
			if file, line := set.Position(a, "spec.type"); file != "f.yaml" || line < 1 {
				t.Fatalf("Position of Authorizer %q = %s:%d", a.Name, file, line)
			}
		}
		for _, a := range set.Apis {
			if problems := a.Validate(); len(problems) > 0 {
				t.Fatalf("Api %q loaded with problems %v", a.Name, problems)
			}
		}
	})
}
