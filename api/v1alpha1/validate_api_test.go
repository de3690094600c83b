package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func petstore() *Api {
	a := &Api{ObjectMeta: metav1.ObjectMeta{Name: "petstore"}, Spec: ApiSpec{
		Region: "us-east-1", AccountID: "123456789012", APIID: "a1b2c3d4e5", Stage: "prod",
		Hosts:             []string{"api.example.com", "*.example.org"},
		StageVariables:    map[string]string{"env": "prod"},
		DefaultAuthorizer: "tokens",
		Routes: []Route{
			{Path: "/pets", Methods: []string{"GET", "POST"}},
			{Path: "/pets/{petId}", Methods: []string{"ANY"}},
			{Path: "/admin/{proxy+}", Methods: []string{"ANY"}, Authorizer: "admins", AuthorizationScopes: []string{"admin"}},
			{Path: "/health", Methods: []string{"get"}, Authorizer: AuthorizerNone},
		},
	}}
	a.Spec.Default()
	return a
}

func TestValidateApi(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *Api)
		want   []want
	}{
		{"valid", func(a *Api) {}, nil},
		{"HTTP protocol", func(a *Api) { a.Spec.Protocol = ProtocolHTTP }, nil},
		{"protocol unknown", func(a *Api) { a.Spec.Protocol = "GRPC" }, []want{{"spec.protocol", `unknown protocol "GRPC"`}}},
		{"region required", func(a *Api) { a.Spec.Region = "" }, []want{{"spec.region", "required"}}},
		{"apiId with slash", func(a *Api) { a.Spec.APIID = "a/b" }, []want{{"spec.apiId", "must not hold ':', '/'"}}},
		{"stage with colon", func(a *Api) { a.Spec.Stage = "prod:1" }, []want{{"spec.stage", "must not hold"}}},
		{"stage with space", func(a *Api) { a.Spec.Stage = "my stage" }, []want{{"spec.stage", "must not hold"}}},
		{"account 11 digits", func(a *Api) { a.Spec.AccountID = "12345678901" }, []want{{"spec.accountId", "want 12 digits"}}},
		{"account with letters", func(a *Api) { a.Spec.AccountID = "12345678901a" }, []want{{"spec.accountId", "want 12 digits"}}},
		{"account required", func(a *Api) { a.Spec.AccountID = "" }, []want{{"spec.accountId", "required"}}},
		{"host with port", func(a *Api) { a.Spec.Hosts[0] = "api.example.com:443" }, []want{{"spec.hosts[0]", "no port"}}},
		{"host upper-case", func(a *Api) { a.Spec.Hosts[0] = "API.example.com" }, []want{{"spec.hosts[0]", "lower case"}}},
		{"host wildcard in the middle", func(a *Api) { a.Spec.Hosts[1] = "a.*.example.org" }, []want{{"spec.hosts[1]", "RFC 1123 subdomain"}}},
		{"host bare wildcard", func(a *Api) { a.Spec.Hosts[1] = "*" }, []want{{"spec.hosts[1]", "RFC 1123 subdomain"}}},
		{"host listed twice", func(a *Api) { a.Spec.Hosts[1] = "api.example.com" }, []want{{"spec.hosts[1]", "listed twice"}}},
		{"basePath relative", func(a *Api) { a.Spec.BasePath = "v1" }, []want{{"spec.basePath", `must start with "/"`}}},
		{"basePath nested", func(a *Api) { a.Spec.BasePath = "/api/v1" }, nil},
		{"basePath trailing slash", func(a *Api) { a.Spec.BasePath = "/v1/" }, []want{{"spec.basePath", `must not end with "/"`}}},
		{"basePath template", func(a *Api) { a.Spec.BasePath = "/{stage}" }, []want{{"spec.basePath", "plain path"}}},
		{"basePath dot-dot", func(a *Api) { a.Spec.BasePath = "/a/../b" }, []want{{"spec.basePath", `".."`}}},
		{"stage variable name", func(a *Api) { a.Spec.StageVariables["my-var"] = "x" },
			[]want{{"spec.stageVariables[my-var]", "letters, digits and '_'"}}},
		{"routes required", func(a *Api) { a.Spec.Routes = nil }, []want{{"spec.routes", "at least one"}}},
		{"route path relative", func(a *Api) { a.Spec.Routes[0].Path = "pets" }, []want{{"spec.routes[0].path", `must start with "/"`}}},
		{"route methods required", func(a *Api) { a.Spec.Routes[0].Methods = nil }, []want{{"spec.routes[0].methods", "required"}}},
		{"route method unknown", func(a *Api) { a.Spec.Routes[1].Methods = []string{"GET", "FETCH"} },
			[]want{{"spec.routes[1].methods[1]", `unknown method "FETCH"`}}},
		{"route without any authorizer", func(a *Api) { a.Spec.DefaultAuthorizer = "" },
			[]want{{"spec.routes[0].authorizer", "required"}, {"spec.routes[1].authorizer", "required"}}},
		{"scopes on a public route", func(a *Api) { a.Spec.Routes[3].AuthorizationScopes = []string{"x"} },
			[]want{{"spec.routes[3].authorizationScopes", "NONE"}}},
		{"DENY route", func(a *Api) { a.Spec.Routes[0].Authorizer = AuthorizerDeny }, nil},
		{"DENY as the default", func(a *Api) { a.Spec.DefaultAuthorizer = AuthorizerDeny; a.Spec.Routes[2].AuthorizationScopes = nil }, nil},
		{"scopes on a DENY route", func(a *Api) { a.Spec.Routes[2].Authorizer = AuthorizerDeny },
			[]want{{"spec.routes[2].authorizationScopes", "DENY route refuses every request"}}},
		{"$default route", func(a *Api) { a.Spec.Routes[0] = Route{Path: RouteDefault, Methods: []string{MethodAny}} }, nil},
		{"$default route without methods", func(a *Api) { a.Spec.Routes[0] = Route{Path: RouteDefault} }, nil},
		{"$default route with one method", func(a *Api) { a.Spec.Routes[0] = Route{Path: RouteDefault, Methods: []string{"GET"}} },
			[]want{{"spec.routes[0].methods", "serves every method"}}},
		{"route path other than $default", func(a *Api) { a.Spec.Routes[0].Path = "$other" },
			[]want{{"spec.routes[0].path", "or be $default"}}},
		{"empty scope", func(a *Api) { a.Spec.Routes[2].AuthorizationScopes = []string{""} },
			[]want{{"spec.routes[2].authorizationScopes[0]", "empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := petstore()
			tt.mutate(a)
			checkErrors(t, a.Validate(), tt.want)
		})
	}
}

func TestRouteAuthorizer(t *testing.T) {
	s := &ApiSpec{DefaultAuthorizer: "tokens"}
	if got := s.RouteAuthorizer(&Route{}); got != "tokens" {
		t.Errorf("route without authorizer: %q, want the default", got)
	}
	if got := s.RouteAuthorizer(&Route{Authorizer: AuthorizerNone}); got != AuthorizerNone {
		t.Errorf("route with NONE: %q", got)
	}
}
