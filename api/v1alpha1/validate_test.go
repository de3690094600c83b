package v1alpha1

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// want is one expected problem: its exact field and a part of its reason.
type want struct{ field, reason string }

func checkErrors(t *testing.T, got []FieldError, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d errors %v, want %d %v", len(got), got, len(wants), wants)
	}
	for i, w := range wants {
		if got[i].Field != w.field || !strings.Contains(got[i].Reason, w.reason) {
			t.Errorf("error %d = %q, want field %s with reason containing %q", i, got[i].Error(), w.field, w.reason)
		}
	}
}

func tokenAuthorizer() *Authorizer {
	a := &Authorizer{ObjectMeta: metav1.ObjectMeta{Name: "tokens"}, Spec: AuthorizerSpec{
		Type:                         TypeToken,
		IdentitySource:               StringOrList{"method.request.header.Authorization"},
		IdentityValidationExpression: `^Bearer [-0-9A-Za-z._~+/]+=*$`,
		HTTP: &HTTPBackend{URL: "http://authorizer.internal:8080/authorize",
			Headers: map[string]SecretValue{"x-api-key": {ValueFrom: &ValueFrom{Env: "AUTHZ_KEY"}}}},
	}}
	a.Spec.Default()
	return a
}

func requestAuthorizer() *Authorizer {
	a := &Authorizer{ObjectMeta: metav1.ObjectMeta{Name: "req"}, Spec: AuthorizerSpec{
		Type:           TypeRequest,
		IdentitySource: StringOrList{"$request.header.x-tenant", "$request.querystring.key", "$context.identity.sourceIp"},
		Lambda:         &LambdaBackend{FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:authz"},
	}}
	a.Spec.Default()
	return a
}

func jwtAuthorizer() *Authorizer {
	a := &Authorizer{ObjectMeta: metav1.ObjectMeta{Name: "jwt"}, Spec: AuthorizerSpec{
		Type: TypeJWT,
		JWT: &JWTBackend{Issuer: "https://issuer.example.com", Audience: []string{"api"},
			Policy: []PolicyRule{
				{Scopes: []string{"admins"}, Effect: "Allow", Routes: []string{"* *"}},
				{Effect: "Allow", Routes: []string{"GET /*", "POST /users/{sub}"}},
			}},
	}}
	a.Spec.Default()
	return a
}

func TestValidAuthorizers(t *testing.T) {
	for _, a := range []*Authorizer{tokenAuthorizer(), requestAuthorizer(), jwtAuthorizer()} {
		checkErrors(t, a.Validate(), nil)
	}
}

func TestValidateAuthorizer(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Authorizer
		mutate func(a *Authorizer)
		want   []want
	}{
		{"name required", tokenAuthorizer, func(a *Authorizer) { a.Name = "" }, []want{{"metadata.name", "required"}}},
		{"name must be a DNS label", tokenAuthorizer, func(a *Authorizer) { a.Name = "My_Auth" }, []want{{"metadata.name", "RFC 1123 label"}}},
		{"type required", tokenAuthorizer, func(a *Authorizer) { a.Spec.Type = "" }, []want{{"spec.type", "required"}}},
		{"type unknown", tokenAuthorizer, func(a *Authorizer) { a.Spec.Type = "token" }, []want{{"spec.type", `unknown type "token"`}}},
		{"regex only for TOKEN", requestAuthorizer, func(a *Authorizer) { a.Spec.IdentityValidationExpression = ".*" },
			[]want{{"spec.identityValidationExpression", "only TOKEN"}}},
		{"ttl above 3600", tokenAuthorizer, func(a *Authorizer) { a.Spec.ResultTTLInSeconds = new(int32(3601)) },
			[]want{{"spec.resultTtlInSeconds", "3601 out of range"}}},
		{"ttl negative", tokenAuthorizer, func(a *Authorizer) { a.Spec.ResultTTLInSeconds = new(int32(-1)) },
			[]want{{"spec.resultTtlInSeconds", "out of range"}}},
		{"payload version unknown", requestAuthorizer, func(a *Authorizer) { a.Spec.PayloadFormatVersion = "3.0" },
			[]want{{"spec.payloadFormatVersion", `unknown version "3.0"`}}},
		{"payload version only for REQUEST", tokenAuthorizer, func(a *Authorizer) { a.Spec.PayloadFormatVersion = "2.0" },
			[]want{{"spec.payloadFormatVersion", "only REQUEST"}}},
		{"simple responses need 2.0", requestAuthorizer, func(a *Authorizer) {
			a.Spec.PayloadFormatVersion, a.Spec.EnableSimpleResponses = "1.0", true
		}, []want{{"spec.enableSimpleResponses", `need payloadFormatVersion "2.0"`}}},
		{"simple responses only for REQUEST", tokenAuthorizer, func(a *Authorizer) { a.Spec.EnableSimpleResponses = true },
			[]want{{"spec.enableSimpleResponses", "only REQUEST"}}},
		{"no backend", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP = nil }, []want{{"spec", "need one of http, lambda or introspection"}}},
		{"two backends", tokenAuthorizer, func(a *Authorizer) { a.Spec.Lambda = &LambdaBackend{FunctionName: "f"} },
			[]want{{"spec", "http and lambda are all set"}}},
		{"jwt backend on TOKEN", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP, a.Spec.JWT = nil, jwtAuthorizer().Spec.JWT },
			[]want{{"spec.jwt", "need an http or lambda backend"}}},
		{"http backend on JWT", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT, a.Spec.HTTP = nil, tokenAuthorizer().Spec.HTTP },
			[]want{{"spec.http", "use the jwt backend"}}},
		{"JWT without backend", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT = nil }, []want{{"spec.jwt", "required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.base()
			tt.mutate(a)
			checkErrors(t, a.Validate(), tt.want)
		})
	}
}

