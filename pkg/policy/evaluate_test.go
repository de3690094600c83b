package policy

import (
	"net/netip"
	"testing"
)

const arnPrefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"

func stmt(effect, resource string) string {
	return `{"Effect":"` + effect + `","Action":"execute-api:Invoke","Resource":"` + resource + `"}`
}

type evalCase struct {
	name     string
	doc      string
	arn      string
	facts    *Facts
	want     Decision
	wantStmt int
}

func runEvalCases(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.doc)
			got := p.Evaluate(tt.arn, tt.facts)
			if got.Decision != tt.want || got.Statement != tt.wantStmt {
				t.Errorf("Evaluate(%q) = %v at statement %d, want %v at statement %d",
					tt.arn, got.Decision, got.Statement, tt.want, tt.wantStmt)
			}
		})
	}
}

func TestEvaluateResources(t *testing.T) {
	runEvalCases(t, []evalCase{
		{"exact ARN", doc(stmt("Allow", arnPrefix+"GET/pets/42")), arnPrefix + "GET/pets/42", nil, Allow, 0},
		{"resource must match the whole ARN", doc(stmt("Allow", arnPrefix+"GET/pets")), arnPrefix + "GET/pets/42", nil, ImplicitDeny, -1},
		{"star crosses slashes", doc(stmt("Allow", arnPrefix+"*")), arnPrefix + "GET/pets/42/toys", nil, Allow, 0},
		{"star in the middle crosses slashes", doc(stmt("Allow", arnPrefix+"*/toys")), arnPrefix + "GET/pets/42/toys", nil, Allow, 0},
		{"star spans ARN fields", doc(stmt("Allow", "arn:aws:execute-api:*/GET/*")), arnPrefix + "GET/pets/42", nil, Allow, 0},
		{"question mark matches one character", doc(stmt("Allow", arnPrefix+"GET/pets/4?")), arnPrefix + "GET/pets/42", nil, Allow, 0},
		{"question mark does not match two", doc(stmt("Allow", arnPrefix+"GET/pets/4?")), arnPrefix + "GET/pets/420", nil, ImplicitDeny, -1},
		{"question mark does not match none", doc(stmt("Allow", arnPrefix+"GET/pets/4?")), arnPrefix + "GET/pets/4", nil, ImplicitDeny, -1},
		{"root path needs its trailing slash", doc(stmt("Allow", arnPrefix+"GET")), arnPrefix + "GET/", nil, ImplicitDeny, -1},
		{"root path matches GET/", doc(stmt("Allow", arnPrefix+"GET/")), arnPrefix + "GET/", nil, Allow, 0},
		{"GET/* covers the root path", doc(stmt("Allow", arnPrefix+"GET/*")), arnPrefix + "GET/", nil, Allow, 0},
		{"GET/ does not cover deeper paths", doc(stmt("Allow", arnPrefix+"GET/")), arnPrefix + "GET/pets", nil, ImplicitDeny, -1},
		{"resources are case-sensitive", doc(stmt("Allow", arnPrefix+"get/*")), arnPrefix + "GET/pets", nil, ImplicitDeny, -1},
		{"any entry of a resource list", doc(`{"Effect":"Allow","Action":"*","Resource":["` + arnPrefix + `POST/*","` + arnPrefix + `GET/pets/*"]}`), arnPrefix + "GET/pets/42", nil, Allow, 0},
		{"star alone", doc(stmt("Allow", "*")), arnPrefix + "DELETE/x", nil, Allow, 0},
		{
			"NotResource with Deny denies everything else",
			doc(allowAll, `{"Effect":"Deny","Action":"*","NotResource":"`+arnPrefix+`GET/public/*"}`),
			arnPrefix + "GET/pets/42", nil, ExplicitDeny, 1,
		},
		{
			"NotResource with Deny spares what it names",
			doc(allowAll, `{"Effect":"Deny","Action":"*","NotResource":"`+arnPrefix+`GET/public/*"}`),
			arnPrefix + "GET/public/index.html", nil, Allow, 0,
		},
		{
			"NotResource with Allow",
			doc(`{"Effect":"Allow","Action":"*","NotResource":["` + arnPrefix + `*/admin/*"]}`),
			arnPrefix + "GET/pets", nil, Allow, 0,
		},
	})
}

