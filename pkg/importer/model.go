package importer

import (
	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// authKind is what an API Gateway authorizer is, as far as Portcullis is concerned.
type authKind int

const (
	authLambdaToken authKind = iota + 1
	authLambdaRequest
	authJWT
	authCognito
	authIAM
	authAPIKey
	authUnknown
)

// authDef is one authorizer as the source defines it, before naming.
type authDef struct {
	name       string // as in the source
	file       string
	line       int
	kind       authKind
	sourceType string // the source's own word for the type, for reports

	identitySource []string
	validation     string
	ttl            *int32
	payloadVersion string
	simple         bool
	functionARN    string
	issuer         string
	audience       []string
	providerARNs   []string // Cognito user pools
}

// runnable reports whether Portcullis can run the authorizer as the source defines it.
func (a *authDef) runnable(opts Options) bool {
	switch a.kind {
	case authLambdaToken, authLambdaRequest, authJWT:
		return true
	case authCognito:
		return opts.CognitoAsJWT
	}
	return false
}

// guard is what protects one route.
type guard struct {
	none   bool     // no authorization at all
	auth   *authDef // nil and !none: DENY
	scopes []string
	why    string // why the route is DENY
}

// routeDef is one method of one path.
type routeDef struct {
	path   string // template, or $default
	method string // GET ... or ANY
	file   string
	line   int
	guard  guard
}

// gatewayResponse is one entry of x-amazon-apigateway-gateway-responses or its template forms.
type gatewayResponse struct {
	typ  string
	file string
	line int
	resp v1alpha1.GatewayResponse
}

// apiDef is one API as the source defines it, before naming.
type apiDef struct {
	name     string // as in the source: a template's logical ID, an OpenAPI title or file name
	file     string
	line     int
	protocol string

	// stage, region, accountID, apiID: "" when the source does not say.
	stage, region, accountID, apiID string
	basePath                        string
	stageVariables                  map[string]string
	routes                          []*routeDef
	gatewayResponses                []gatewayResponse
	// authorizers are all the authorizers the API defines, used or not.
	authorizers []*authDef
}

// Authorizer is one Authorizer document written.
type Authorizer struct {
	Name string
	Spec v1alpha1.AuthorizerSpec
	// Comment says where it came from.
	Comment string
}

// Api is one Api document written.
type Api struct {
	Name    string
	Comment string
	Spec    v1alpha1.ApiSpec
	// RouteComments say, by route index, why a route is DENY.
	RouteComments map[int]string
}
