package v1alpha1

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func (in *IntrospectionBackend) validate(errs *fieldErrors, p *field.Path) {
	validateURL(errs, p.Child("url"), in.URL)
	if in.ClientID == "" {
		errs.add(p.Child("clientId"), "required: the client Portcullis authenticates as")
	}
	validateSecret(errs, p.Child("clientSecret"), &in.ClientSecret)
	if in.TokenTypeHint != "" && !isTokenTypeHint(in.TokenTypeHint) {
		errs.add(p.Child("tokenTypeHint"), "%q: want a token type such as access_token", in.TokenTypeHint)
	}
	validateTimeout(errs, p.Child("timeout"), in.Timeout)
	for i, claim := range in.ContextClaims {
		if claim == "" {
			errs.add(p.Child("contextClaims").Index(i), "empty claim name")
		}
	}
	for i := range in.Policy {
		in.Policy[i].validate(errs, p.Child("policy").Index(i))
	}
}

// isTokenTypeHint accepts the names of RFC 7009's token type registry: letters, digits, '_',
// '-', '.', ':' (access_token, refresh_token, urn:... extensions).
func isTokenTypeHint(s string) bool {
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}
