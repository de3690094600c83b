package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func globOf(t testing.TB, pattern string) glob {
	t.Helper()
	atoms, _, err := parseValue(pattern, valueSyntax{wildcards: true})
	if err != nil {
		t.Fatalf("parseValue(%q): %v", pattern, err)
	}
	return newGlob(atoms)
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		text    string
		want    bool
	}{
		{"exact", "a/b", "a/b", true},
		{"exact is whole string", "a/b", "a/b/c", false},
		{"exact is case-sensitive", "a/B", "a/b", false},
		{"star alone matches empty", "*", "", true},
		{"star alone matches slashes", "*", "a/b/c", true},
		{"star crosses slash", "a/*", "a/b/c/d", true},
		{"star matches empty run", "a/*", "a/", true},
		{"prefix must hold", "a/*", "b/a/", false},
		{"star in the middle crosses slashes", "a/*/d", "a/b/c/d", true},
		{"star in the middle needs the tail", "a/*/d", "a/b/c/e", false},
		{"question mark is one character", "pets/4?", "pets/42", true},
		{"question mark is not zero characters", "pets/4?", "pets/4", false},
		{"question mark is not two characters", "pets/4?", "pets/420", false},
		{"question mark matches a slash", "a?b", "a/b", true},
		{"question mark is one multi-byte character", "caf?", "café", true},
		{"two question marks are not one multi-byte character", "caf??", "café", false},
		{"star then question mark needs one character", "*?", "", false},
		{"stars collapse", "a**b", "ab", true},
		{"many stars stay linear", "*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 4000), false},
		{"many stars with a question mark stay linear", "*a*a*a*a*a*a*a*a*?b", strings.Repeat("a", 4000), false},
		{"star segments in order", "x*ab*cd*y", "xcdabcdy", true},
		{"star segments out of order", "x*ab*cd*y", "xcdaby", false},
		{"star segments do not overlap", "*aba*aba*", "ababa", false},
		{"suffix fast path rejects", "arn:*/GET/pets", "arn:x/GET/pets/1", false},
		{"prefix and suffix cannot overlap", "ab*ba", "aba", false},
		{"backtracking after a mismatch", "*ab*c", "aabxabyc", true},
		{"star retries stay on character boundaries", "*??xy", "€xy", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := globOf(t, tt.pattern)
			if got := g.match(tt.text); got != tt.want {
				t.Errorf("glob %q match %q = %v, want %v", tt.pattern, tt.text, got, tt.want)
			}
		})
	}
}

func TestGlobFastPaths(t *testing.T) {
	tests := []struct {
		pattern string
		want    globKind
	}{
		{"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/", globExact},
		{"*", globAny},
		{"***", globAny},
		{"arn:aws:execute-api:us-east-1:123456789012:api/prod/*", globPrefix},
		{"arn:aws:execute-api:*:123456789012:api/prod/GET/*", globStars},
		{"*/admin/*", globStars},
		{"arn:x/GET/pets/?", globGeneral},
		{"arn:*/GET/?/*", globGeneral},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if got := globOf(t, tt.pattern).kind; got != tt.want {
				t.Errorf("kind = %d, want %d", got, tt.want)
			}
		})
	}
}

// refMatch is the definition of wildcard matching, written for clarity rather than speed: "*"
// tries every split at a character boundary. seen memoises failures so fuzzed patterns with
// many stars stay cheap.
func refMatch(p []atom, s string, seen map[[2]int]bool, pi, si int) bool {
	key := [2]int{pi, si}
	if seen[key] {
		return false
	}
	ok := refStep(p, s, seen, pi, si)
	if !ok {
		seen[key] = true
	}
	return ok
}

func refStep(p []atom, s string, seen map[[2]int]bool, pi, si int) bool {
	if pi == len(p) {
		return si == len(s)
	}
	switch p[pi] {
	case starAtom:
		for i := si; ; {
			if refMatch(p, s, seen, pi+1, i) {
				return true
			}
			if i == len(s) {
				return false
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
		}
	case oneAtom:
		if si == len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[si:])
		return refMatch(p, s, seen, pi+1, si+n)
	}
	return si < len(s) && byte(p[pi]) == s[si] && refMatch(p, s, seen, pi+1, si+1)
}

// FuzzGlob compares the compiled matcher with refMatch. Policy text is always valid UTF-8 (it
// comes from JSON strings); the comparison is made for valid UTF-8 text, and any input must at
// least not panic.
func FuzzGlob(f *testing.F) {
	f.Add("a/*", "a/b/c")
	f.Add("*a*a*b", "aaaaaaaaaa")
	f.Add("caf?", "café")
	f.Add("*??xy", "€xy")
	f.Add("arn:*/GET/pets/?", "arn:x/GET/pets/1")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		atoms, _, err := parseValue(pattern, valueSyntax{wildcards: true})
		if err != nil {
			t.Fatalf("parseValue(%q): %v", pattern, err)
		}
		g := newGlob(atoms)
		got := g.match(text)
		direct := matchAtoms(atoms, text)
		if !utf8.ValidString(pattern) || !utf8.ValidString(text) {
			return
		}
		want := refMatch(atoms, text, map[[2]int]bool{}, 0, 0)
		if got != want || direct != want {
			t.Fatalf("pattern %q text %q: glob %v, matchAtoms %v, reference %v", pattern, text, got, direct, want)
		}
	})
}