func TestValidateBackends(t *testing.T) {
	secret := func(v SecretValue) *SecretValue { return &v }
	tests := []struct {
		name   string
		base   func() *Authorizer
		mutate func(a *Authorizer)
		want   []want
	}{
		{"url required", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "" }, []want{{"spec.http.url", "required"}}},
		{"url relative", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "/authorize" }, []want{{"spec.http.url", "http:// or https://"}}},
		{"url other scheme", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "ftp://a/b" }, []want{{"spec.http.url", "http:// or https://"}}},
		{"url without host", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "http:///x" }, []want{{"spec.http.url", "with a host"}}},
		{"url with credentials", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "https://user:pw@a/b" },
			[]want{{"spec.http.url", "credentials in the URL"}}},
		{"url error hides the url", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.URL = "http://a b/?key=s3cret" },
			[]want{{"spec.http.url", "not a URL"}}},
		{"timeout zero", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.Timeout.Duration = 0 }, []want{{"spec.http.timeout", "out of range"}}},
		{"timeout over 30s", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.Timeout.Duration = 31 * time.Second },
			[]want{{"spec.http.timeout", "31s out of range"}}},
		{"header name invalid", tokenAuthorizer, func(a *Authorizer) {
			a.Spec.HTTP.Headers["bad header"] = SecretValue{Value: "x"}
		}, []want{{"spec.http.headers[bad header]", "not a valid header name"}}},
		{"secret with both", tokenAuthorizer, func(a *Authorizer) {
			a.Spec.HTTP.Headers["x-api-key"] = SecretValue{Value: "s3cret", ValueFrom: &ValueFrom{Env: "K"}}
		}, []want{{"spec.http.headers[x-api-key]", "not both"}}},
		{"secret with neither", tokenAuthorizer, func(a *Authorizer) { a.Spec.HTTP.Headers["x-api-key"] = SecretValue{} },
			[]want{{"spec.http.headers[x-api-key]", "set one of value or valueFrom"}}},
		{"valueFrom with both", tokenAuthorizer, func(a *Authorizer) {
			a.Spec.HTTP.Headers["x-api-key"] = SecretValue{ValueFrom: &ValueFrom{Env: "K", File: "/k"}}
		}, []want{{"spec.http.headers[x-api-key].valueFrom", "not both"}}},
		{"valueFrom empty", tokenAuthorizer, func(a *Authorizer) {
			a.Spec.HTTP.Headers["x-api-key"] = SecretValue{ValueFrom: &ValueFrom{}}
		}, []want{{"spec.http.headers[x-api-key].valueFrom", "set one of env or file"}}},
		{"lambda function required", requestAuthorizer, func(a *Authorizer) { a.Spec.Lambda.FunctionName = "" },
			[]want{{"spec.lambda.functionName", "required"}}},
		{"lambda endpoint must be a URL", requestAuthorizer, func(a *Authorizer) { a.Spec.Lambda.Endpoint = "localhost:9001" },
			[]want{{"spec.lambda.endpoint", "http:// or https://"}}},
		{"lambda timeout over 30s", requestAuthorizer, func(a *Authorizer) { a.Spec.Lambda.Timeout.Duration = time.Minute },
			[]want{{"spec.lambda.timeout", "out of range"}}},
		{"jwt issuer required", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Issuer = "" },
			[]want{{"spec.jwt.issuer", "required"}, {"spec.jwt", "no keys"}}},
		{"jwt non-URL issuer needs keys", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Issuer = "my-issuer" },
			[]want{{"spec.jwt", "no keys"}}},
		{"jwt non-URL issuer with jwksUri", jwtAuthorizer, func(a *Authorizer) {
			a.Spec.JWT.Issuer, a.Spec.JWT.JWKSURI = "my-issuer", "https://keys.example.com/jwks.json"
		}, nil},
		{"jwt jwksUri and keys", jwtAuthorizer, func(a *Authorizer) {
			a.Spec.JWT.JWKSURI, a.Spec.JWT.Keys = "https://k/jwks", &JWTKeys{PEMFile: "/k.pem"}
		}, []want{{"spec.jwt", "both set"}}},
		{"jwt bad jwksUri", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.JWKSURI = "keys.json" },
			[]want{{"spec.jwt.jwksUri", "http:// or https://"}}},
		{"jwt keys empty", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Keys = &JWTKeys{} },
			[]want{{"spec.jwt.keys", "set one of jwks, pemFile or hmacSecret"}}},
		{"jwt keys two kinds", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Keys = &JWTKeys{PEMFile: "/k", JWKS: `{"keys":[{}]}`} },
			[]want{{"spec.jwt.keys", "jwks and pemFile are all set"}}},
		{"jwt inline jwks not JSON", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Keys = &JWTKeys{JWKS: "{"} },
			[]want{{"spec.jwt.keys.jwks", "not a JSON Web Key Set"}}},
		{"jwt inline jwks without keys", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Keys = &JWTKeys{JWKS: `{"keys":[]}`} },
			[]want{{"spec.jwt.keys.jwks", "holds no keys"}}},
		{"jwt hmac secret with default algorithms", jwtAuthorizer, func(a *Authorizer) {
			a.Spec.JWT.Keys = &JWTKeys{HMACSecret: secret(SecretValue{ValueFrom: &ValueFrom{Env: "K"}})}
		}, []want{{"spec.jwt.algorithms[0]", "cannot be used with keys.hmacSecret"},
			{"spec.jwt.algorithms[1]", "cannot be used"}, {"spec.jwt.algorithms[2]", "cannot be used"}}},
		{"jwt hmac secret with HS256", jwtAuthorizer, func(a *Authorizer) {
			a.Spec.JWT.Keys = &JWTKeys{HMACSecret: secret(SecretValue{ValueFrom: &ValueFrom{Env: "K"}})}
			a.Spec.JWT.Algorithms = []string{"HS256", "HS512"}
		}, nil},
		{"jwt hmac secret checked", jwtAuthorizer, func(a *Authorizer) {
			a.Spec.JWT.Keys = &JWTKeys{HMACSecret: secret(SecretValue{})}
			a.Spec.JWT.Algorithms = []string{"HS256"}
		}, []want{{"spec.jwt.keys.hmacSecret", "set one of value or valueFrom"}}},
		{"jwt HMAC without hmacSecret", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Algorithms = []string{"RS256", "HS256"} },
			[]want{{"spec.jwt.algorithms[1]", "HS256 needs keys.hmacSecret"}}},
		{"jwt none refused", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Algorithms = []string{"None"} },
			[]want{{"spec.jwt.algorithms[0]", `"none" is never accepted`}}},
		{"jwt unknown algorithm", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Algorithms = []string{"rs256"} },
			[]want{{"spec.jwt.algorithms[0]", `unknown algorithm "rs256"`}}},
		{"jwt negative clock skew", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.ClockSkew.Duration = -time.Second },
			[]want{{"spec.jwt.clockSkew", "negative"}}},
		{"jwt empty audience", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Audience = []string{""} },
			[]want{{"spec.jwt.audience[0]", "empty"}}},
		{"policy effect exact", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[0].Effect = "allow" },
			[]want{{"spec.jwt.policy[0].effect", "want Allow or Deny"}}},
		{"policy routes required", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = nil },
			[]want{{"spec.jwt.policy[1].routes", "required"}}},
		{"policy route without path", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET"} },
			[]want{{"spec.jwt.policy[1].routes[0]", `want "METHOD /path"`}}},
		{"policy route unknown method", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"FETCH /a"} },
			[]want{{"spec.jwt.policy[1].routes[0]", "unknown method FETCH"}}},
		{"policy route relative path", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET pets"} },
			[]want{{"spec.jwt.policy[1].routes[0]", `must start with "/"`}}},
		{"policy route unclosed claim", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET /u/{sub"} },
			[]want{{"spec.jwt.policy[1].routes[0]", `unclosed "{"`}}},
		{"policy route empty claim", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET /u/{}"} },
			[]want{{"spec.jwt.policy[1].routes[0]", "empty {} claim"}}},
		{"policy route stray brace", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET /u/}x"} },
			[]want{{"spec.jwt.policy[1].routes[0]", `unmatched "}"`}}},
		{"policy route nested claim", jwtAuthorizer, func(a *Authorizer) { a.Spec.JWT.Policy[1].Routes = []string{"GET /u/{a{b}}"} },
			[]want{{"spec.jwt.policy[1].routes[0]", `unclosed "{"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.base()
			tt.mutate(a)
			got := a.Validate()
			checkErrors(t, got, tt.want)
			for _, e := range got {
				if strings.Contains(e.Reason, "s3cret") {
					t.Errorf("error %q shows a secret", e.Error())
				}
			}
		})
	}
}
