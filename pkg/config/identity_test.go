package config

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// wantProblem is one expected problem: its exact field and a part of its reason.
type wantProblem struct{ field, reason string }

func identityAuthorizer(typ string, sources ...string) func() *v1alpha1.Authorizer {
	return func() *v1alpha1.Authorizer {
		a := &v1alpha1.Authorizer{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: v1alpha1.AuthorizerSpec{
			Type: typ, IdentitySource: sources,
		}}
		if typ == v1alpha1.TypeToken {
			a.Spec.IdentityValidationExpression = `^Bearer [-0-9A-Za-z._~+/]+=*$`
		}
		a.Spec.Default()
		return a
	}
}

var (
	tokenAuthorizer   = identityAuthorizer(v1alpha1.TypeToken, "method.request.header.Authorization")
	requestAuthorizer = identityAuthorizer(v1alpha1.TypeRequest, "$request.header.x-tenant", "$request.querystring.key", "$context.identity.sourceIp")
	jwtAuthorizer     = identityAuthorizer(v1alpha1.TypeJWT)
)

// The identity sources and the validation expression are checked where they are compiled.
func TestIdentityProblems(t *testing.T) {
	type want = wantProblem
	tests := []struct {
		name   string
		base   func() *v1alpha1.Authorizer
		mutate func(a *v1alpha1.Authorizer)
		want   []want
	}{
		{"valid token", tokenAuthorizer, func(*v1alpha1.Authorizer) {}, nil},
		{"valid request", requestAuthorizer, func(*v1alpha1.Authorizer) {}, nil},
		{"valid jwt, default source", jwtAuthorizer, func(*v1alpha1.Authorizer) {}, nil},
		{"bad source syntax", tokenAuthorizer, func(a *v1alpha1.Authorizer) { a.Spec.IdentitySource = v1alpha1.StringOrList{"header.Authorization"} },
			[]want{{"spec.identitySource[0]", "invalid identity source"}}},
		{"token needs a source", tokenAuthorizer, func(a *v1alpha1.Authorizer) { a.Spec.IdentitySource = nil },
			[]want{{"spec.identitySource", "exactly one header"}}},
		{"token takes one source", tokenAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = v1alpha1.StringOrList{"$request.header.a", "$request.header.b"}
		}, []want{{"spec.identitySource", "exactly one header"}}},
		{"token source must be a header", tokenAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = v1alpha1.StringOrList{"method.request.querystring.token"}
		}, []want{{"spec.identitySource", "exactly one header"}}},
		{"request needs a source", requestAuthorizer, func(a *v1alpha1.Authorizer) { a.Spec.IdentitySource = nil },
			[]want{{"spec.identitySource", "one or more sources (none only with resultTtlInSeconds: 0)"}}},
		{"request without a source when nothing is cached", requestAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = nil
			a.Spec.ResultTTLInSeconds = new(int32(0))
		}, nil},
		{"jwt may read the query string", jwtAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = v1alpha1.StringOrList{"$request.querystring.token"}
		}, nil},
		{"jwt source must be a header or query string", jwtAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = v1alpha1.StringOrList{"$stageVariables.token"}
		}, []want{{"spec.identitySource", "at most one header or query string"}}},
		{"jwt takes one source", jwtAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.IdentitySource = v1alpha1.StringOrList{"$request.querystring.token", "$request.header.Authorization"}
		}, []want{{"spec.identitySource", "at most one header or query string"}}},
		{"regex must compile", tokenAuthorizer, func(a *v1alpha1.Authorizer) { a.Spec.IdentityValidationExpression = "(" },
			[]want{{"spec.identityValidationExpression", "missing closing )"}}},
		{"unknown type is the Authorizer's own validation's to report", tokenAuthorizer, func(a *v1alpha1.Authorizer) {
			a.Spec.Type, a.Spec.IdentitySource = "token", v1alpha1.StringOrList{"header.Authorization"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.base()
			tt.mutate(a)
			got := identityProblems(&a.Spec)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got[i].Field != w.field || !strings.Contains(got[i].Reason, w.reason) {
					t.Errorf("problem %d = %q, want field %s with reason containing %q", i, got[i].Error(), w.field, w.reason)
				}
			}
		})
	}
}
