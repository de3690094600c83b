package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// header starts a valid Authorizer document; cases append their spec lines (line 5 onwards).
const header = "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: a}\nspec:\n"

// apiHeader starts a valid Api document but for its routes, which start at line 9.
const apiHeader = "apiVersion: portcullis.dev/v1alpha1\nkind: Api\nmetadata: {name: p}\nspec:\n" +
	"  region: r\n  accountId: \"123456789012\"\n  apiId: i\n  stage: s\n"

const tokenSpec = "  type: TOKEN\n  identitySource: method.request.header.Authorization\n  http: {url: http://a/b}\n"

func loadErrors(t *testing.T, doc string) []string {
	t.Helper()
	set, err := LoadBytes("c.yaml", []byte(doc))
	if err == nil {
		if set == nil {
			t.Fatal("LoadBytes returned neither a Set nor an error")
		}
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not an ErrorList", err)
	}
	return strings.Split(err.Error(), "\n")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"valid", header + tokenSpec, nil},
		{"unknown field with its line", header + tokenSpec + "  resultTTL: 5\n",
			[]string{"c.yaml:8: Authorizer/a: spec.resultTTL: unknown field"}},
		{"field name case is exact", header + tokenSpec + "  Type: TOKEN\n",
			[]string{`c.yaml:8: Authorizer/a: spec.Type: unknown field (did you mean "type"?)`}},
		{"nested unknown field", header + "  type: TOKEN\n  identitySource: method.request.header.A\n  http:\n    url: http://a/b\n    retries: 3\n",
			[]string{"c.yaml:9: Authorizer/a: spec.http.retries: unknown field"}},
		{"unknown field in a list item", apiHeader + "  routes:\n    - {path: /a, methods: [GET], authoriser: NONE}\n",
			[]string{"c.yaml:10: Api/p: spec.routes[0].authoriser: unknown field", "c.yaml:10: Api/p: spec.routes[0].authorizer: required: name an authorizer (NONE for a public route) or set spec.defaultAuthorizer"}},
		{"integer wanted", header + tokenSpec + "  resultTtlInSeconds: soon\n",
			[]string{"c.yaml:8: Authorizer/a: spec.resultTtlInSeconds: want an integer that fits in 32 bits, got a string"}},
		{"integer too large", header + tokenSpec + "  resultTtlInSeconds: 99999999999\n",
			[]string{"c.yaml:8: Authorizer/a: spec.resultTtlInSeconds: want an integer that fits in 32 bits, got a number"}},
		{"string wanted, number found", header + "  type: REQUEST\n  identitySource: $request.header.a\n  payloadFormatVersion: 2.0\n  lambda: {functionName: f}\n",
			[]string{"c.yaml:7: Authorizer/a: spec.payloadFormatVersion: want a string, got a number (quote it)"}},
		{"boolean wanted", header + tokenSpec + "  enableSimpleResponses: yes\n",
			[]string{"c.yaml:8: Authorizer/a: spec.enableSimpleResponses: want true or false, got a string"}},
		{"duration wanted", header + "  type: TOKEN\n  identitySource: method.request.header.A\n  http: {url: http://a/b, timeout: 5}\n",
			[]string{"c.yaml:7: Authorizer/a: spec.http.timeout: want a duration such as 5s or 1m30s, got a number"}},
		{"mapping wanted", header + "  type: TOKEN\n  identitySource: method.request.header.A\n  http: http://a/b\n",
			[]string{"c.yaml:7: Authorizer/a: spec.http: want a mapping, got a string"}},
		{"list wanted", header + "  type: JWT\n  jwt: {issuer: https://i, audience: api}\n",
			[]string{"c.yaml:6: Authorizer/a: spec.jwt.audience: want a list, got a string"}},
		{"identity source list of numbers", header + "  type: REQUEST\n  identitySource: [1]\n  lambda: {functionName: f}\n",
			[]string{"c.yaml:6: Authorizer/a: spec.identitySource[0]: want a string, got a number (quote it)"}},
		{"identity source mapping", header + "  type: REQUEST\n  identitySource: {a: b}\n  lambda: {functionName: f}\n",
			[]string{"c.yaml:6: Authorizer/a: spec.identitySource: want a string or a list of strings, got a mapping"}},
		{"secret value type error hides the value", header + "  type: TOKEN\n  identitySource: method.request.header.A\n  http:\n    url: http://a/b\n    headers: {x-k: {value: 123456789}}\n",
			[]string{"c.yaml:9: Authorizer/a: spec.http.headers[x-k].value: want a string, got a number (quote it)"}},
		{"duplicate key", header + tokenSpec + "  type: JWT\n",
			[]string{"c.yaml:8: Authorizer/a: spec.type: duplicate field (first at line 5)"}},
		{"every error reported", header + "  type: TOKEN\n  identitySource: method.request.header.A\n  bogus: 1\n  http: {url: http://a/b, extra: 2}\n  resultTtlInSeconds: x\n",
			[]string{"c.yaml:7: Authorizer/a: spec.bogus: unknown field", "c.yaml:8: Authorizer/a: spec.http.extra: unknown field",
				"c.yaml:9: Authorizer/a: spec.resultTtlInSeconds: want an integer that fits in 32 bits, got a string"}},
		{"status is not a field", header + tokenSpec + "status: {}\n", []string{"c.yaml:8: Authorizer/a: status: unknown field"}},
		{"kubernetes metadata accepted", "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata:\n  name: a\n  namespace: n\n  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n  creationTimestamp: null\n  labels: {x: y}\n  annotations: {kubectl.kubernetes.io/last-applied-configuration: \"{}\"}\nspec:\n" + tokenSpec, nil},
		{"unknown metadata field", "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: a, nmae: b}\nspec:\n" + tokenSpec,
			[]string{"c.yaml:3: Authorizer/a: metadata.nmae: unknown field"}},
		{"merged unknown field reported at its line", apiHeader + "  routes:\n    - &r {path: /a, methods: [GET], authorizer: NONE, x: 1}\n    - {<<: *r, path: /b}\n",
			[]string{"c.yaml:10: Api/p: spec.routes[0].x: unknown field", "c.yaml:10: Api/p: spec.routes[1].x: unknown field"}},
		{"merge of a scalar", apiHeader + "  routes:\n    - &r /a\n    - {<<: *r, path: /b}\n",
			[]string{"c.yaml:10: Api/p: spec.routes[0]: want a mapping, got a string",
				"c.yaml:10: Api/p: spec.routes[1]: a merge key (<<) takes a mapping or a list of mappings, got a string"}},
		{"value left unresolved by import", header + "  type: REQUEST\n  identitySource: method.request.header.A\n  lambda: {functionName: \"<unresolved: MyAuthFn.Arn>\"}\n",
			[]string{`c.yaml:7: Authorizer/a: spec.lambda.functionName: unresolved value "MyAuthFn.Arn" left by portcullis import: import again with --set MyAuthFn.Arn=VALUE, or write the value here`}},
		{"unresolved inside a value", header + "  type: JWT\n  jwt: {issuer: \"https://cognito-idp.<unresolved: AWS::Region>.amazonaws.com/p\"}\n",
			[]string{`c.yaml:6: Authorizer/a: spec.jwt.issuer: unresolved value "AWS::Region" left by portcullis import: import again with --set AWS::Region=VALUE, or write the value here`,
				"c.yaml:6: Authorizer/a: spec.jwt: no keys: set jwksUri or keys, or use an http(s) issuer that publishes OIDC discovery"}},
		{"alias that contains itself", apiHeader + "  routes: &r [*r]\n",
			[]string{"c.yaml:9: Api/p: spec.routes[0]: want a mapping, got a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadErrors(t, tt.doc); !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMergeKeys(t *testing.T) {
	doc := apiHeader + "  routes:\n    - &r {path: /a, methods: [GET], authorizer: NONE}\n    - {<<: *r, path: /b}\n"
	set, err := LoadBytes("c.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := set.Apis[0].Spec.Routes[1]
	if r.Path != "/b" || r.Authorizer != "NONE" || !slices.Equal(r.Methods, []string{"GET"}) {
		t.Fatalf("merged route = %+v, want path /b with the rest from the anchor", r)
	}
}

// TestAliasExpansionBounded loads a "billion laughs" document: nine levels of ten aliases each,
// under managedFields[].fieldsV1, which takes any value and so is expanded in full.
func TestAliasExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: portcullis.dev/v1alpha1\nkind: Api\nmetadata:\n  name: p\n  managedFields:\n  - fieldsV1:\n")
	b.WriteString("      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "      a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	errs := loadErrors(t, b.String())
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "document too large") {
		t.Fatalf("errors = %q, want the document refused as too large", errs)
	}
}
