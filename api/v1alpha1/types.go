package v1alpha1

import (
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Authorizer types.
const (
	TypeToken   = "TOKEN"
	TypeRequest = "REQUEST"
	TypeJWT     = "JWT"
)

// Api protocols: they choose the response style and the default payload format version.
const (
	ProtocolREST = "REST"
	ProtocolHTTP = "HTTP"
)

// AuthorizerNone is the authorizer name that lets a route through without identity.
const AuthorizerNone = "NONE"

// AuthorizerDeny is the authorizer name that answers every request with the implicit deny
// (403) without reading an identity or calling anything. `portcullis import` writes it for routes
// guarded by something Portcullis cannot run, so that no route is ever opened by accident.
const AuthorizerDeny = "DENY"

// RouteDefault is the route path that matches any method and path no other route matches, as the
// $default route of an API Gateway HTTP API does.
const RouteDefault = "$default"

// Authorizer turns an identity into a decision: identity sources, validation, TTL, one backend.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=portcullis
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Backend",type=string,JSONPath=`.status.backend`
// +kubebuilder:printcolumn:name="TTL",type=integer,JSONPath=`.spec.resultTtlInSeconds`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Authorizer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AuthorizerSpec `json:"spec"`
	// Status is written by Portcullis when it reads Authorizers from the Kubernetes API.
	Status AuthorizerStatus `json:"status,omitempty"`
}

// AuthorizerSpec is the desired behaviour of an Authorizer.
//
// What the schema alone can say is also checked at admission, so that kubectl apply refuses it.
// identitySource (a string or a list) has no type in the schema, so CEL cannot see it: "TOKEN
// takes one header source" is checked by Portcullis and reported in the status.
// +kubebuilder:validation:XValidation:rule="[has(self.http), has(self.lambda), has(self.jwt)].filter(x, x).size() == 1",message="set exactly one backend: http, lambda or jwt"
// +kubebuilder:validation:XValidation:rule="self.type == 'TOKEN' || !has(self.identityValidationExpression)",message="only TOKEN authorizers use an identity validation expression"
// +kubebuilder:validation:XValidation:rule="self.type == 'REQUEST' || !has(self.payloadFormatVersion)",message="only REQUEST authorizers have a payload format version"
type AuthorizerSpec struct {
	// Type is TOKEN, REQUEST or JWT.
	// +kubebuilder:validation:Enum=TOKEN;REQUEST;JWT
	Type string `json:"type"`
	// IdentitySource names where the identity comes from: one header for TOKEN, one or more
	// sources (comma-separated or a list) for REQUEST, or none when resultTtlInSeconds is 0; one
	// header or query string for JWT, default $request.header.Authorization.
	// A string or a list of strings, so the schema leaves its type open.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	IdentitySource StringOrList `json:"identitySource,omitempty"`
	// IdentityValidationExpression is a regular expression the whole TOKEN value must match.
	IdentityValidationExpression string `json:"identityValidationExpression,omitempty"`
	// ResultTTLInSeconds is how long a backend answer is cached; 0 disables caching. Default 300.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	ResultTTLInSeconds *int32 `json:"resultTtlInSeconds,omitempty"`
	// PayloadFormatVersion is the REQUEST event format, "1.0" or "2.0". The default follows the
	// protocol of the Api (REST: 1.0, HTTP: 2.0).
	// +kubebuilder:validation:Enum="1.0";"2.0"
	PayloadFormatVersion string `json:"payloadFormatVersion,omitempty"`
	// EnableSimpleResponses accepts {"isAuthorized": bool} answers (payload format 2.0 only).
	EnableSimpleResponses bool `json:"enableSimpleResponses,omitempty"`

	// Exactly one backend.
	HTTP   *HTTPBackend   `json:"http,omitempty"`
	Lambda *LambdaBackend `json:"lambda,omitempty"`
	JWT    *JWTBackend    `json:"jwt,omitempty"`
	// Introspection asks an OAuth2 authorization server about opaque tokens (TOKEN only).
	Introspection *IntrospectionBackend `json:"introspection,omitempty"`
}

// HTTPBackend is an HTTP endpoint that speaks the Lambda authorizer event and response JSON.
type HTTPBackend struct {
	// URL receives the event as a POST.
	URL string `json:"url"`
	// Timeout bounds one call. Default 5s, at most 30s.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Headers are added to every call, e.g. an API key from a secret.
	Headers map[string]SecretValue `json:"headers,omitempty"`
}

