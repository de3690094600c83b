package request

import (
	"errors"
	"strings"
	"testing"
)

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		name, target, path, query string
	}{
		{"path only", "/pets", "/pets", ""},
		{"query split at first question mark", "/pets?a=1?b=2", "/pets", "a=1?b=2"},
		{"empty query kept empty", "/pets?", "/pets", ""},
		{"fragment dropped", "/pets#frag", "/pets", ""},
		{"fragment after query dropped", "/pets?a=1#frag", "/pets", "a=1"},
		{"question mark inside fragment is not a query", "/pets#x?a=1", "/pets", ""},
		{"empty target", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, query := SplitTarget(tt.target)
			if path != tt.path || query != tt.query {
				t.Errorf("SplitTarget(%q) = %q, %q; want %q, %q", tt.target, path, query, tt.path, tt.query)
			}
		})
	}
}

func TestCleanPathAccepts(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"root", "/", "/"},
		{"plain path unchanged", "/pets/42", "/pets/42"},
		{"trailing slash kept", "/pets/", "/pets/"},
		{"duplicate slashes kept, not merged", "/pets//42", "/pets//42"},
		{"semicolon is a literal character", "/pets;v=1/42", "/pets;v=1/42"},
		{"dots inside a segment are literal", "/a/..b/c.", "/a/..b/c."},
		{"three dots are a name", "/a/...", "/a/..."},
		{"percent-encoded space decoded", "/my%20file", "/my file"},
		{"raw space accepted like its decoded form", "/my file", "/my file"},
		{"lower-case hex decoded", "/%7euser", "/~user"},
		{"encoded question mark is a literal", "/a%3Fb", "/a?b"},
		{"encoded percent decoded once", "/100%25", "/100%"},
		{"harmless double encoding kept literal", "/%2541", "/%41"},
		{"encoded semicolon is literal", "/a%3Bb", "/a;b"},
		{"raw UTF-8", "/caf\u00e9", "/caf\u00e9"},
		{"encoded UTF-8", "/caf%C3%A9", "/caf\u00e9"},
		{"encoded dot inside a name", "/a%2Eb", "/a.b"},
		{"segment starting with dots then more", "/..a;b", "/..a;b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanPath(tt.raw)
			if err != nil {
				t.Fatalf("CleanPath(%q) error: %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("CleanPath(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestCleanPathRejects(t *testing.T) {
	tests := []struct {
		name, raw, reason string
	}{
		{"empty", "", "not absolute"},
		{"relative", "pets", "not absolute"},
		{"absolute-form URL", "http://host/pets", "not absolute"},
		{"asterisk-form", "*", "not absolute"},
		{"truncated escape", "/a%2", "invalid percent escape"},
		{"escape at end", "/a%", "invalid percent escape"},
		{"non-hex escape", "/a%zz", "invalid percent escape"},
		{"raw NUL", "/a\x00b", "control character"},
		{"encoded NUL", "/a%00b", "encoded control character"},
		{"raw newline", "/a\nb", "control character"},
		{"encoded CR", "/a%0d", "encoded control character"},
		{"raw DEL", "/a\x7f", "control character"},
		{"encoded DEL", "/a%7F", "encoded control character"},
		{"encoded C1 control", "/a%C2%85", "control character"},
		{"encoded slash upper-case", "/a%2Fb", "encoded slash"},
		{"encoded slash lower-case", "/a%2fb", "encoded slash"},
		{"raw backslash", "/a\\b", "backslash"},
		{"encoded backslash", "/a%5Cb", "encoded backslash"},
		{"dot segment", "/a/./b", "dot segment"},
		{"dot-dot segment", "/a/../b", "dot segment"},
		{"trailing dot-dot", "/a/..", "dot segment"},
		{"trailing dot", "/a/.", "dot segment"},
		{"leading dot-dot", "/../etc", "dot segment"},
		{"encoded dot-dot", "/a/%2e%2e/b", "dot segment"},
		{"mixed-case encoded dot-dot", "/a/%2E%2e", "dot segment"},
		{"half-encoded dot-dot", "/a/.%2e/b", "dot segment"},
		{"encoded single dot", "/a/%2E/b", "dot segment"},
		{"dot-dot with matrix parameter", "/..;/admin", "dot segment"},
		{"dot with matrix parameter", "/a/.;x=1/b", "dot segment"},
		{"overlong UTF-8 dot", "/a/%C0%AE%C0%AE/b", "invalid UTF-8"},
		{"overlong UTF-8 slash", "/a%C0%AFb", "invalid UTF-8"},
		{"raw invalid UTF-8", "/a\xffb", "invalid UTF-8"},
		{"truncated UTF-8", "/a%E2%82", "invalid UTF-8"},
		{"UTF-16 surrogate", "/a%ED%A0%80", "invalid UTF-8"},
		{"double-encoded slash", "/a%252Fb", "double-encoded"},
		{"double-encoded dot-dot", "/a/%252e%252e/b", "double-encoded"},
		{"double-encoded backslash", "/a%255c", "double-encoded"},
		{"double-encoded NUL", "/a%2500", "double-encoded"},
		{"double-encoded dot-dot with matrix parameter", "/%252e%252e;x/admin", "double-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanPath(tt.raw)
			if err == nil {
				t.Fatalf("CleanPath(%q) = %q, want error %q", tt.raw, got, tt.reason)
			}
			if !errors.Is(err, ErrBadPath) || !errors.Is(err, ErrBadRequest) {
				t.Errorf("CleanPath(%q) error %v does not wrap ErrBadPath and ErrBadRequest", tt.raw, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("CleanPath(%q) error %q, want reason %q", tt.raw, err, tt.reason)
			}
		})
	}
}

func TestCleanPathTooLong(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxPathBytes)
	_, err := CleanPath(long)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("CleanPath(%d bytes) error = %v, want ErrTooLarge", len(long), err)
	}
	if errors.Is(err, ErrBadRequest) {
		t.Errorf("ErrTooLarge must not be a kind of ErrBadRequest: the caller picks its status")
	}
	atLimit := "/" + strings.Repeat("a", MaxPathBytes-1)
	if _, err := CleanPath(atLimit); err != nil {
		t.Errorf("CleanPath(%d bytes) error = %v, want accepted", len(atLimit), err)
	}
}

func TestCleanPathPlainDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := CleanPath("/v1/pets/42/toys;color=red"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("CleanPath on a plain path allocates %v times, want 0", allocs)
	}
}
