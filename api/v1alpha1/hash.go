package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash is the hex sha256 of the spec's canonical JSON (struct fields in declaration order, map
// keys sorted). Caches key their entries with it so an authorizer whose spec changed does not
// reuse answers given under the old one. Hash a defaulted spec, so that writing out a default
// does not count as a change.
func (s *AuthorizerSpec) Hash() string {
	// Marshal cannot fail here: the spec holds only strings, booleans, integers, string-keyed
	// maps and metav1.Duration, whose MarshalJSON never fails.
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
