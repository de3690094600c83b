// Package authorizer defines what an authorizer backend is (Backend), what it is asked (Request)
// and what it answers (Response), and the Lambda authorizer event and response JSON shared by the
// http and lambda backends. Implementations live in the sub-packages http, lambda and jwt.
package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

// ErrUnauthorized is a backend's answer that the identity is not valid: 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrConfiguration marks an answer the backend gave that breaks the authorizer contract
// (unparseable JSON, missing policy, object context values in 1.0): 500
// AuthorizerConfigurationException. Wrap it with %w and the reason.
var ErrConfiguration = errors.New("authorizer configuration error")

// Any other error returned by a Backend is a backend failure: 500 AuthorizerFailureException.

// Backend turns one identity into an answer. It is called once per identity per TTL; its answer
// is cached by the caller and re-evaluated for every request, so it must not depend on anything
// of the request that is not part of the identity, except through the policy it returns.
type Backend interface {
	Authorize(ctx context.Context, req *Request) (*Response, error)
}

// Request is everything a backend may need to build its event.
type Request struct {
	Type           string   // TOKEN, REQUEST or JWT
	PayloadVersion string   // "1.0" or "2.0" (REQUEST)
	MethodArn      string   // arn:aws:execute-api:region:account:api/stage/METHOD/path
	Token          string   // TOKEN and JWT: the identity value (TOKEN as sent, "Bearer " included)
	IdentitySource []string // the identity values, in the order of the sources

	HTTP           *request.Request  // the request's facts
	Resource       string            // the route template, e.g. /pets/{petId}
	Path           string            // the request path after the basePath, e.g. /pets/42
	PathParameters map[string]string // template values, e.g. petId=42
	StageVariables map[string]string

	Region    string
	AccountID string
	APIID     string
	Stage     string
	RouteKey  string // "GET /pets/{petId}"
	RequestID string // Envoy's x-request-id, else a fresh UUID
}

// Response is a backend's answer. Exactly one of PolicyDocument (IAM form) or IsAuthorized
// (simple form) is set.
type Response struct {
	PrincipalID        string
	PolicyDocument     json.RawMessage // the IAM policy document, as returned
	Context            map[string]any  // scalar values (1.0) or any JSON value (2.0)
	UsageIdentifierKey string
	IsAuthorized       *bool // simple responses (2.0 with enableSimpleResponses)

	// Scopes the identity holds (JWT), checked against each route's authorizationScopes.
	Scopes []string
	// ExpiresAt, when set, caps how long the answer may be cached (a JWT's exp).
	ExpiresAt time.Time
}
