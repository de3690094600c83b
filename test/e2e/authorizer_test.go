package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAuthorizer is a real HTTP Lambda-authorizer endpoint whose answer depends on the token.
type fakeAuthorizer struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	last  map[string]any
}

func newFakeAuthorizer(t *testing.T) *fakeAuthorizer {
	t.Helper()
	f := &fakeAuthorizer{calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAuthorizer) URL() string { return f.srv.URL + "/authorize" }

func (f *fakeAuthorizer) Calls(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[token]
}

func (f *fakeAuthorizer) LastEvent() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeAuthorizer) serve(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	token, _ := ev["authorizationToken"].(string)
	if token == "" {
		if hs, ok := ev["headers"].(map[string]any); ok {
			token, _ = hs["authorization"].(string)
		}
	}
	token = strings.TrimPrefix(token, "Bearer ")
	methodArn, _ := ev["methodArn"].(string)
	f.mu.Lock()
	f.calls[token]++
	f.last = ev
	f.mu.Unlock()

	// arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets -> prefix up to the stage.
	parts := strings.SplitN(methodArn, "/", 3)
	prefix := strings.Join(parts[:2], "/")
	switch token {
	case "unauth":
		http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
	case "broken":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "garbage":
		w.Write([]byte("this is not json"))
	case "deny-all":
		writeAnswer(w, "user-deny", []statement{{"Allow", prefix + "/*"}, {"Deny", prefix + "/*"}}, nil)
	case "other-api":
		writeAnswer(w, "user-other", []statement{{"Allow", "arn:aws:execute-api:us-east-1:123456789012:zzz/prod/*"}}, nil)
	case "pets-only":
		writeAnswer(w, "user-pets", []statement{{"Allow", prefix + "/GET/pets"}}, nil)
	case "slow":
		time.Sleep(200 * time.Millisecond)
		writeAnswer(w, "user-slow", []statement{{"Allow", prefix + "/*"}}, nil)
	default:
		writeAnswer(w, "user-"+token, []statement{{"Allow", prefix + "/*"}},
			map[string]any{"tenant": "acme", "level": 3, "admin": false, "Role Name": "reader"})
	}
}

type statement struct{ effect, resource string }

func writeAnswer(w http.ResponseWriter, principal string, stmts []statement, context map[string]any) {
	var list []map[string]any
	for _, s := range stmts {
		list = append(list, map[string]any{"Effect": s.effect, "Action": "execute-api:Invoke", "Resource": s.resource})
	}
	json.NewEncoder(w).Encode(map[string]any{
		"principalId":    principal,
		"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": list},
		"context":        context,
	})
}

const petstoreConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  identityValidationExpression: '^Bearer [-0-9A-Za-z._~+/]+=*$'
  resultTtlInSeconds: 300
  http: {url: "AUTHZ_URL", timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: short}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 1
  http: {url: "AUTHZ_URL"}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  protocol: REST
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  hosts: [api.example.com]
  defaultAuthorizer: tokens
  routes:
    - {path: /pets, methods: [GET, POST]}
    - {path: "/pets/{petId}", methods: [ANY]}
    - {path: /health, methods: [GET], authorizer: NONE}
    - {path: /short, methods: [GET], authorizer: short}
`

func petstore(t *testing.T, authzURL string) string {
	return writeConfig(t, strings.ReplaceAll(petstoreConfig, "AUTHZ_URL", authzURL))
}
