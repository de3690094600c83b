package jwt

import (
	"context"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// FuzzAuthorize feeds arbitrary tokens to an HMAC authorizer: never a panic, and nothing but a
// correctly signed token is ever accepted.
func FuzzAuthorize(f *testing.F) {
	const secret = "fuzz-secret-fuzz-secret-fuzz-secret!"
	for _, seed := range []string{
		"", "Bearer ", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uL2V0Yy9wYXNzd2QifQ.eyJzdWIiOiJ4In0.c2ln",
	} {
		f.Add(seed)
	}
	s := spec("", "HS256")
	s.Keys = &v1alpha1.JWTKeys{HMACSecret: &v1alpha1.SecretValue{Value: secret}}
	a := newAuthorizer(f, s)
	f.Fuzz(func(t *testing.T, token string) {
		if resp, err := a.Authorize(context.Background(), request(token)); err == nil {
			t.Fatalf("accepted a forged token %q: %v", token, resp)
		}
	})
}
