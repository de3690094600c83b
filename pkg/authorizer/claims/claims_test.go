package claims_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/claims"
)

const prefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

type statement struct {
	Sid, Effect string
	Resource    []string
}

func statements(t *testing.T, doc []byte) []statement {
	t.Helper()
	var d struct{ Statement []statement }
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	return d.Statement
}

func TestMapperPrincipal(t *testing.T) {
	introspection := []string{"sub", "username", "client_id"}
	tests := []struct {
		name   string
		names  []string
		claims map[string]any
		want   string
	}{
		{"first claim present wins", introspection, map[string]any{"sub": "alice", "username": "al", "client_id": "app"}, "alice"},
		{"falls back to username", introspection, map[string]any{"username": "al", "client_id": "app"}, "al"},
		{"falls back to client_id", introspection, map[string]any{"client_id": "app"}, "app"},
		{"empty value skipped", introspection, map[string]any{"sub": "", "client_id": "app"}, "app"},
		{"number keeps its text", []string{"uid"}, map[string]any{"uid": json.Number("42")}, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := claims.NewMapper(tt.names, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := m.Response(authorizertest.Request(authorizer.TypeToken, ""), tt.claims)
			if err != nil || resp.PrincipalID != tt.want {
				t.Fatalf("principal %v, %v; want %q", resp, err, tt.want)
			}
		})
	}
	m, _ := claims.NewMapper(introspection, nil, nil)
	if _, err := m.Response(authorizertest.Request(authorizer.TypeToken, ""), map[string]any{"scope": "x"}); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("no principal claim: err %v, want ErrUnauthorized", err)
	}
}

func TestMapperPolicyAndContext(t *testing.T) {
	rules := []v1alpha1.PolicyRule{
		{Scopes: []string{"admin"}, Effect: "Allow", Routes: []string{"* *"}},
		{Effect: "Allow", Routes: []string{"GET /pets/*", "POST /users/{sub}", "GET /teams/{team}"}},
		{Scopes: []string{"banned"}, Effect: "Deny", Routes: []string{"* *"}},
	}
	m, err := claims.NewMapper([]string{"sub"}, []string{"team", "missing"}, rules)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Response(authorizertest.Request(authorizer.TypeToken, ""),
		map[string]any{"sub": "a*b", "scope": "read banned", "team": []any{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []statement{
		// The sub's '*' is made literal; the team claim is not a string, so its route is dropped.
		{"Rule1", "Allow", []string{prefix + "GET/pets/*", prefix + "POST/users/a${*}b"}},
		{"Rule2", "Deny", []string{prefix + "*/*"}},
	}
	if got := statements(t, resp.PolicyDocument); !reflect.DeepEqual(got, want) {
		t.Errorf("statements =\n%v\nwant\n%v", got, want)
	}
	if !reflect.DeepEqual(resp.Scopes, []string{"read", "banned"}) {
		t.Errorf("scopes = %v", resp.Scopes)
	}
	if !reflect.DeepEqual(resp.Context, map[string]any{"team": []any{"x"}}) {
		t.Errorf("context = %v, want only the claims present", resp.Context)
	}
}

func TestMapperWithoutRulesAllowsTheGuardedRoutes(t *testing.T) {
	m, _ := claims.NewMapper([]string{"sub"}, nil, nil)
	resp, err := m.Response(authorizertest.Request(authorizer.TypeToken, ""), map[string]any{"sub": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if got := statements(t, resp.PolicyDocument); len(got) != 1 || got[0].Effect != "Allow" || got[0].Resource[0] != prefix+"*" {
		t.Errorf("statements = %v, want one Allow of %s*", got, prefix)
	}
}
