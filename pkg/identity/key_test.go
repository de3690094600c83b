package identity

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestKeyDistinguishes(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name string
		a, b func() [32]byte
	}{
		{"value boundary moves", func() [32]byte { return Key("u", "1", []string{"ab", "c"}) },
			func() [32]byte { return Key("u", "1", []string{"a", "bc"}) }},
		{"uid and generation boundary moves", func() [32]byte { return Key("ab", "c", nil) },
			func() [32]byte { return Key("a", "bc", nil) }},
		{"trailing empty value counts", func() [32]byte { return Key("u", "1", []string{"a"}) },
			func() [32]byte { return Key("u", "1", []string{"a", ""}) }},
		{"generation changes key", func() [32]byte { return Key("u", "1", []string{"t"}) },
			func() [32]byte { return Key("u", "2", []string{"t"}) }},
		{"authorizer changes key", func() [32]byte { return Key("u", "1", []string{"t"}) },
			func() [32]byte { return Key("v", "1", []string{"t"}) }},
		{"long values differing at the end", func() [32]byte { return Key("u", "1", []string{long + "a"}) },
			func() [32]byte { return Key("u", "1", []string{long + "b"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a() == tt.b() {
				t.Fatal("different inputs share a key")
			}
		})
	}
}

// TestKeyEncoding pins the encoding, so a change to it (which silently empties every cache)
// is a deliberate one.
func TestKeyEncoding(t *testing.T) {
	long := strings.Repeat("y", 1500)
	var want []byte
	for _, s := range []string{"tokens", "7", "Bearer abc", long} {
		n := len(s)
		want = append(want, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		want = append(want, s...)
	}
	if got := Key("tokens", "7", []string{"Bearer abc", long}); got != sha256.Sum256(want) {
		t.Fatalf("Key = %x, want sha256 of the length-prefixed encoding %x", got, sha256.Sum256(want))
	}
}

func BenchmarkKey(b *testing.B) {
	values := []string{"Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiIxMjM0NTY3ODkwIiwic2NvcGUiOiJyZWFkIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"}
	generation := strings.Repeat("ab", 32)
	b.ReportAllocs()
	for b.Loop() {
		_ = Key("tokens", generation, values)
	}
}
