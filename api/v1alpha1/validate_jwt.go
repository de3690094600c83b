package v1alpha1

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Algorithms a JWT backend may accept. "none" is not among them and never will be.
var (
	hmacAlgorithms       = []string{"HS256", "HS384", "HS512"}
	asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
)

func (j *JWTBackend) validate(errs *fieldErrors, p *field.Path) {
	if j.Issuer == "" {
		errs.add(p.Child("issuer"), "required: the exact iss claim of accepted tokens")
	}
	for i, aud := range j.Audience {
		if aud == "" {
			errs.add(p.Child("audience").Index(i), "empty audience")
		}
	}
	j.validateKeySource(errs, p)
	j.validateAlgorithms(errs, p.Child("algorithms"))
	if j.ClockSkew != nil && j.ClockSkew.Duration < 0 {
		errs.add(p.Child("clockSkew"), "%s is negative", j.ClockSkew.Duration)
	}
	if j.PrincipalIDClaim == "" {
		errs.add(p.Child("principalIdClaim"), "required")
	}
	for i, claim := range j.ContextClaims {
		if claim == "" {
			errs.add(p.Child("contextClaims").Index(i), "empty claim name")
		}
	}
	for i := range j.Policy {
		j.Policy[i].validate(errs, p.Child("policy").Index(i))
	}
}

// validateKeySource checks that the backend has exactly one place to get keys from.
func (j *JWTBackend) validateKeySource(errs *fieldErrors, p *field.Path) {
	switch {
	case j.JWKSURI != "" && j.Keys != nil:
		errs.add(p, "jwksUri and keys are both set: set one")
	case j.JWKSURI != "":
		validateURL(errs, p.Child("jwksUri"), j.JWKSURI)
	case j.Keys != nil:
		j.Keys.validate(errs, p.Child("keys"))
	case !isDiscoverable(j.Issuer):
		errs.add(p, "no keys: set jwksUri or keys, or use an http(s) issuer that publishes OIDC discovery")
	}
}

func isDiscoverable(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Hostname() != ""
}

func (k *JWTKeys) validate(errs *fieldErrors, p *field.Path) {
	var set []string
	if k.JWKS != "" {
		set = append(set, "jwks")
	}
	if k.PEMFile != "" {
		set = append(set, "pemFile")
	}
	if k.HMACSecret != nil {
		set = append(set, "hmacSecret")
	}
	switch {
	case len(set) == 0:
		errs.add(p, "set one of jwks, pemFile or hmacSecret")
	case len(set) > 1:
		errs.add(p, "%s are all set: set one", strings.Join(set, " and "))
	case k.JWKS != "":
		validateJWKS(errs, p.Child("jwks"), k.JWKS)
	case k.HMACSecret != nil:
		validateSecret(errs, p.Child("hmacSecret"), k.HMACSecret)
	}
}

// validateJWKS checks the shape of an inline key set; the keys themselves are parsed when the
// backend is built.
func validateJWKS(errs *fieldErrors, p *field.Path, jwks string) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		errs.add(p, "not a JSON Web Key Set: %v", err)
		return
	}
	if len(set.Keys) == 0 {
		errs.add(p, "the key set holds no keys")
	}
}

// validateAlgorithms refuses unknown algorithms and mixing HMAC with public-key algorithms: a
// verifier that accepts both can be fooled into using a public key as an HMAC secret.
func (j *JWTBackend) validateAlgorithms(errs *fieldErrors, p *field.Path) {
	hmacKey := j.Keys != nil && j.Keys.HMACSecret != nil
	for i, alg := range j.Algorithms {
		isHMAC := slices.Contains(hmacAlgorithms, alg)
		switch {
		case strings.EqualFold(alg, "none"):
			errs.add(p.Index(i), `"none" is never accepted`)
		case !isHMAC && !slices.Contains(asymmetricAlgorithms, alg):
			errs.add(p.Index(i), "unknown algorithm %q: want one of %s, %s",
				alg, strings.Join(asymmetricAlgorithms, ", "), strings.Join(hmacAlgorithms, ", "))
		case isHMAC && !hmacKey:
			errs.add(p.Index(i), "%s needs keys.hmacSecret", alg)
		case !isHMAC && hmacKey:
			errs.add(p.Index(i), "%s cannot be used with keys.hmacSecret: list HS256, HS384 or HS512", alg)
		}
	}
}

func (r *PolicyRule) validate(errs *fieldErrors, p *field.Path) {
	if r.Effect != "Allow" && r.Effect != "Deny" {
		errs.add(p.Child("effect"), "want Allow or Deny, got %q", r.Effect)
	}
	for i, scope := range r.Scopes {
		if scope == "" {
			errs.add(p.Child("scopes").Index(i), "empty scope")
		}
	}
	if len(r.Routes) == 0 {
		errs.add(p.Child("routes"), `required: routes such as "GET /pets/*" or "* *"`)
	}
	for i, route := range r.Routes {
		if reason := policyRouteProblem(route); reason != "" {
			errs.add(p.Child("routes").Index(i), "%q: %s", route, reason)
		}
	}
}

// policyRouteProblem explains what is wrong with a policy route "METHOD /path", or returns "".
func policyRouteProblem(route string) string {
	method, path, ok := strings.Cut(route, " ")
	switch {
	case !ok:
		return `want "METHOD /path", e.g. "GET /pets/*"`
	case method != "*" && !slices.Contains(RouteMethods(), method):
		return "unknown method " + method + ": want * or one of " + strings.Join(RouteMethods(), ", ")
	case path != "*" && !strings.HasPrefix(path, "/"):
		return `the path must start with "/" or be "*"`
	case strings.ContainsAny(path, " \t"):
		return "the path holds a space"
	}
	return claimTemplateProblem(path)
}

// claimTemplateProblem checks the {claim} substitutions of a policy route path.
func claimTemplateProblem(path string) string {
	for rest := path; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			return ""
		}
		if rest[open] == '}' {
			return `unmatched "}"`
		}
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] == '{' {
			return `unclosed "{"`
		}
		if end == 0 {
			return "empty {} claim name"
		}
		rest = rest[open+end+2:]
	}
	return ""
}