func TestEvaluateOrder(t *testing.T) {
	pets := arnPrefix + "GET/pets/42"
	runEvalCases(t, []evalCase{
		{"explicit deny beats an earlier allow", doc(allowAll, stmt("Deny", arnPrefix+"GET/pets/*")), pets, nil, ExplicitDeny, 1},
		{"explicit deny beats a later allow", doc(stmt("Deny", "*"), allowAll), pets, nil, ExplicitDeny, 0},
		{"first matching allow decides", doc(stmt("Allow", arnPrefix+"POST/*"), stmt("Allow", arnPrefix+"GET/*"), allowAll), pets, nil, Allow, 1},
		{"no match is an implicit deny", doc(stmt("Allow", arnPrefix+"POST/*")), pets, nil, ImplicitDeny, -1},
		{"deny of another resource does not apply", doc(stmt("Deny", arnPrefix+"POST/*"), allowAll), pets, nil, Allow, 1},
		{"deny whose condition fails does not apply", doc(`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, allowAll), pets, &Facts{SecureTransport: true}, Allow, 1},
		{"empty statement list denies", doc(), pets, nil, ImplicitDeny, -1},
	})
}

func TestEvaluateActions(t *testing.T) {
	withAction := func(element, action string) string {
		return doc(`{"Effect":"Allow","` + element + `":` + action + `,"Resource":"*"}`)
	}
	pets := arnPrefix + "GET/pets"
	runEvalCases(t, []evalCase{
		{"execute-api:Invoke", withAction("Action", `"execute-api:Invoke"`), pets, nil, Allow, 0},
		{"actions are case-insensitive", withAction("Action", `"EXECUTE-API:invoke"`), pets, nil, Allow, 0},
		{"service wildcard", withAction("Action", `"execute-api:*"`), pets, nil, Allow, 0},
		{"star", withAction("Action", `"*"`), pets, nil, Allow, 0},
		{"partial wildcard", withAction("Action", `"execute-api:In*"`), pets, nil, Allow, 0},
		{"question mark wildcard", withAction("Action", `"execute-api:Inv?ke"`), pets, nil, Allow, 0},
		{"other action does not apply", withAction("Action", `"execute-api:ManageConnections"`), pets, nil, ImplicitDeny, -1},
		{"other service does not apply", withAction("Action", `["s3:*","lambda:InvokeFunction"]`), pets, nil, ImplicitDeny, -1},
		{"NotAction of another service applies", withAction("NotAction", `"s3:*"`), pets, nil, Allow, 0},
		{"NotAction of invoke does not apply", withAction("NotAction", `"execute-api:*"`), pets, nil, ImplicitDeny, -1},
	})
}

func TestEvaluateVariables(t *testing.T) {
	users := func(effect, element, tail string) string {
		return doc(`{"Effect":"` + effect + `","Action":"*","` + element + `":"` + arnPrefix + tail + `"}`)
	}
	sub := func(v any) *Facts { return &Facts{Context: NewContext(map[string]any{"sub": v})} }
	runEvalCases(t, []evalCase{
		{"context variable in resource", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/42", sub("42"), Allow, 0},
		{"context variable of another user", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/43", sub("42"), ImplicitDeny, -1},
		{"number variable prints like JSON", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/42", sub(42.0), Allow, 0},
		{"variable value is literal, not a wildcard", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/42", sub("*"), ImplicitDeny, -1},
		{"variable value star matches only a star", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/*", sub("*"), Allow, 0},
		{"absent variable never matches", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/", &Facts{}, ImplicitDeny, -1},
		{"absent variable is not an empty string", users("Allow", "Resource", "GET/users/${context:sub}*"), arnPrefix + "GET/users/42", &Facts{}, ImplicitDeny, -1},
		{"multi-valued variable never matches", users("Allow", "Resource", "GET/users/${context:sub}"), arnPrefix + "GET/users/42", sub([]any{"42"}), ImplicitDeny, -1},
		{"absent variable in NotResource of a Deny", users("Deny", "NotResource", "GET/users/${context:sub}"), arnPrefix + "GET/users/42", &Facts{}, ExplicitDeny, 0},
		{"header variable", users("Allow", "Resource", "GET/tenants/${request:header/X-Tenant}/*"), arnPrefix + "GET/tenants/acme/pets", &Facts{Headers: map[string]string{"x-tenant": "acme"}}, Allow, 0},
		{"source IP variable", users("Allow", "Resource", "GET/ip/${aws:SourceIp}"), arnPrefix + "GET/ip/192.0.2.1", &Facts{SourceIP: netip.MustParseAddr("192.0.2.1")}, Allow, 0},
		{"variable names are case-insensitive", users("Allow", "Resource", "GET/users/${CONTEXT:sub}"), arnPrefix + "GET/users/42", sub("42"), Allow, 0},
		{"escaped star is literal", users("Allow", "Resource", "GET/files/${*}"), arnPrefix + "GET/files/*", nil, Allow, 0},
		{"escaped star is not a wildcard", users("Allow", "Resource", "GET/files/${*}"), arnPrefix + "GET/files/x", nil, ImplicitDeny, -1},
		{"escaped question mark and dollar", users("Allow", "Resource", "GET/a${?}b${$}"), arnPrefix + "GET/a?b$", nil, Allow, 0},
		{"escaped question mark is not a wildcard", users("Allow", "Resource", "GET/a${?}b"), arnPrefix + "GET/axb", nil, ImplicitDeny, -1},
		{
			"variables are literal text in 2008-10-17",
			`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"` + arnPrefix + `GET/users/${context:sub}"}}`,
			arnPrefix + "GET/users/${context:sub}", sub("42"), Allow, 0,
		},
		{
			"no variable substitution in 2008-10-17",
			`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"` + arnPrefix + `GET/users/${context:sub}"}}`,
			arnPrefix + "GET/users/42", sub("42"), ImplicitDeny, -1,
		},
		{
			"no version means 2008-10-17",
			`{"Statement":{"Effect":"Allow","Action":"*","Resource":"` + arnPrefix + `GET/users/${context:sub}"}}`,
			arnPrefix + "GET/users/42", sub("42"), ImplicitDeny, -1,
		},
	})
}

func TestEvaluateReportsSid(t *testing.T) {
	p := mustCompile(t, doc(
		`{"Sid":"ReadPets","Effect":"Allow","Action":"*","Resource":"`+arnPrefix+`GET/*"}`,
		`{"Sid":"NoAdmin","Effect":"Deny","Action":"*","Resource":"`+arnPrefix+`*/admin/*"}`,
	))
	tests := []struct {
		name string
		arn  string
		want Result
	}{
		{"allow names its statement", arnPrefix + "GET/pets", Result{Allow, 0, "ReadPets"}},
		{"deny names its statement", arnPrefix + "GET/admin/x", Result{ExplicitDeny, 1, "NoAdmin"}},
		{"implicit deny names none", arnPrefix + "POST/pets", Result{ImplicitDeny, -1, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Evaluate(tt.arn, nil); got != tt.want {
				t.Errorf("Evaluate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNilPolicyDenies(t *testing.T) {
	var p *Policy
	if got := p.Evaluate(testArn, nil); got != (Result{ImplicitDeny, -1, ""}) {
		t.Errorf("nil policy: %+v", got)
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		d    Decision
		want string
	}{
		{Allow, "Allow"},
		{ExplicitDeny, "Deny (explicit)"},
		{ImplicitDeny, "Deny (implicit)"},
		{Decision(0), "Deny (implicit)"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("Decision(%d).String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}
