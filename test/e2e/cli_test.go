package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLI runs the binary and returns its stdout, stderr and exit code.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestValidateReportsEveryErrorWithFileAndLine(t *testing.T) {
	bad := writeConfig(t, `apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  identityValidationExpression: '^Bearer (['
  resultTtlInSeconds: 7200
  http: {url: "http://authz.internal/authorize"}
  colour: blue
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: petstore}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: a1b2c3d4e5
  stage: prod
  defaultAuthorizer: tokens
  routes:
    - {path: /pets, methods: [GET], authorizer: admns}
    - {path: "/pets/{id}", methods: [GET]}
    - {path: "/pets/{petId}", methods: [GET]}
`)
	_, stderr, code := runCLI(t, "", "validate", "--config", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	want := []string{
		`config.yaml:7: Authorizer/tokens: spec.identityValidationExpression:`,
		`config.yaml:8: Authorizer/tokens: spec.resultTtlInSeconds:`,
		`config.yaml:10: Authorizer/tokens: spec.colour:`,
		`config.yaml:22: Api/petstore: spec.routes[0].authorizer:`,
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

func TestValidateAcceptsAGoodConfig(t *testing.T) {
	authz := newFakeAuthorizer(t)
	stdout, stderr, code := runCLI(t, "", "validate", "--config", petstore(t, authz.URL()))
	if code != 0 || !strings.HasPrefix(stdout, "ok: 1 Api(s), 2 Authorizer(s)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestServeRejectsABadConfig(t *testing.T) {
	bad := writeConfig(t, "apiVersion: portcullis.dev/v1alpha1\nkind: Api\nmetadata: {name: x}\nspec: {}\n")
	_, stderr, code := runCLI(t, "", "serve", "--config", bad, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "config.yaml:") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestSimulateExitCodes(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"ReadPets","Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/prod/GET/pets/*"},
	  {"Sid":"NoSecret","Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/prod/GET/pets/secret"}]}`), 0o600)
	const prefix = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/"
	tests := []struct {
		arn   string
		code  int
		first string
	}{
		{prefix + "GET/pets/42", 0, "Allow"},
		{prefix + "GET/pets/secret", 3, "Deny (explicit)"},
		{prefix + "POST/pets/42", 4, "Deny (implicit)"},
	}
	for _, tt := range tests {
		stdout, stderr, code := runCLI(t, "", "simulate", "--policy", policy, "--arn", tt.arn)
		if code != tt.code || !strings.HasPrefix(stdout, tt.first+"\n") {
			t.Errorf("%s: exit %d stdout %q stderr %q, want %d %q", tt.arn, code, stdout, stderr, tt.code, tt.first)
		}
	}
	_, stderr, code := runCLI(t, `{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`, "simulate", "--policy", "-", "--arn", prefix+"GET/")
	if code != 2 || !strings.Contains(stderr, "Statement[0].Effect") {
		t.Errorf("bad policy: exit %d stderr %q", code, stderr)
	}
}

func TestTestInvokePrintsEveryStep(t *testing.T) {
	authz := newFakeAuthorizer(t)
	stdout, stderr, code := runCLI(t, "", "test-invoke", "--config", petstore(t, authz.URL()),
		"--method", "GET", "--url", "https://api.example.com/pets/9", "-H", "Authorization: Bearer erin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"methodArn: arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/9",
		`"authorizationToken": "Bearer erin"`,
		`"principalId": "user-erin"`,
		"decision: Allow",
		"upstream header x-authorizer-principal-id: user-erin",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestMetricsCountDecisions(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	for range 3 {
		p.check(t, "GET", host, "/pets", bearer("frank"))
	}
	p.check(t, "GET", host, "/pets", nil)
	p.check(t, "GET", host, "/nowhere", nil)
	_, body := p.get(t, "/metrics")
	for _, want := range []string{
		`portcullis_check_total{api="petstore",authorizer="tokens",decision="allow"} 3`,
		`portcullis_check_total{api="petstore",authorizer="tokens",decision="unauthorized"} 1`,
		`portcullis_check_total{api="petstore",authorizer="",decision="missing_token"} 1`,
		`portcullis_backend_requests_total{authorizer="tokens",outcome="ok"} 1`,
		`portcullis_cache_hits_total 2`,
		`portcullis_cache_misses_total 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if m := regexp.MustCompile(`portcullis_check_duration_seconds_count (\d+)`).FindStringSubmatch(body); m == nil || m[1] != "5" {
		t.Errorf("check duration count = %v, want 5", m)
	}
	if status, body := p.get(t, "/readyz"); status != 200 {
		t.Errorf("readyz = %d %s", status, body)
	}
}

func TestSIGTERMExitsCleanly(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	p.check(t, "GET", host, "/pets", bearer("gina"))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
}

func TestDecisionLogNeverHoldsTheToken(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()), "--log-level", "info")
	const secretToken = "hunter2-super-secret"
	p.check(t, "GET", host, "/pets", bearer(secretToken))
	p.check(t, "GET", host, "/pets", bearer("deny-all"))
	eventually(t, "the deny logged", func() bool { return strings.Contains(p.logs.String(), `"decision":"explicit_deny"`) })
	logs := p.logs.String()
	if strings.Contains(logs, secretToken) || strings.Contains(logs, "deny-all") {
		t.Fatalf("a token reached the log:\n%s", logs)
	}
	if strings.Contains(logs, `"decision":"allow"`) {
		t.Errorf("allows are logged though --decision-log-rate is 0:\n%s", logs)
	}
	for _, field := range []string{`"api":"petstore"`, `"status":403`, `"token_hash":"`, `"principal_id":"user-deny"`, `"route":"GET /pets"`} {
		if !strings.Contains(logs, field) {
			t.Errorf("decision log lacks %s:\n%s", field, logs)
		}
	}
}
