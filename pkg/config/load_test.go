package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

func TestLoadDirectory(t *testing.T) {
	set, err := Load("testdata/valid")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var names []string
	for _, a := range set.Authorizers {
		names = append(names, a.Name)
	}
	for _, a := range set.Apis {
		names = append(names, a.Name)
	}
	if want := []string{"tokens", "admins", "tenants", "petstore", "tenants"}; !slices.Equal(names, want) {
		t.Fatalf("loaded %q, want %q (file order, hidden files and sub-directories skipped)", names, want)
	}

	tokens, admins, tenants := set.Authorizer("tokens"), set.Authorizer("admins"), set.Authorizer("tenants")
	if tokens.Kind != v1alpha1.KindAuthorizer || tokens.APIVersion != v1alpha1.APIVersion {
		t.Errorf("type meta not decoded: %+v", tokens.TypeMeta)
	}
	if *tokens.Spec.ResultTTLInSeconds != 300 || tokens.Spec.HTTP.Timeout.Duration != 2*time.Second ||
		tokens.Spec.HTTP.Headers["x-api-key"].ValueFrom.Env != "AUTHZ_KEY" {
		t.Errorf("tokens decoded wrong: %+v", tokens.Spec)
	}
	if admins.Namespace != "portcullis" || admins.Labels["app.kubernetes.io/part-of"] != "petstore" {
		t.Errorf("metadata not decoded: %+v", admins.ObjectMeta)
	}
	if !slices.Equal(admins.Spec.IdentitySource, v1alpha1.StringOrList{"$request.header.Authorization"}) ||
		admins.Spec.JWT.PrincipalIDClaim != "sub" || len(admins.Spec.JWT.Policy) != 2 {
		t.Errorf("admins not defaulted: %+v", admins.Spec)
	}
	if !slices.Equal(tenants.Spec.IdentitySource, v1alpha1.StringOrList{"$request.header.X-Tenant", "$request.querystring.key"}) ||
		*tenants.Spec.ResultTTLInSeconds != 0 || tenants.Spec.Lambda.Timeout.Duration != 1500*time.Millisecond {
		t.Errorf("tenants decoded wrong: %+v", tenants.Spec)
	}
	petstore := set.Apis[0]
	if petstore.Spec.Routes[3].Methods[0] != "GET" || petstore.Spec.BasePath != "/" {
		t.Errorf("petstore not defaulted: %+v", petstore.Spec)
	}
}

func TestLoadSeveralPaths(t *testing.T) {
	set, err := Load("testdata/valid/20-apis.yml", "testdata/valid/10-authorizers.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(set.Authorizers) != 3 || len(set.Apis) != 2 {
		t.Fatalf("loaded %d authorizers, %d apis", len(set.Authorizers), len(set.Apis))
	}
}

// TestLoadConfigMapVolume reads a directory laid out as Kubernetes mounts a ConfigMap: the data
// in a hidden timestamped directory, "..data" linking to it, and each key a link through "..data".
func TestLoadConfigMapVolume(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_01_01_00_00_00.000000001")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"10-authorizers.yaml", "20-apis.yml"} {
		content, err := os.ReadFile(filepath.Join("testdata/valid", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(set.Authorizers) != 3 || len(set.Apis) != 2 {
		t.Fatalf("loaded %d authorizers and %d apis, want each file once", len(set.Authorizers), len(set.Apis))
	}
}

func TestLoadPathErrors(t *testing.T) {
	empty := t.TempDir()
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	dangling := t.TempDir()
	if err := os.Symlink("nowhere.yaml", filepath.Join(dangling, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", "testdata/nope.yaml", "testdata/nope.yaml: no such file or directory"},
		{"directory without configs", empty, empty + ": no *.yaml or *.yml files in this directory"},
		{"file too large", big, big + ": larger than 4194304 bytes"},
		{"dangling link", dangling, filepath.Join(dangling, "a.yaml") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Load error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Load(); err == nil {
		t.Fatal("Load with no paths succeeded")
	}
}

func TestErrorListExposesEveryError(t *testing.T) {
	_, err := LoadBytes("x.yaml", []byte("kind: Api\n---\nkind: Authorizer\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) < 2 {
		t.Fatalf("error %v is not an ErrorList of every problem", err)
	}
	var one *Error
	if !errors.As(err, &one) || one.File != "x.yaml" {
		t.Fatalf("errors.As did not find an *Error in %v", err)
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(list) {
		t.Fatalf("Error() has %d lines for %d errors", got, len(list))
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  Error
		want string
	}{
		{"full", Error{File: "a.yaml", Line: 3, Kind: "Api", Name: "p", Field: "spec.stage", Reason: "required"},
			"a.yaml:3: Api/p: spec.stage: required"},
		{"no field", Error{File: "a.yaml", Line: 3, Kind: "Api", Name: "p", Reason: "r"}, "a.yaml:3: Api/p: r"},
		{"no name", Error{File: "a.yaml", Line: 1, Kind: "Api", Field: "metadata.name", Reason: "required"},
			"a.yaml:1: Api: metadata.name: required"},
		{"file only", Error{File: "a.yaml", Reason: "no such file"}, "a.yaml: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
