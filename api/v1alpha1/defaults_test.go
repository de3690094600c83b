package v1alpha1

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAuthorizerDefaults(t *testing.T) {
	ttl := func(s AuthorizerSpec) int32 { return *s.ResultTTLInSeconds }
	tests := []struct {
		name  string
		spec  AuthorizerSpec
		check func(t *testing.T, s AuthorizerSpec)
	}{
		{"ttl defaults to 300", AuthorizerSpec{Type: TypeToken}, func(t *testing.T, s AuthorizerSpec) {
			if ttl(s) != 300 {
				t.Errorf("ttl = %d", ttl(s))
			}
		}},
		{"explicit ttl 0 kept", AuthorizerSpec{Type: TypeToken, ResultTTLInSeconds: new(int32(0))}, func(t *testing.T, s AuthorizerSpec) {
			if ttl(s) != 0 {
				t.Errorf("ttl = %d", ttl(s))
			}
		}},
		{"http timeout defaults to 5s", AuthorizerSpec{HTTP: &HTTPBackend{}}, func(t *testing.T, s AuthorizerSpec) {
			if s.HTTP.Timeout.Duration != 5*time.Second {
				t.Errorf("timeout = %s", s.HTTP.Timeout.Duration)
			}
		}},
		{"lambda timeout defaults to 5s", AuthorizerSpec{Lambda: &LambdaBackend{}}, func(t *testing.T, s AuthorizerSpec) {
			if s.Lambda.Timeout.Duration != 5*time.Second {
				t.Errorf("timeout = %s", s.Lambda.Timeout.Duration)
			}
		}},
		{"explicit timeout kept", AuthorizerSpec{HTTP: &HTTPBackend{Timeout: &metav1.Duration{Duration: time.Second}}}, func(t *testing.T, s AuthorizerSpec) {
			if s.HTTP.Timeout.Duration != time.Second {
				t.Errorf("timeout = %s", s.HTTP.Timeout.Duration)
			}
		}},
		{"jwt defaults", AuthorizerSpec{Type: TypeJWT, JWT: &JWTBackend{}}, func(t *testing.T, s AuthorizerSpec) {
			if !slices.Equal(s.JWT.Algorithms, []string{"RS256", "ES256", "PS256"}) || s.JWT.ClockSkew.Duration != time.Minute ||
				s.JWT.PrincipalIDClaim != "sub" || !slices.Equal(s.IdentitySource, StringOrList{"$request.header.Authorization"}) {
				t.Errorf("jwt defaults not applied: %+v, identitySource %q", s.JWT, s.IdentitySource)
			}
		}},
		{"payload format left unset", AuthorizerSpec{Type: TypeRequest}, func(t *testing.T, s AuthorizerSpec) {
			if s.PayloadFormatVersion != "" {
				t.Errorf("payloadFormatVersion = %q, want it unset", s.PayloadFormatVersion)
			}
		}},
		{"token source not defaulted", AuthorizerSpec{Type: TypeToken}, func(t *testing.T, s AuthorizerSpec) {
			if len(s.IdentitySource) != 0 {
				t.Errorf("identitySource = %q", s.IdentitySource)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Default()
			tt.check(t, tt.spec)
		})
	}
}

func TestDefaultAlgorithmsNotShared(t *testing.T) {
	a := DefaultAlgorithms()
	a[0] = "HS256"
	if DefaultAlgorithms()[0] != "RS256" {
		t.Fatal("changing one default changed the next")
	}
}

func TestApiDefaults(t *testing.T) {
	s := ApiSpec{Routes: []Route{{Path: "/a", Methods: []string{"get", "Post", "ANY"}}}}
	s.Default()
	if s.Protocol != ProtocolREST || s.BasePath != "/" || !slices.Equal(s.Routes[0].Methods, []string{"GET", "POST", "ANY"}) {
		t.Fatalf("defaults not applied: %+v", s)
	}
	s = ApiSpec{Protocol: ProtocolHTTP, BasePath: "/v1"}
	s.Default()
	if s.Protocol != ProtocolHTTP || s.BasePath != "/v1" {
		t.Fatalf("explicit values changed: %+v", s)
	}
}

func TestEffectivePayloadFormatVersion(t *testing.T) {
	tests := []struct {
		name     string
		spec     AuthorizerSpec
		protocol string
		want     string
	}{
		{"REQUEST on REST defaults to 1.0", AuthorizerSpec{Type: TypeRequest}, ProtocolREST, "1.0"},
		{"REQUEST on HTTP defaults to 2.0", AuthorizerSpec{Type: TypeRequest}, ProtocolHTTP, "2.0"},
		{"REQUEST unset protocol is REST", AuthorizerSpec{Type: TypeRequest}, "", "1.0"},
		{"explicit 1.0 wins on HTTP", AuthorizerSpec{Type: TypeRequest, PayloadFormatVersion: "1.0"}, ProtocolHTTP, "1.0"},
		{"explicit 2.0 wins on REST", AuthorizerSpec{Type: TypeRequest, PayloadFormatVersion: "2.0"}, ProtocolREST, "2.0"},
		{"TOKEN follows 1.0", AuthorizerSpec{Type: TypeToken}, ProtocolHTTP, "1.0"},
		{"JWT has none", AuthorizerSpec{Type: TypeJWT}, ProtocolHTTP, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EffectivePayloadFormatVersion(&tt.spec, tt.protocol); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
