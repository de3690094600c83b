package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHash(t *testing.T) {
	base := func() AuthorizerSpec {
		return AuthorizerSpec{
			Type:           TypeToken,
			IdentitySource: StringOrList{"method.request.header.Authorization"},
			HTTP: &HTTPBackend{URL: "http://a/authorize", Headers: map[string]SecretValue{
				"x-b": {ValueFrom: &ValueFrom{Env: "B"}}, "x-a": {ValueFrom: &ValueFrom{File: "/a"}},
			}},
		}
	}
	defaulted := func(s AuthorizerSpec) AuthorizerSpec { s.Default(); return s }
	tests := []struct {
		name     string
		a, b     AuthorizerSpec
		wantSame bool
	}{
		{"same spec same hash", base(), base(), true},
		{"explicit default equals default", defaulted(base()), func() AuthorizerSpec {
			s := base()
			s.ResultTTLInSeconds = new(int32(300))
			s.HTTP.Timeout = &metav1.Duration{Duration: 5 * time.Second}
			return defaulted(s)
		}(), true},
		{"ttl change", base(), func() AuthorizerSpec { s := base(); s.ResultTTLInSeconds = new(int32(10)); return s }(), false},
		{"url change", base(), func() AuthorizerSpec { s := base(); s.HTTP.URL = "http://b/authorize"; return s }(), false},
		{"secret source change", base(), func() AuthorizerSpec {
			s := base()
			s.HTTP.Headers["x-b"] = SecretValue{ValueFrom: &ValueFrom{Env: "C"}}
			return s
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha, hb := tt.a.Hash(), tt.b.Hash()
			if len(ha) != 64 {
				t.Fatalf("hash %q is not 64 hex characters", ha)
			}
			if (ha == hb) != tt.wantSame {
				t.Fatalf("hashes %s and %s: same = %v, want %v", ha, hb, ha == hb, tt.wantSame)
			}
		})
	}
}
