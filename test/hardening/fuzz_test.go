package hardening

import (
	"testing"
	"unicode/utf8"
)

// FuzzPathInvariant sends fuzzed methods and request targets through the whole pipeline over gRPC
// and holds every answer to the path confusion invariants (pathRig.verify): an allow is decided
// on /public and no upstream reading routes it under /admin, every decision names exactly the
// decoded path, and the backend is asked about that same methodArn. `make fuzz` runs it.
func FuzzPathInvariant(f *testing.F) {
	for _, seed := range []struct{ method, target string }{
		{"GET", "/public/x"},
		{"get", "/admin/x"},
		{"GET", "/public/%2e%2e/admin"},
		{"GET", "/public/..%252fadmin"},
		{"POST", "/public;/../admin/x"},
	} {
		f.Add(seed.method, seed.target)
	}
	rig := newPathRig(f)
	f.Fuzz(func(t *testing.T, method, target string) {
		// Go's protobuf cannot send strings that are not UTF-8; TestRawNonUTF8 sends them raw.
		if !utf8.ValidString(method) || !utf8.ValidString(target) {
			t.Skip()
		}
		counts.attacks.Add(1)
		res := rig.send(t, method, target, nil)
		expectOneOf(t, method+" "+target, res.verdict, wantAllow, wantBadRequest, wantMissingToken, wantExplicitDeny, wantURITooLong)
	})
}
