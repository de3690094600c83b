package arn

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts prints back unchanged.
func FuzzParse(f *testing.F) {
	f.Add("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/")
	f.Add("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42")
	f.Add("arn:aws:execute-api:us-east-1:123456789012:a/prod/GET")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
	})
}

// FuzzBuildParse checks Parse(Build(parts)) gives the parts back whenever they are valid.
func FuzzBuildParse(f *testing.F) {
	f.Add("us-east-1", "123456789012", "a1b2c3d4e5", "prod", "GET", "/")
	f.Add("eu-west-1", "000000000000", "api", "$default", "POST", "/pets/42")
	f.Add("us-east-1", "123456789012", "a", "prod", "GET", "no-leading-slash")
	f.Fuzz(func(t *testing.T, region, account, apiID, stage, method, path string) {
		s := Build(region, account, apiID, stage, method, path)
		a, err := Parse(s)
		valid := Validate(region, account, apiID, stage) == nil && checkMethod(method) == nil &&
			controlIndex(path) < 0
		if !valid {
			if err == nil && a.String() != s {
				t.Fatalf("Parse(%q) accepted but prints %q", s, a.String())
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse(Build(valid parts)) = %v; arn %q", err, s)
		}
		want := MethodArn{region, account, apiID, stage, method, "/" + strings.TrimPrefix(path, "/")}
		if a != want {
			t.Fatalf("Parse(%q) = %+v, want %+v", s, a, want)
		}
	})
}
