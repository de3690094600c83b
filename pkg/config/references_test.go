package config

import (
	"slices"
	"strings"
	"testing"
)

// doc builds an Authorizer or Api document; spec lines start at line 5 of the document.
func doc(kind, name, spec string) string {
	return "apiVersion: portcullis.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" + spec + "---\n"
}

const (
	tokenAuth  = "  type: TOKEN\n  identitySource: method.request.header.Authorization\n  http: {url: http://a/b}\n"
	jwtAuth    = "  type: JWT\n  jwt: {issuer: https://issuer.example.com}\n"
	simpleAuth = "  type: REQUEST\n  identitySource: $request.header.x\n  enableSimpleResponses: true\n  lambda: {functionName: f}\n"
)

// api is an Api spec with the given protocol, hosts and routes (routes start at line 11).
func api(protocol, hosts, defaultAuthorizer string, routes ...string) string {
	s := "  protocol: " + protocol + "\n  region: r\n  accountId: \"123456789012\"\n  apiId: i\n  stage: s\n"
	if hosts != "" {
		s += "  hosts: " + hosts + "\n"
	}
	if defaultAuthorizer != "" {
		s += "  defaultAuthorizer: " + defaultAuthorizer + "\n"
	}
	s += "  routes:\n"
	for _, r := range routes {
		s += "    - " + r + "\n"
	}
	return s
}

func TestReferences(t *testing.T) {
	authorizers := doc("Authorizer", "tokens", tokenAuth) + doc("Authorizer", "jwt", jwtAuth) + doc("Authorizer", "simple", simpleAuth)
	// The Api document starts at line 25, after the three authorizers.
	tests := []struct {
		name string
		api  string
		want []string
	}{
		{"valid references", api("REST", "", "tokens", "{path: /a, methods: [GET]}", "{path: /b, methods: [GET], authorizer: jwt, authorizationScopes: [x]}",
			"{path: /c, methods: [GET], authorizer: NONE}"), nil},
		{"dangling route authorizer", api("REST", "", "tokens", "{path: /a, methods: [GET]}", "{path: /b, methods: [GET], authorizer: admns}"),
			[]string{`c.yaml:37: Api/p: spec.routes[1].authorizer: no Authorizer named "admns"`}},
		{"dangling default authorizer", api("REST", "", "tokns", "{path: /a, methods: [GET]}"),
			[]string{`c.yaml:34: Api/p: spec.defaultAuthorizer: no Authorizer named "tokns"`}},
		{"scopes on a TOKEN route", api("REST", "", "tokens", "{path: /a, methods: [GET], authorizationScopes: [x]}"),
			[]string{`c.yaml:36: Api/p: spec.routes[0].authorizationScopes: only JWT authorizers check scopes; Authorizer "tokens" is TOKEN`}},
		{"simple responses on an HTTP Api", api("HTTP", "", "simple", "{path: /a, methods: [GET]}"), nil},
		{"simple responses on a REST Api", api("REST", "", "", "{path: /a, methods: [GET], authorizer: simple}"),
			[]string{`c.yaml:35: Api/p: spec.routes[0].authorizer: Authorizer "simple" enables simple responses, which need payload format 2.0, but a REST Api defaults to 1.0: set its payloadFormatVersion to "2.0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrors(t, authorizers+doc("Api", "p", tt.api))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNamesAndHosts(t *testing.T) {
	route := "{path: /a, methods: [GET], authorizer: NONE}"
	tests := []struct {
		name string
		docs string
		want []string
	}{
		{"same name in two kinds", doc("Authorizer", "p", tokenAuth) + doc("Api", "p", api("REST", "", "", route)), nil},
		{"duplicate authorizer name", doc("Authorizer", "a", tokenAuth) + doc("Authorizer", "a", jwtAuth),
			[]string{"c.yaml:11: Authorizer/a: metadata.name: duplicate name: Authorizer/a is also defined at c.yaml:1"}},
		{"host claimed twice", doc("Api", "p", api("REST", "[a.example.com, b.example.com]", "", route)) +
			doc("Api", "q", api("REST", "[c.example.com, b.example.com]", "", route)),
			[]string{`c.yaml:23: Api/q: spec.hosts[1]: host "b.example.com" is also claimed by Api/p (c.yaml:1)`}},
		{"exact and wildcard hosts may overlap", doc("Api", "p", api("REST", "[a.example.com]", "", route)) +
			doc("Api", "q", api("REST", `["*.example.com"]`, "", route)), nil},
		{"two host-less Apis, told apart by name", doc("Api", "p", api("REST", "", "", route)) + doc("Api", "q", api("REST", "", "", route)), nil},
		{"DENY needs no Authorizer", doc("Api", "p", api("REST", "", "DENY", "{path: /a, methods: [GET]}", "{path: $default, methods: [ANY], authorizer: DENY}")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadErrors(t, tt.docs); !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
