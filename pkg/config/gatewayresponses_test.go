package config

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
)

const responsesDoc = `apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: shop}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: shop
  stage: prod
  stageVariables: {env: prod}
  dryRun: true
  routes:
    - {path: /a, methods: [GET], authorizer: NONE, dryRun: true}
  gatewayResponses:
`

// TestGatewayResponseErrors: every problem of spec.gatewayResponses is reported at load with
// file, line, object and field, all of them at once, with the rest of the Api's problems.
func TestGatewayResponseErrors(t *testing.T) {
	doc := responsesDoc + `    UNAUTHORISED: {statusCode: 401}
    ACCESS_DENIED:
      statusCode: 700
      responseParameters:
        gatewayresponse.header.Location: method.request.cookie.x
      responseTemplates:
        application/json: '{"a":"$context.identity.sourceIp"}'
`
	_, err := LoadBytes("c.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`c.yaml:14: Api/shop: spec.gatewayResponses.UNAUTHORISED: unknown response type "UNAUTHORISED"`,
		`c.yaml:16: Api/shop: spec.gatewayResponses.ACCESS_DENIED.statusCode: 700 out of range`,
		`c.yaml:18: Api/shop: spec.gatewayResponses.ACCESS_DENIED.responseParameters[gatewayresponse.header.Location]: "method.request.cookie.x": want 'literal'`,
		`c.yaml:20: Api/shop: spec.gatewayResponses.ACCESS_DENIED.responseTemplates[application/json]: unknown template variable $context.identity.sourceIp`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack\n%s\ngot\n%v", want, err)
		}
	}
}

// TestGatewayResponsesCompiled: a valid Api carries its compiled responses and dry run flags.
func TestGatewayResponsesCompiled(t *testing.T) {
	doc := responsesDoc + `    DEFAULT_4XX: {statusCode: 418}
`
	p := t.TempDir() + "/c.yaml"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := Build(context.Background(), BuildOptions{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	api := snap.ApiByName("shop")
	if r := api.Responses.Render(gatewayresponse.ImplicitDeny, false, nil); r.Status != 418 {
		t.Fatalf("status %d, want 418", r.Status)
	}
	if !api.DryRun || !api.Route[0].DryRun {
		t.Fatalf("dry run: api %v route %v", api.DryRun, api.Route[0].DryRun)
	}
}
