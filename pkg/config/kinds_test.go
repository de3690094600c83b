package config

import (
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Every authorizer type and protocol the config spells compiles to its own small value, and
// back to the same spelling.
func TestKindsCompileAndSpellBack(t *testing.T) {
	seen := map[AuthorizerType]bool{}
	for _, typ := range []string{v1alpha1.TypeToken, v1alpha1.TypeRequest, v1alpha1.TypeJWT} {
		k := authorizerTypes[typ]
		if k == 0 || seen[k] || k.String() != typ {
			t.Errorf("type %q compiles to %d, spelt %q", typ, k, k.String())
		}
		seen[k] = true
	}
	for _, p := range []string{v1alpha1.ProtocolREST, v1alpha1.ProtocolHTTP} {
		if got := protocolOf(p).String(); got != p {
			t.Errorf("protocol %q spells back as %q", p, got)
		}
	}
	if protocolOf("") != REST {
		t.Error("an Api without a protocol is not REST")
	}
}
