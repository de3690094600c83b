package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func introspectionAuthorizer() *Authorizer {
	a := &Authorizer{ObjectMeta: metav1.ObjectMeta{Name: "opaque"}, Spec: AuthorizerSpec{
		Type:           TypeToken,
		IdentitySource: StringOrList{"method.request.header.Authorization"},
		Introspection: &IntrospectionBackend{
			URL: "https://auth.example.com/oauth2/introspect", ClientID: "gateway",
			ClientSecret:  SecretValue{ValueFrom: &ValueFrom{Env: "INTROSPECTION_SECRET"}},
			TokenTypeHint: "access_token",
			ContextClaims: []string{"client_id"},
			Policy:        []PolicyRule{{Scopes: []string{"pets:write"}, Effect: "Allow", Routes: []string{"* /pets/*"}}},
		},
	}}
	a.Spec.Default()
	return a
}

func TestValidateIntrospection(t *testing.T) {
	tests := []struct {
		name   string
		base   func() *Authorizer
		mutate func(a *Authorizer)
		want   []want
	}{
		{"valid", introspectionAuthorizer, func(*Authorizer) {}, nil},
		{"default timeout", introspectionAuthorizer, func(a *Authorizer) {
			if a.Spec.Introspection.Timeout.Duration != DefaultTimeout {
				t.Errorf("timeout %v, want the default %v", a.Spec.Introspection.Timeout, DefaultTimeout)
			}
		}, nil},
		{"url required", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.URL = "" },
			[]want{{"spec.introspection.url", "required"}}},
		{"url with credentials", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.URL = "https://u:p@auth.example.com/i" },
			[]want{{"spec.introspection.url", "credentials in the URL"}}},
		{"client id required", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.ClientID = "" },
			[]want{{"spec.introspection.clientId", "required"}}},
		{"client secret required", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.ClientSecret = SecretValue{} },
			[]want{{"spec.introspection.clientSecret", "set one of value or valueFrom"}}},
		{"client secret from nowhere", introspectionAuthorizer, func(a *Authorizer) {
			a.Spec.Introspection.ClientSecret = SecretValue{ValueFrom: &ValueFrom{}}
		}, []want{{"spec.introspection.clientSecret.valueFrom", "set one of env or file"}}},
		{"token type hint with a space", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.TokenTypeHint = "access token" },
			[]want{{"spec.introspection.tokenTypeHint", "want a token type"}}},
		{"timeout over the limit", introspectionAuthorizer, func(a *Authorizer) {
			a.Spec.Introspection.Timeout = &metav1.Duration{Duration: time.Minute}
		}, []want{{"spec.introspection.timeout", "out of range"}}},
		{"empty context claim", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.ContextClaims = []string{""} },
			[]want{{"spec.introspection.contextClaims[0]", "empty claim name"}}},
		{"bad policy route", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.Policy[0].Routes = []string{"GET pets"} },
			[]want{{"spec.introspection.policy[0].routes[0]", "must start with"}}},
		{"bad policy effect", introspectionAuthorizer, func(a *Authorizer) { a.Spec.Introspection.Policy[0].Effect = "allow" },
			[]want{{"spec.introspection.policy[0].effect", "want Allow or Deny"}}},
		{"only on TOKEN", requestAuthorizer, func(a *Authorizer) {
			a.Spec.Lambda, a.Spec.Introspection = nil, introspectionAuthorizer().Spec.Introspection
		}, []want{{"spec.introspection", "introspection is for TOKEN authorizers"}}},
		{"with another backend", introspectionAuthorizer, func(a *Authorizer) { a.Spec.HTTP = tokenAuthorizer().Spec.HTTP },
			[]want{{"spec", "http and introspection are all set"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.base()
			tt.mutate(a)
			checkErrors(t, a.Validate(), tt.want)
		})
	}
}
