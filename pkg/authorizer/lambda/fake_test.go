package lambda

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// testAccessKey is the access key id the tests put in the environment; the fake Lambda API
// checks that the SDK signed with it.
const testAccessKey = "AKIDPORTCULLISTEST"

// isolateAWS points the SDK's default chain at credentials in the environment only: no shared
// files of the machine running the tests, and never the instance metadata service.
func isolateAWS(t testing.TB, region string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", testAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "portcullis-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_DEFAULT_REGION", "")
}

// call is one request the fake Lambda API received.
type call struct {
	path          string
	query         string
	invocationTyp string
	authorization string
	body          []byte
}

// fakeLambda stands in for the Lambda Invoke API on 127.0.0.1, answering every call with
// answer and remembering what it was sent.
type fakeLambda struct {
	*httptest.Server
	answer func(w http.ResponseWriter, r *http.Request)

	mu    sync.Mutex
	calls []call
}

func newFakeLambda(t testing.TB, answer func(w http.ResponseWriter, r *http.Request)) *fakeLambda {
	t.Helper()
	f := &fakeLambda{answer: answer}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeLambda) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, call{
		path:          r.URL.EscapedPath(),
		query:         r.URL.RawQuery,
		invocationTyp: r.Header.Get("X-Amz-Invocation-Type"),
		authorization: r.Header.Get("Authorization"),
		body:          body,
	})
	f.mu.Unlock()
	f.answer(w, r)
}

func (f *fakeLambda) received() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// answerJSON answers 200 with body and, when set, X-Amz-Function-Error.
func answerJSON(functionError, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.Header().Set("X-Amzn-Requestid", "11111111-2222-3333-4444-555555555555")
		if functionError != "" {
			w.Header().Set("X-Amz-Function-Error", functionError)
		}
		_, _ = io.WriteString(w, body)
	}
}

// answerAWSError answers like the Lambda API refusing a call.
func answerAWSError(status int, code, message string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", code)
		w.Header().Set("X-Amzn-Requestid", "66666666-7777-8888-9999-000000000000")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"Type":"User","message":"`+message+`"}`)
	}
}

// testSpec is a LambdaBackend for the fake API at endpoint.
func testSpec(endpoint string) *v1alpha1.LambdaBackend {
	return &v1alpha1.LambdaBackend{
		FunctionName: "authorizer-fn",
		Region:       "eu-west-1",
		Endpoint:     endpoint,
		Timeout:      &metav1.Duration{Duration: 2 * time.Second},
	}
}

// newTestBackend builds a backend named "tokens" against spec with the environment isolated.
func newTestBackend(t testing.TB, spec *v1alpha1.LambdaBackend, opts Options) *Backend {
	t.Helper()
	isolateAWS(t, "")
	b, err := New(context.Background(), "tokens", spec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}
