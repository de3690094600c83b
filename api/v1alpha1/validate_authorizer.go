package v1alpha1

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func (s *AuthorizerSpec) validate(errs *fieldErrors, p *field.Path) {
	switch s.Type {
	case TypeToken, TypeRequest, TypeJWT:
	case "":
		errs.add(p.Child("type"), "required: want TOKEN, REQUEST or JWT")
		return
	default:
		errs.add(p.Child("type"), "unknown type %q: want TOKEN, REQUEST or JWT", s.Type)
		return
	}
	// The identity sources and the validation expression's syntax are checked where they are
	// compiled, in pkg/config.
	s.validateValidationExpression(errs, p.Child("identityValidationExpression"))
	if ttl := s.ResultTTLInSeconds; ttl != nil && (*ttl < 0 || *ttl > MaxResultTTLInSeconds) {
		errs.add(p.Child("resultTtlInSeconds"), "%d out of range: want 0 to %d", *ttl, MaxResultTTLInSeconds)
	}
	s.validatePayloadFormat(errs, p)
	s.validateBackends(errs, p)
}

func (s *AuthorizerSpec) validateValidationExpression(errs *fieldErrors, p *field.Path) {
	if s.IdentityValidationExpression == "" {
		return
	}
	if s.Type != TypeToken {
		errs.add(p, "only TOKEN authorizers use an identity validation expression")
	}
}

func (s *AuthorizerSpec) validatePayloadFormat(errs *fieldErrors, p *field.Path) {
	version := p.Child("payloadFormatVersion")
	switch {
	case s.PayloadFormatVersion == "":
	case s.Type != TypeRequest:
		errs.add(version, "only REQUEST authorizers have a payload format version")
	case s.PayloadFormatVersion != PayloadFormat10 && s.PayloadFormatVersion != PayloadFormat20:
		errs.add(version, "unknown version %q: want \"1.0\" or \"2.0\"", s.PayloadFormatVersion)
	}
	if !s.EnableSimpleResponses {
		return
	}
	simple := p.Child("enableSimpleResponses")
	switch {
	case s.Type != TypeRequest:
		errs.add(simple, "only REQUEST authorizers with payload format 2.0 give simple responses")
	case s.PayloadFormatVersion == PayloadFormat10:
		errs.add(simple, "simple responses need payloadFormatVersion \"2.0\"")
	}
}

// validateBackends checks that exactly one backend is set and that it fits the type, and the
// settings of every backend present.
func (s *AuthorizerSpec) validateBackends(errs *fieldErrors, p *field.Path) {
	s.validateBackendChoice(errs, p)
	if s.HTTP != nil {
		s.HTTP.validate(errs, p.Child("http"))
	}
	if s.Lambda != nil {
		s.Lambda.validate(errs, p.Child("lambda"))
	}
	if s.JWT != nil {
		s.JWT.validate(errs, p.Child("jwt"))
	}
	if s.Introspection != nil {
		s.Introspection.validate(errs, p.Child("introspection"))
	}
}

func (s *AuthorizerSpec) validateBackendChoice(errs *fieldErrors, p *field.Path) {
	var set []string
	if s.HTTP != nil {
		set = append(set, "http")
	}
	if s.Lambda != nil {
		set = append(set, "lambda")
	}
	if s.JWT != nil {
		set = append(set, "jwt")
	}
	if s.Introspection != nil {
		set = append(set, "introspection")
	}
	switch {
	case len(set) == 0 && s.Type == TypeJWT:
		errs.add(p.Child("jwt"), "required: JWT authorizers need a jwt backend")
	case len(set) == 0:
		errs.add(p, "no backend: %s authorizers need one of %s", s.Type, backendsFor(s.Type))
	case len(set) > 1:
		errs.add(p, "%s are all set: want exactly one backend", strings.Join(set, " and "))
	case s.Type == TypeJWT && s.JWT == nil:
		errs.add(p.Child(set[0]), "JWT authorizers use the jwt backend, not %s", set[0])
	case s.Type != TypeJWT && s.JWT != nil:
		errs.add(p.Child("jwt"), "%s authorizers need an http or lambda backend; jwt is for type JWT", s.Type)
	case s.Type != TypeToken && s.Introspection != nil:
		errs.add(p.Child("introspection"), "introspection is for TOKEN authorizers: it reads one bearer token")
	}
}

// backendsFor names the backends an authorizer type may use, for error messages.
func backendsFor(typ string) string {
	if typ == TypeToken {
		return "http, lambda or introspection"
	}
	return "http or lambda"
}
