package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Default values and limits of the configuration.
const (
	DefaultResultTTLInSeconds = 300
	MaxResultTTLInSeconds     = 3600
	DefaultTimeout            = 5 * time.Second
	MaxTimeout                = 30 * time.Second
	DefaultClockSkew          = 60 * time.Second
	DefaultPrincipalIDClaim   = "sub"
	DefaultJWTIdentitySource  = "$request.header.Authorization"
	DefaultBasePath           = "/"
)

// Payload format versions of the REQUEST authorizer event.
const (
	PayloadFormat10 = "1.0"
	PayloadFormat20 = "2.0"
)

// DefaultAlgorithms returns the JWT algorithms accepted when none are listed. It returns a new
// slice each time so no caller can change another's default.
func DefaultAlgorithms() []string { return []string{"RS256", "ES256", "PS256"} }

// Default fills every unset field that has a default. PayloadFormatVersion is left unset on
// purpose: its default depends on the protocol of each Api that uses the authorizer (see
// EffectivePayloadFormatVersion).
func (s *AuthorizerSpec) Default() {
	if s.ResultTTLInSeconds == nil {
		ttl := int32(DefaultResultTTLInSeconds)
		s.ResultTTLInSeconds = &ttl
	}
	if s.HTTP != nil && s.HTTP.Timeout == nil {
		s.HTTP.Timeout = &metav1.Duration{Duration: DefaultTimeout}
	}
	if s.Lambda != nil && s.Lambda.Timeout == nil {
		s.Lambda.Timeout = &metav1.Duration{Duration: DefaultTimeout}
	}
	if s.Introspection != nil && s.Introspection.Timeout == nil {
		s.Introspection.Timeout = &metav1.Duration{Duration: DefaultTimeout}
	}
	if s.Type == TypeJWT && len(s.IdentitySource) == 0 {
		s.IdentitySource = StringOrList{DefaultJWTIdentitySource}
	}
	if s.JWT != nil {
		s.JWT.Default()
	}
}

// Default fills the unset fields of a JWT backend.
func (j *JWTBackend) Default() {
	if len(j.Algorithms) == 0 {
		j.Algorithms = DefaultAlgorithms()
	}
	if j.ClockSkew == nil {
		j.ClockSkew = &metav1.Duration{Duration: DefaultClockSkew}
	}
	if j.PrincipalIDClaim == "" {
		j.PrincipalIDClaim = DefaultPrincipalIDClaim
	}
}

// Default fills the unset fields of an Api and upper-cases route methods.
func (s *ApiSpec) Default() {
	if s.Protocol == "" {
		s.Protocol = ProtocolREST
	}
	if s.BasePath == "" {
		s.BasePath = DefaultBasePath
	}
	for i := range s.Routes {
		for j, m := range s.Routes[i].Methods {
			s.Routes[i].Methods[j] = strings.ToUpper(m)
		}
	}
}

// EffectivePayloadFormatVersion is the payload format an authorizer uses when it guards a route
// of an Api of the given protocol. REQUEST: the version set on the authorizer, else 2.0 for HTTP
// Apis and 1.0 for REST ones, as API Gateway does. TOKEN: 1.0, whose answer rules it follows.
// JWT: "" (it has no event).
func EffectivePayloadFormatVersion(a *AuthorizerSpec, protocol string) string {
	switch {
	case a.Type == TypeJWT:
		return ""
	case a.Type != TypeRequest:
		return PayloadFormat10
	case a.PayloadFormatVersion != "":
		return a.PayloadFormatVersion
	case protocol == ProtocolHTTP:
		return PayloadFormat20
	}
	return PayloadFormat10
}
