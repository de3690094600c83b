package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/portcullis-dev/portcullis/pkg/config"
)

const jwtConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: corp}
spec:
  type: JWT
  jwt:
    issuer: https://issuer.test
    audience: [api]
    algorithms: [HS256]
    keys: {hmacSecret: {value: 0123456789abcdef0123456789abcdef}}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: api}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: api1
  stage: prod
  defaultAuthorizer: corp
  routes:
    - {path: "/admin/{proxy+}", methods: [ANY], authorizationScopes: [admin]}
    - {path: "/pets", methods: [GET]}
`

func jwtEngine(t testing.TB) *Engine {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte(jwtConfig), 0o600)
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func hs256(t testing.TB, scope string) string {
	claims := gojwt.MapClaims{"iss": "https://issuer.test", "aud": "api", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix(), "scope": scope}
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + s
}

func TestRouteScopes(t *testing.T) {
	e := jwtEngine(t)
	tests := []struct {
		name, scope, path string
		want              Outcome
	}{
		{"scope held", "read admin", "/admin/users", Allow},
		{"scope missing is 403", "read", "/admin/users", ImplicitDeny},
		{"no scopes needed", "read", "/pets", Allow},
		{"same token cached, other route still checked", "read", "/admin/x", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("GET", "any.host", tt.path, map[string]string{"authorization": hs256(t, tt.scope)})
			d := e.Decide(context.Background(), r)
			if d.Outcome != tt.want {
				t.Fatalf("got %s (%v), want %s", d.Outcome, d.Err, tt.want)
			}
			if !d.JWT {
				t.Error("a JWT authorizer's decision must say so (401s carry www-authenticate)")
			}
		})
	}
}

// BenchmarkDecideCachedJWT is a cached JWT decision: no signature check, the cached policy
// re-evaluated.
func BenchmarkDecideCachedJWT(b *testing.B) {
	e := jwtEngine(b)
	r := req("GET", "any.host", "/pets", map[string]string{"authorization": hs256(b, "read")})
	ctx := context.Background()
	if d := e.Decide(ctx, r); d.Outcome != Allow {
		b.Fatal(d.Outcome, d.Err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d := e.Decide(ctx, r)
		if d.Outcome != Allow || !d.Cached {
			b.Fatal(d.Outcome)
		}
		e.Release(d)
	}
}
