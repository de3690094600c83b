package forwardauth

import (
	"strings"
	"testing"

	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
)

// configWithAnswers is fat.Config with the REST Api's own gateway responses, and a route in dry
// run, appended as a third Api on its own host.
func configWithAnswers(url string) string {
	return fat.Config(url) + `---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: custom}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: custom
  stage: prod
  hosts: [custom.example.com]
  defaultAuthorizer: tokens
  gatewayResponses:
    UNAUTHORIZED:
      statusCode: 302
      responseParameters:
        gatewayresponse.header.Location: "'https://login.example.com/'"
      responseTemplates:
        application/json: '{"error":$context.error.messageString,"id":"$context.requestId"}'
    DEFAULT_4XX:
      responseTemplates:
        application/json: '{"type":"$context.error.responseType","path":"$context.path"}'
  routes:
    - {path: /pets, methods: [GET]}
    - {path: /trial, methods: [GET], dryRun: true}
`
}

// The HTTP front answers with the same gateway responses as the gRPC one: both render through
// Decision.Denial.
func TestGatewayResponsesOverHTTP(t *testing.T) {
	f := newFrontWith(t, Options{Mode: ModeXOriginal}, configWithAnswers)
	const custom = "Host: custom.example.com"
	t.Run("unauthorized becomes a redirect to the login page", func(t *testing.T) {
		got := f.send(t, "GET /auth HTTP/1.1", custom, "X-Original-Method: GET", "X-Original-URI: /pets", "x-request-id: req-7")
		if got.status != 302 || got.header.Get("Location") != "https://login.example.com/" {
			t.Fatalf("got %s, want 302 to the login page", got)
		}
		if got.body != `{"error":"Unauthorized","id":"req-7"}` {
			t.Fatalf("body = %q", got.body)
		}
		if got.header.Get("x-amzn-requestid") != "req-7" {
			t.Fatalf("x-amzn-requestid = %q", got.header.Get("x-amzn-requestid"))
		}
	})
	t.Run("an implicit deny falls back to DEFAULT_4XX", func(t *testing.T) {
		got := f.send(t, "GET /auth HTTP/1.1", custom, "X-Original-Method: GET", "X-Original-URI: /pets",
			"Authorization: "+fat.OtherRoute)
		if got.status != 403 || got.body != `{"type":"ACCESS_DENIED","path":"/pets"}` {
			t.Fatalf("got %s, want 403 with the DEFAULT_4XX template", got)
		}
		if got.header.Get("content-type") != "application/json" {
			t.Fatalf("content-type = %q", got.header.Get("content-type"))
		}
	})
	t.Run("a bad request is the Api's own answer too", func(t *testing.T) {
		got := f.send(t, "GET /auth HTTP/1.1", custom, "X-Original-Method: GET", "X-Original-URI: /pets/%2e%2e/admin")
		if got.status != 400 || !strings.Contains(got.body, `"type":"BAD_REQUEST_PARAMETERS"`) {
			t.Fatalf("got %s, want 400 with the DEFAULT_4XX template", got)
		}
	})
	t.Run("another Api keeps the built-in answers", func(t *testing.T) {
		got := f.send(t, "GET /auth HTTP/1.1", host, "X-Original-Method: GET", "X-Original-URI: /pets")
		want{status: 401, body: "unauthorized"}.check(t, got)
	})
}

func TestDryRunOverHTTP(t *testing.T) {
	f := newFrontWith(t, Options{Mode: ModeXOriginal}, configWithAnswers)
	const custom = "Host: custom.example.com"
	tests := []struct {
		name, token, mark, principal string
	}{
		{"missing token", "", "unauthorized", ""},
		{"explicit deny", fat.Deny, "explicit_deny", "user-deny"},
		{"implicit deny", fat.OtherRoute, "implicit_deny", "user-other"},
		{"backend failure", fat.Failing, "authorizer_failure", ""},
		{"allow is not marked", fat.Allow, "", fat.Principal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{custom, "X-Original-Method: GET", "X-Original-URI: /trial", "X-Authorizer-Dry-Run: spoofed"}
			if tc.token != "" {
				headers = append(headers, "Authorization: "+tc.token)
			}
			got := f.send(t, "GET /auth HTTP/1.1", headers...)
			if got.status != 200 || got.body != "" {
				t.Fatalf("got %s, want 200 with no body", got)
			}
			if m := got.header.Get("x-authorizer-dry-run"); m != tc.mark {
				t.Fatalf("x-authorizer-dry-run = %q, want %q", m, tc.mark)
			}
			if p := got.header.Get("x-authorizer-principal-id"); p != tc.principal {
				t.Fatalf("x-authorizer-principal-id = %q, want %q", p, tc.principal)
			}
			// The client's own copy goes: replaced by the mark, or removed where there is none.
			removed := strings.Contains(got.header.Get("x-envoy-auth-headers-to-remove"), "x-authorizer-dry-run")
			if removed != (tc.mark == "") {
				t.Fatalf("x-envoy-auth-headers-to-remove = %q with mark %q", got.header.Get("x-envoy-auth-headers-to-remove"), tc.mark)
			}
		})
	}
	t.Run("a route not in dry run is enforced", func(t *testing.T) {
		got := f.send(t, "GET /auth HTTP/1.1", custom, "X-Original-Method: GET", "X-Original-URI: /pets")
		if got.status != 302 {
			t.Fatalf("got %s, want the enforced 302", got)
		}
	})
}
