package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
)

// lambdaInvokeAPI answers the Lambda Invoke API (POST /2015-03-31/functions/NAME/invocations)
// on loopback, as the function behind an imported authorizer: it allows "Bearer good" on every
// route and counts its calls by function.
type lambdaInvokeAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newLambdaInvokeAPI(t *testing.T) *lambdaInvokeAPI {
	l := &lambdaInvokeAPI{calls: map[string]int{}}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *lambdaInvokeAPI) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
	name, _ = url.PathUnescape(strings.TrimSuffix(name, "/invocations"))
	if !ok || r.Method != http.MethodPost {
		http.Error(w, "not the Invoke API", http.StatusNotFound)
		return
	}
	var event struct{ AuthorizationToken, MethodArn string }
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &event)
	l.mu.Lock()
	l.calls[name]++
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if event.AuthorizationToken != "Bearer good" {
		// A function that throws "Unauthorized", as Lambda reports it.
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.Write([]byte(`{"errorMessage":"Unauthorized","errorType":"Error"}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"principalId": "imported-user", "policyDocument": map[string]any{
		"Version":   "2012-10-17",
		"Statement": []map[string]any{{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event.MethodArn}},
	}})
}

func (l *lambdaInvokeAPI) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		n += c
	}
	return n
}

// TestImportedDefinitionDecidesAsTheSource imports a REST API export with the built binary,
// serves the result and checks it decides as API Gateway would: the Cognito and AWS_IAM routes
// (DENY) are refused without calling anything, the route without security is open, and a
// Lambda-authorized route calls its function.
func TestImportedDefinitionDecidesAsTheSource(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "imported.yaml")
	source := filepath.Join("..", "import", "written", "rest-export.yaml")
	_, stderr, code := runCLI(t, "", "import", "--region", "us-east-1", "--account-id", "123456789012", "-o", out, source)
	if code != 0 {
		t.Fatalf("import exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "route GET /reports: written with authorizer DENY") {
		t.Errorf("report does not name the AWS_IAM route:\n%s", stderr)
	}
	if _, stderr, code := runCLI(t, "", "validate", "--config", out); code != 0 {
		t.Fatalf("validate of the imported file: exit %d\n%s", code, stderr)
	}

	// Where the function runs is a deployment detail the export does not hold: point the
	// imported Lambda backends at the Invoke API on loopback.
	fn := newLambdaInvokeAPI(t)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	served := strings.ReplaceAll(string(data), "    functionName:", "    endpoint: "+fn.srv.URL+"\n    functionName:")
	if err := os.WriteFile(out, []byte(served), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	p := start(t, "--config", out)

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		code    codes.Code
		calls   int // function calls this request makes
	}{
		{"Cognito route is DENY: 403 without a call", "GET", "/admin/users", bearer("good"), 403, codes.PermissionDenied, 0},
		{"AWS_IAM route is DENY: 403 without a call", "GET", "/reports", bearer("good"), 403, codes.PermissionDenied, 0},
		{"API key alone is DENY", "GET", "/keys", map[string]string{"x-api-key": "k"}, 403, codes.PermissionDenied, 0},
		{"route without security is open", "GET", "/health", nil, 200, codes.OK, 0},
		{"token route without a token is 401 without a call", "GET", "/pets", nil, 401, codes.Unauthenticated, 0},
		{"token failing the imported validation expression is 401", "GET", "/pets", map[string]string{"authorization": "Basic x"}, 401, codes.Unauthenticated, 0},
		{"token route calls its function", "GET", "/pets", bearer("good"), 200, codes.OK, 1},
		{"the cached answer is used again (imported TTL 60s)", "GET", "/pets", bearer("good"), 200, codes.OK, 0},
		{"the cached policy names GET only: POST is an implicit deny without a call", "POST", "/pets", bearer("good"), 403, codes.PermissionDenied, 0},
		{"function saying Unauthorized is 401", "GET", "/pets", bearer("bad"), 401, codes.Unauthenticated, 1},
		{"unmatched route", "GET", "/owners", bearer("good"), 403, codes.PermissionDenied, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fn.total()
			resp := p.check(t, tt.method, "api.example.com", tt.path, tt.headers)
			status, body := denied(resp)
			if status != tt.status || codes.Code(resp.GetStatus().GetCode()) != tt.code {
				t.Fatalf("got %d %s %q, want %d %s", status, codes.Code(resp.GetStatus().GetCode()), body, tt.status, tt.code)
			}
			if got := fn.total() - before; got != tt.calls {
				t.Fatalf("function calls = %d, want %d", got, tt.calls)
			}
		})
	}
	if !strings.Contains(p.logs.String(), `"authorizer":"DENY"`) {
		t.Errorf("the decision log does not name the DENY authorizer")
	}
}

// TestImportExitCodes checks the three outcomes: 0 when the output validates, 1 when values
// are left unresolved (the output is written, and validate rejects it naming the flag), 2 when
// an input cannot be read (nothing is written).
func TestImportExitCodes(t *testing.T) {
	good := filepath.Join("..", "import", "written", "rest-export.yaml")
	template := filepath.Join("..", "import", "written", "intrinsics.yaml")
	bad := filepath.Join("..", "import", "bad", "ref-loop.json")

	stdout, stderr, code := runCLI(t, "", "import", good, "--region", "us-east-1", "--account-id", "123456789012")
	if code != 0 || !strings.HasPrefix(stdout, "# from ") || !strings.Contains(stdout, "kind: Api") {
		t.Fatalf("good import: exit %d\n%s\n%s", code, stdout, stderr)
	}

	stdout, stderr, code = runCLI(t, "", "import", template)
	if code != 1 || !strings.Contains(stdout, "<unresolved: Fn.Arn>") ||
		!strings.Contains(stderr, "intrinsics.yaml:30: unresolved Fn.Arn") ||
		!strings.Contains(stderr, "import again with --set Fn.Arn=VALUE") {
		t.Fatalf("unresolved import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, "", "import", template, "--region", "us-east-1", "--account-id", "123456789012",
		"--set", "Api=abc123", "--set", "Stage=prod",
		"--set", "Fn.Arn=arn:aws:lambda:us-east-1:123456789012:function:auth",
		"--set", "Other.Arn=arn:aws:lambda:us-east-1:123456789012:function:other")
	if code != 0 {
		t.Fatalf("import with --set: exit %d\n%s", code, stderr)
	}

	out := filepath.Join(t.TempDir(), "out.yaml")
	stdout, stderr, code = runCLI(t, "", "import", "-o", out, good, bad)
	if code != 2 || stdout != "" || !strings.Contains(stderr, "ref-loop.json:5: $ref loop") {
		t.Fatalf("bad import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed import wrote %s", out)
	}
}
