package authorizer_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

const secretValue = "s3cr3t-value"

func TestResolveSecret(t *testing.T) {
	env := map[string]string{"AUTHZ_KEY": secretValue, "EMPTY": ""}
	files := map[string]string{
		"/run/key":    secretValue + "\n",
		"/run/crlf":   secretValue + "\r\n",
		"/run/inner":  "line1\nline2\n\n",
		"/run/blank":  "\n",
		"/run/spaces": " " + secretValue + " ",
	}
	getenv := func(name string) string { return env[name] }
	readFile := func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	fromEnv := func(name string) v1alpha1.SecretValue {
		return v1alpha1.SecretValue{ValueFrom: &v1alpha1.ValueFrom{Env: name}}
	}
	fromFile := func(path string) v1alpha1.SecretValue {
		return v1alpha1.SecretValue{ValueFrom: &v1alpha1.ValueFrom{File: path}}
	}
	tests := []struct {
		name    string
		secret  v1alpha1.SecretValue
		want    string
		wantErr string
	}{
		{"inline value", v1alpha1.SecretValue{Value: secretValue}, secretValue, ""},
		{"env var", fromEnv("AUTHZ_KEY"), secretValue, ""},
		{"file with trailing newline trimmed", fromFile("/run/key"), secretValue, ""},
		{"file with CRLF trimmed", fromFile("/run/crlf"), secretValue, ""},
		{"inner newlines kept", fromFile("/run/inner"), "line1\nline2", ""},
		{"spaces are part of the value", fromFile("/run/spaces"), " " + secretValue + " ", ""},
		{"unset env var names the var", fromEnv("MISSING"), "", "MISSING is not set or empty"},
		{"empty env var names the var", fromEnv("EMPTY"), "", "EMPTY is not set or empty"},
		{"missing file names the file", fromFile("/run/none"), "", "/run/none"},
		{"file of only a newline is empty", fromFile("/run/blank"), "", "/run/blank is empty"},
		{"nothing set", v1alpha1.SecretValue{}, "", "neither value nor valueFrom"},
		{"value and valueFrom", v1alpha1.SecretValue{Value: "x", ValueFrom: &v1alpha1.ValueFrom{Env: "AUTHZ_KEY"}}, "", "both value and valueFrom"},
		{"env and file", v1alpha1.SecretValue{ValueFrom: &v1alpha1.ValueFrom{Env: "AUTHZ_KEY", File: "/run/key"}}, "", "both env and file"},
		{"empty valueFrom", v1alpha1.SecretValue{ValueFrom: &v1alpha1.ValueFrom{}}, "", "neither env nor file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authorizer.ResolveSecret(tt.secret, getenv, readFile)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestResolveSecretDefaultsToTheProcess(t *testing.T) {
	t.Setenv("PORTCULLIS_TEST_SECRET", secretValue)
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(secretValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, from := range []v1alpha1.ValueFrom{{Env: "PORTCULLIS_TEST_SECRET"}, {File: path}} {
		got, err := authorizer.ResolveSecret(v1alpha1.SecretValue{ValueFrom: &from}, nil, nil)
		if err != nil || got != secretValue {
			t.Errorf("%+v: got %q, %v; want %q", from, got, err, secretValue)
		}
	}
}
