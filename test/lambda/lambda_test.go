//go:build linux

// Package lambda_test runs the lambda authorizer backend against a real Lambda function (built
// from ./function with aws-lambda-go) under the AWS Lambda Runtime Interface Emulator.
package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/lambda"
)

// secret is the part of every identity after the function's verb; no error may show it.
const secret = "c2VjcmV0LXRva2VuLXZhbHVl"

// isolateAWS leaves the SDK's default chain only the fake credentials in the environment: no
// shared files of the machine, and never the instance metadata service.
func isolateAWS(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for name, value := range map[string]string{
		"AWS_ACCESS_KEY_ID":           testAccessKey,
		"AWS_SECRET_ACCESS_KEY":       testSecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(name, value)
	}
}

// newBackend is the backend of the authorizer "rie" for the emulator's function.
func newBackend(t testing.TB, e *emulator, opts lambda.Options) *lambda.Backend {
	t.Helper()
	isolateAWS(t)
	b, err := lambda.New(context.Background(), "rie", &v1alpha1.LambdaBackend{
		FunctionName: functionName,
		Region:       testRegion,
		Endpoint:     e.endpoint,
		Timeout:      &metav1.Duration{Duration: 20 * time.Second},
	}, opts)
	if err != nil {
		t.Fatalf("lambda.New: %v", err)
	}
	return b
}

// request is a sample request of the backend's type carrying "Bearer <verb>.<secret>".
func request(opts lambda.Options, verb string) *authorizer.Request {
	req := authorizertest.Request(opts.Type, opts.PayloadVersion)
	token := "Bearer " + verb + "." + secret
	req.Token = token
	req.IdentitySource = []string{token}
	req.HTTP.Headers["authorization"] = token
	return req
}

var (
	tokenAuth  = lambda.Options{Type: authorizer.TypeToken}
	requestV1  = lambda.Options{Type: authorizer.TypeRequest, PayloadVersion: "1.0"}
	requestV2  = lambda.Options{Type: authorizer.TypeRequest, PayloadVersion: "2.0"}
	simpleAuth = lambda.Options{Type: authorizer.TypeRequest, PayloadVersion: "2.0", Simple: true}
)

func TestBackendThroughEmulator(t *testing.T) {
	e := startEmulator(t)
	// One emulator serves one invocation at a time, so the cases run in order; the crash comes
	// before a last allow, which proves the emulator restarted the function.
	tests := []struct {
		name  string
		opts  lambda.Options
		verb  string
		check func(t *testing.T, req *authorizer.Request, resp *authorizer.Response, err error)
	}{
		{name: "TOKEN allow is the function's Allow policy for the methodArn", opts: tokenAuth, verb: "allow",
			check: wantPolicy("Allow", "TOKEN", "")},
		{name: "TOKEN deny is the function's Deny policy", opts: tokenAuth, verb: "deny",
			check: wantPolicy("Deny", "TOKEN", "")},
		{name: "REQUEST 1.0 event reaches the function", opts: requestV1, verb: "allow",
			check: wantPolicy("Allow", "REQUEST", "")},
		{name: "REQUEST 2.0 event carries the routeArn", opts: requestV2, verb: "allow",
			check: wantPolicy("Allow", "REQUEST", "2.0")},
		{name: "REQUEST 2.0 simple answer", opts: simpleAuth, verb: "simple", check: wantSimple},
		{name: "error Unauthorized is ErrUnauthorized", opts: tokenAuth, verb: "unauthorized", check: wantUnauthorized},
		{name: "other function error is a failure that keeps the function's message out", opts: tokenAuth, verb: "fail",
			check: wantFailure},
		{name: "panicking function is a failure", opts: tokenAuth, verb: "panic", check: wantFailure},
		{name: "crashing function is a failure", opts: tokenAuth, verb: "crash", check: wantFailure},
		{name: "function answers again after a crash", opts: tokenAuth, verb: "allow",
			check: wantPolicy("Allow", "TOKEN", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, e, tt.opts)
			req := request(tt.opts, tt.verb)
			resp, err := b.Authorize(context.Background(), req)
			tt.check(t, req, resp, err)
		})
	}
}

// wantPolicy checks an IAM answer: the effect on the request's methodArn, and the context the
// function echoes from the event it received.
func wantPolicy(effect, eventType, eventVersion string) func(*testing.T, *authorizer.Request, *authorizer.Response, error) {
	return func(t *testing.T, req *authorizer.Request, resp *authorizer.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		var policy struct {
			Statement []struct {
				Effect   string
				Resource []string
			}
		}
		if err := json.Unmarshal(resp.PolicyDocument, &policy); err != nil {
			t.Fatalf("policy %s: %v", resp.PolicyDocument, err)
		}
		if len(policy.Statement) != 1 || policy.Statement[0].Effect != effect ||
			!slices.Equal(policy.Statement[0].Resource, []string{req.MethodArn}) {
			t.Errorf("policy = %s, want %s on %s", resp.PolicyDocument, effect, req.MethodArn)
		}
		if want := "user-" + strings.ToLower(effect); resp.PrincipalID != want {
			t.Errorf("principalId = %q, want %q", resp.PrincipalID, want)
		}
		ctx := resp.Context
		if ctx["eventType"] != eventType || ctx["eventVersion"] != eventVersion || ctx["arn"] != req.MethodArn ||
			ctx["tier"] != "gold" || ctx["quota"] != json.Number("7") {
			t.Errorf("context = %v, want the event's type %s, version %q and ARN", ctx, eventType, eventVersion)
		}
	}
}

func wantSimple(t *testing.T, _ *authorizer.Request, resp *authorizer.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if resp.IsAuthorized == nil || !*resp.IsAuthorized || resp.Context["eventType"] != "REQUEST" {
		t.Errorf("response = %+v, want isAuthorized true", resp)
	}
}

func wantUnauthorized(t *testing.T, _ *authorizer.Request, _ *authorizer.Response, err error) {
	t.Helper()
	if !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	checkMessage(t, err)
}

// wantFailure checks a backend failure (500): neither Unauthorized nor a configuration error.
func wantFailure(t *testing.T, _ *authorizer.Request, resp *authorizer.Response, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("Authorize = %+v, want an error", resp)
	}
	if errors.Is(err, authorizer.ErrUnauthorized) || errors.Is(err, authorizer.ErrConfiguration) {
		t.Errorf("err = %v, want a backend failure", err)
	}
	var ie *lambda.InvokeError
	if !errors.As(err, &ie) {
		t.Errorf("err = %v, want an *lambda.InvokeError", err)
	}
	checkMessage(t, err)
}

func checkMessage(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.Contains(msg, `authorizer "rie"`) || strings.Contains(msg, secret) {
		t.Errorf("error %q: want the authorizer name and no part of the identity", msg)
	}
}

func TestEmulatorRoundTrip(t *testing.T) {
	e := startEmulator(t)
	b := newBackend(t, e, tokenAuth)
	req := request(tokenAuth, "allow")
	ctx := context.Background()
	// The first invocation starts the function; the ones after it are the steady state.
	if _, err := b.Authorize(ctx, req); err != nil {
		t.Fatalf("first Authorize: %v", err)
	}
	const rounds = 50
	durations := make([]time.Duration, 0, rounds)
	for range rounds {
		start := time.Now()
		if _, err := b.Authorize(ctx, req); err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	t.Logf("warm invoke through aws-lambda-rie, %d rounds: min %s, median %s, max %s",
		rounds, durations[0], durations[rounds/2], durations[rounds-1])
}
