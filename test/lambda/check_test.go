//go:build linux

package lambda_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
)

const checkConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: fn}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 300
  lambda: {functionName: FUNCTION, region: REGION, endpoint: ENDPOINT, timeout: 20s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  defaultAuthorizer: fn
  routes:
    - {path: "/pets/{petId}", methods: [ANY]}
`

// TestCheckThroughEmulator sends Envoy Checks over real gRPC to the whole pipeline, whose
// authorizer is the test function running under the Lambda Runtime Interface Emulator.
func TestCheckThroughEmulator(t *testing.T) {
	e := startEmulator(t)
	isolateAWS(t)
	cfg := strings.NewReplacer("FUNCTION", functionName, "REGION", testRegion, "ENDPOINT", e.endpoint).Replace(checkConfig)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(snap, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	client := serveCheck(t, extauthz.New(eng, extauthz.Options{}))

	tests := []struct {
		name   string
		token  string // the function's verb, then "."
		status int32  // 0: allowed
		body   string
	}{
		{"function allows the methodArn", "allow." + secret, 0, ""},
		{"cached allow for the same arn", "allow." + secret, 0, ""},
		{"function denies", "deny." + secret, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"function says Unauthorized", "unauthorized." + secret, 401, `{"message":"Unauthorized"}`},
		{"function fails", "fail." + secret, 500, `{"message":null}`},
		{"function crashes", "crash." + secret, 500, `{"message":null}`},
		{"function panics", "panic." + secret, 500, `{"message":null}`},
		{"function answers again after the crash", "allow.another", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Check(context.Background(), checkRequest("GET", "/pets/1", "Bearer "+tt.token))
			if err != nil {
				t.Fatal(err)
			}
			d := resp.GetDeniedResponse()
			if int32(d.GetStatus().GetCode()) != tt.status || d.GetBody() != tt.body {
				t.Fatalf("got %d %q, want %d %q", d.GetStatus().GetCode(), d.GetBody(), tt.status, tt.body)
			}
		})
	}
}

func serveCheck(t *testing.T, srv *extauthz.Server) authv3.AuthorizationClient {
	return extauthztest.Serve(t, extauthz.NewGRPCServer(srv))
}

func checkRequest(method, path, authorization string) *authv3.CheckRequest {
	return extauthztest.Request(method, "api.example.com", path, map[string]string{"authorization": authorization})
}