// LambdaBackend is an AWS Lambda function invoked with the authorizer event.
type LambdaBackend struct {
	// FunctionName is the function's name or ARN.
	FunctionName string `json:"functionName"`
	// Qualifier is a version or alias.
	Qualifier string `json:"qualifier,omitempty"`
	// Region of the function; default from the function ARN or the SDK's configuration.
	Region string `json:"region,omitempty"`
	// Endpoint overrides the Lambda endpoint (emulators, VPC endpoints).
	Endpoint string `json:"endpoint,omitempty"`
	// Timeout bounds one invocation, retries included. Default 5s, at most 30s.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// JWTBackend verifies JSON Web Tokens itself and produces the policy from rules.
type JWTBackend struct {
	// Issuer must equal the token's iss claim.
	Issuer string `json:"issuer"`
	// Audience lists accepted values; aud or client_id must hold one.
	Audience []string `json:"audience,omitempty"`
	// JWKSURI is where the signing keys are published. Default: the issuer's OIDC discovery document.
	JWKSURI string `json:"jwksUri,omitempty"`
	// Keys are inline keys, used instead of a remote key set.
	Keys *JWTKeys `json:"keys,omitempty"`
	// Algorithms allowed; default RS256, ES256, PS256. "none" is never accepted.
	Algorithms []string `json:"algorithms,omitempty"`
	// ClockSkew tolerated on exp, nbf and iat. Default 60s.
	ClockSkew *metav1.Duration `json:"clockSkew,omitempty"`
	// PrincipalIDClaim names the claim that becomes the principalId. Default sub.
	PrincipalIDClaim string `json:"principalIdClaim,omitempty"`
	// ContextClaims are passed as the authorizer context.
	ContextClaims []string `json:"contextClaims,omitempty"`
	// Policy rules, evaluated in order, produce the IAM policy. None: allow the routes this
	// authorizer guards.
	Policy []PolicyRule `json:"policy,omitempty"`
}

// IntrospectionBackend asks an OAuth2 authorization server whether an opaque bearer token is
// active (RFC 7662 token introspection) and produces the policy from rules, as the JWT backend
// does from a JWT's claims.
type IntrospectionBackend struct {
	// URL is the introspection endpoint; the token is POSTed to it as token=... .
	URL string `json:"url"`
	// ClientID and ClientSecret authenticate Portcullis to the endpoint with HTTP Basic.
	ClientID     string      `json:"clientId"`
	ClientSecret SecretValue `json:"clientSecret"`
	// TokenTypeHint is sent as token_type_hint, e.g. access_token.
	TokenTypeHint string `json:"tokenTypeHint,omitempty"`
	// Timeout bounds one call. Default 5s, at most 30s.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// PrincipalIDClaim names the member of the answer that becomes the principalId. Default:
	// sub, else username, else client_id.
	PrincipalIDClaim string `json:"principalIdClaim,omitempty"`
	// ContextClaims are members of the answer passed as the authorizer context.
	ContextClaims []string `json:"contextClaims,omitempty"`
	// Policy rules, evaluated in order, produce the IAM policy (scopes from the answer's scope).
	// None: allow the routes this authorizer guards.
	Policy []PolicyRule `json:"policy,omitempty"`
}

// JWTKeys are verification keys given in the configuration.
type JWTKeys struct {
	// JWKS is an inline JSON Web Key Set.
	JWKS string `json:"jwks,omitempty"`
	// PEMFile is a file of PEM public keys.
	PEMFile string `json:"pemFile,omitempty"`
	// HMACSecret is a shared secret for HS256/384/512.
	HMACSecret *SecretValue `json:"hmacSecret,omitempty"`
}

// PolicyRule grants or denies routes to tokens holding any of the scopes.
type PolicyRule struct {
	// Scopes: any of them; empty means everyone.
	Scopes []string `json:"scopes,omitempty"`
	// +kubebuilder:validation:Enum=Allow;Deny
	Effect string `json:"effect"`
	// Routes as "METHOD /path", with * wildcards and {claim} substitutions.
	Routes []string `json:"routes"`
}

// SecretValue is a value given inline or read from the environment or a file.
type SecretValue struct {
	Value     string     `json:"value,omitempty"`
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom names where a secret value is read from: exactly one of env or file.
type ValueFrom struct {
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

// AuthorizerList is a list of Authorizers.
//
// +kubebuilder:object:root=true
type AuthorizerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Authorizer `json:"items"`
}

// Api is one API: hosts, stage, routes and the authorizers guarding them.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories=portcullis
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="API ID",type=string,JSONPath=`.spec.apiId`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.stage`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Api struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ApiSpec `json:"spec"`
	// Status is written by Portcullis when it reads Apis from the Kubernetes API.
	Status Status `json:"status,omitempty"`
}

// ApiList is a list of Apis.
//
// +kubebuilder:object:root=true
type ApiList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Api `json:"items"`
}

// ApiSpec is the desired behaviour of an Api.
type ApiSpec struct {
	// Protocol is REST or HTTP; it chooses response bodies and the default payload version.
	// +kubebuilder:validation:Enum=REST;HTTP
	Protocol  string `json:"protocol,omitempty"`
	Region    string `json:"region"`
	AccountID string `json:"accountId"`
	APIID     string `json:"apiId"`
	Stage     string `json:"stage"`
	// Hosts matched against :authority, port ignored; "*.example.org" matches subdomains.
	Hosts []string `json:"hosts,omitempty"`
	// BasePath is stripped before routing and before the methodArn.
	BasePath       string            `json:"basePath,omitempty"`
	StageVariables map[string]string `json:"stageVariables,omitempty"`
	// DefaultAuthorizer guards routes that name none.
	DefaultAuthorizer string  `json:"defaultAuthorizer,omitempty"`
	Routes            []Route `json:"routes"`
	CORS              *CORS   `json:"cors,omitempty"`
	// GatewayResponses replace the default answers, by response type (UNAUTHORIZED,
	// ACCESS_DENIED, MISSING_AUTHENTICATION_TOKEN, AUTHORIZER_FAILURE,
	// AUTHORIZER_CONFIGURATION_ERROR, THROTTLED, BAD_REQUEST_PARAMETERS, REQUEST_TOO_LARGE,
	// DEFAULT_4XX, DEFAULT_5XX).
	GatewayResponses map[string]GatewayResponse `json:"gatewayResponses,omitempty"`
	// DryRun decides every request but lets the denied ones through, marked with the
	// x-authorizer-dry-run header upstream: how a new authorizer is rolled out.
	DryRun bool `json:"dryRun,omitempty"`
}

// GatewayResponse replaces one default answer, as API Gateway's gateway responses do.
type GatewayResponse struct {
	// StatusCode of the answer; default the response type's.
	// +kubebuilder:validation:Minimum=200
	// +kubebuilder:validation:Maximum=599
	StatusCode int32 `json:"statusCode,omitempty"`
	// ResponseParameters set headers: gatewayresponse.header.NAME to 'literal',
	// method.request.header.NAME, method.request.querystring.NAME, method.request.path.NAME or
	// stageVariables.NAME.
	ResponseParameters map[string]string `json:"responseParameters,omitempty"`
	// ResponseTemplates are bodies by content type, chosen by the request's Accept header
	// (default application/json), with $context and $stageVariables variables.
	ResponseTemplates map[string]string `json:"responseTemplates,omitempty"`
}

// Route is a path template and the methods it serves.
type Route struct {
	// Path with literal, {param} and a final {proxy+} segment, or $default: any method and path
	// no other route matches.
	Path string `json:"path"`
	// Methods, or ANY. A $default route serves every method: [ANY].
	Methods []string `json:"methods"`
	// Authorizer overrides the Api default; NONE lets the route through without identity, DENY
	// refuses every request (403) without calling anything.
	Authorizer string `json:"authorizer,omitempty"`
	// AuthorizationScopes: the token must hold one (JWT authorizers).
	AuthorizationScopes []string `json:"authorizationScopes,omitempty"`
	// DryRun lets this route's denied requests through, marked, as the Api's dryRun does.
	DryRun bool `json:"dryRun,omitempty"`
}

// CORS controls preflight handling.
type CORS struct {
	// AllowPreflight lets OPTIONS requests without an explicit OPTIONS route through unauthenticated.
	AllowPreflight bool `json:"allowPreflight,omitempty"`
}

// ConditionAccepted is the condition type telling whether Portcullis accepted a resource's
// current generation. False: the reason is ReasonInvalid and the message lists every problem as
// "spec.field: reason"; the last accepted generation, if any, keeps serving.
const (
	ConditionAccepted = "Accepted"
	ReasonAccepted    = "Accepted"
	ReasonInvalid     = "Invalid"
)

// Status is what Portcullis reports about a resource it reads from the Kubernetes API.
type Status struct {
	// ObservedGeneration is the metadata.generation the conditions describe.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Accepted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AuthorizerStatus is the Status of an Authorizer and the kind of its backend.
type AuthorizerStatus struct {
	Status `json:",inline"`
	// Backend is http, lambda or jwt: the backend the spec sets.
	Backend string `json:"backend,omitempty"`
}

// StringOrList is a list of strings that may be written as one comma-separated string.
type StringOrList []string

// UnmarshalJSON accepts "a, b" as well as ["a", "b"].
func (s *StringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = nil
		for _, part := range strings.Split(one, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*s = append(*s, part)
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a string or a list of strings")
	}
	*s = list
	return nil
}
