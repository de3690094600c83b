package lambda

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

func TestNewRejects(t *testing.T) {
	token := Options{Type: authorizer.TypeToken}
	tests := []struct {
		name string
		edit func(*v1alpha1.LambdaBackend)
		opts Options
		env  string // AWS_REGION
		want string
	}{
		{name: "empty function name", edit: func(s *v1alpha1.LambdaBackend) { s.FunctionName = "" }, opts: token, want: "functionName is empty"},
		{name: "ARN of another service", edit: func(s *v1alpha1.LambdaBackend) {
			s.FunctionName = "arn:aws:sqs:eu-west-1:123456789012:queue"
		}, opts: token, want: "not a Lambda function ARN"},
		{name: "truncated ARN", edit: func(s *v1alpha1.LambdaBackend) { s.FunctionName = "arn:aws:lambda" }, opts: token, want: "functionName"},
		{name: "ARN without region and no other region", edit: func(s *v1alpha1.LambdaBackend) {
			s.FunctionName, s.Region = "arn:aws:lambda::123456789012:function:f", ""
		}, opts: token, want: "ARN has no region"},
		{name: "spec region differs from the ARN's", edit: func(s *v1alpha1.LambdaBackend) {
			s.FunctionName = "arn:aws:lambda:us-east-1:123456789012:function:f"
		}, opts: token, want: `differs from the function ARN's region "us-east-1"`},
		{name: "zero timeout", edit: func(s *v1alpha1.LambdaBackend) { s.Timeout = &metav1.Duration{} }, opts: token, want: "timeout 0s"},
		{name: "timeout over 30s", edit: func(s *v1alpha1.LambdaBackend) {
			s.Timeout = &metav1.Duration{Duration: 31 * time.Second}
		}, opts: token, want: "at most 30s"},
		{name: "JWT type has no event", opts: Options{Type: v1alpha1.TypeJWT}, want: `type "JWT"`},
		{name: "TOKEN with payload 2.0", opts: Options{Type: authorizer.TypeToken, PayloadVersion: "2.0"}, want: "TOKEN authorizers use 1.0"},
		{name: "unknown payload version", opts: Options{Type: authorizer.TypeRequest, PayloadVersion: "3.0"}, want: `payload version "3.0"`},
		{name: "simple responses with 1.0", opts: Options{Type: authorizer.TypeRequest, Simple: true}, want: "simple responses need payload version 2.0"},
		{name: "no region anywhere", edit: func(s *v1alpha1.LambdaBackend) { s.Region = "" }, opts: token, want: "no AWS region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWS(t, tt.env)
			spec := testSpec("http://127.0.0.1:1")
			if tt.edit != nil {
				tt.edit(spec)
			}
			b, err := New(context.Background(), "tokens", spec, tt.opts)
			if err == nil {
				t.Fatalf("New = %+v, want an error", b)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `authorizer "tokens"`) {
				t.Errorf("err = %q, want it to name the authorizer and contain %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	isolateAWS(t, "")
	spec := testSpec("")
	spec.Timeout = nil
	b, err := New(context.Background(), "tokens", spec, Options{Type: authorizer.TypeRequest})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if b.timeout != defaultTimeout || b.payloadVersion != authorizer.PayloadVersion1 {
		t.Errorf("timeout %s, payload version %q; want %s and 1.0", b.timeout, b.payloadVersion, defaultTimeout)
	}
	if got := b.client.Options().Retryer.MaxAttempts(); got != maxAttempts {
		t.Errorf("max attempts = %d, want %d", got, maxAttempts)
	}
}

func TestNewKeepsAttemptCapAgainstEnvironment(t *testing.T) {
	isolateAWS(t, "")
	t.Setenv("AWS_MAX_ATTEMPTS", "10")
	b, err := New(context.Background(), "tokens", testSpec(""), Options{Type: authorizer.TypeToken})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := b.client.Options().Retryer.MaxAttempts(); got != maxAttempts {
		t.Errorf("max attempts = %d with AWS_MAX_ATTEMPTS=10, want %d", got, maxAttempts)
	}
}
