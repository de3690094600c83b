package config

import "github.com/portcullis-dev/portcullis/api/v1alpha1"

// AuthorizerType is an Authorizer's type, compiled from its spec so that the Check path compares
// small integers, not strings.
type AuthorizerType uint8

// Authorizer types; the zero value is none of them.
const (
	TokenAuthorizer   AuthorizerType = iota + 1 // TOKEN
	RequestAuthorizer                           // REQUEST
	JWTAuthorizer                               // JWT
)

var authorizerTypes = map[string]AuthorizerType{
	v1alpha1.TypeToken: TokenAuthorizer, v1alpha1.TypeRequest: RequestAuthorizer, v1alpha1.TypeJWT: JWTAuthorizer,
}

// String is the type as the config spells it.
func (t AuthorizerType) String() string {
	switch t {
	case TokenAuthorizer:
		return v1alpha1.TypeToken
	case RequestAuthorizer:
		return v1alpha1.TypeRequest
	case JWTAuthorizer:
		return v1alpha1.TypeJWT
	}
	return ""
}

// Protocol is an Api's protocol, compiled from its spec: it chooses the answers' bodies and the
// default payload format version.
type Protocol uint8

// Protocols; REST is the zero value, as it is the config's default.
const (
	REST Protocol = iota
	HTTP
)

// String is the protocol as the config spells it.
func (p Protocol) String() string {
	if p == HTTP {
		return v1alpha1.ProtocolHTTP
	}
	return v1alpha1.ProtocolREST
}

func protocolOf(s string) Protocol {
	if s == v1alpha1.ProtocolHTTP {
		return HTTP
	}
	return REST
}
