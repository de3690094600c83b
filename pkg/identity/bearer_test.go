package identity

import (
	"regexp"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"canonical", "Bearer abc.def", "abc.def"},
		{"lower-case scheme", "bearer abc", "abc"},
		{"upper-case scheme", "BEARER abc", "abc"},
		{"extra spaces after scheme", "Bearer   abc", "abc"},
		{"bare token unchanged", "abc.def", "abc.def"},
		{"scheme without space is not a scheme", "Bearerabc", "Bearerabc"},
		{"other scheme unchanged", "Basic dXNlcg==", "Basic dXNlcg=="},
		{"scheme alone", "Bearer ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BearerToken(tt.in); got != tt.want {
				t.Fatalf("BearerToken(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	f.Add("Bearer abc")
	f.Add("bEaReR  x")
	f.Add("token")
	scheme := regexp.MustCompile(`(?i)^bearer +$`)
	f.Fuzz(func(t *testing.T, v string) {
		got := BearerToken(v)
		if len(got) > len(v) || v[len(v)-len(got):] != got {
			t.Fatalf("BearerToken(%q) = %q is not a suffix", v, got)
		}
		if got != v && !scheme.MatchString(v[:len(v)-len(got)]) {
			t.Fatalf("BearerToken(%q) = %q removed more than the scheme", v, got)
		}
	})
}

func TestCompileValidation(t *testing.T) {
	tests := []struct {
		name, expr, value string
		want              bool
	}{
		{"whole value matches", `Bearer [a-z]+`, "Bearer abc", true},
		{"prefix match is not enough", `Bearer [a-z]+`, "Bearer abc!", false},
		{"suffix match is not enough", `[a-z]+`, "X abc", false},
		{"alternation anchored as a whole", `a|b`, "ab", false},
		{"alternation branch matches", `a|b`, "b", true},
		{"expression already anchored", `^Bearer [-0-9A-Za-z._~+/]+=*$`, "Bearer a.b-c", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := CompileValidation(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := re.MatchString(tt.value); got != tt.want {
				t.Fatalf("%q matching %q = %v, want %v", tt.expr, tt.value, got, tt.want)
			}
		})
	}
}

func TestCompileValidationRejects(t *testing.T) {
	for _, expr := range []string{`a)|(b`, `(?=x)`, `[`} {
		if _, err := CompileValidation(expr); err == nil {
			t.Errorf("CompileValidation(%q) succeeded", expr)
		}
	}
}
