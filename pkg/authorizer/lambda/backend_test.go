package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

const allowAnswer = `{"principalId":"user-42","policyDocument":{"Version":"2012-10-17",` +
	`"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},` +
	`"context":{"tier":"gold","quota":7},"usageIdentifierKey":"key-1"}`

func TestAuthorizeSendsEventAndDecodesAnswer(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		answer  string
		wantErr error
		check   func(t *testing.T, resp *authorizer.Response)
	}{
		{
			name:   "TOKEN event, IAM answer",
			opts:   Options{Type: authorizer.TypeToken},
			answer: allowAnswer,
			check: func(t *testing.T, resp *authorizer.Response) {
				if resp.PrincipalID != "user-42" || resp.UsageIdentifierKey != "key-1" ||
					resp.Context["tier"] != "gold" || len(resp.PolicyDocument) == 0 {
					t.Errorf("response = %+v", resp)
				}
			},
		},
		{
			name:   "REQUEST 1.0 event, IAM answer",
			opts:   Options{Type: authorizer.TypeRequest, PayloadVersion: "1.0"},
			answer: allowAnswer,
			check: func(t *testing.T, resp *authorizer.Response) {
				if resp.PrincipalID != "user-42" {
					t.Errorf("principal = %q", resp.PrincipalID)
				}
			},
		},
		{
			name:   "REQUEST 2.0 event, simple answer",
			opts:   Options{Type: authorizer.TypeRequest, PayloadVersion: "2.0", Simple: true},
			answer: `{"isAuthorized":false,"context":{"nested":{"a":1}}}`,
			check: func(t *testing.T, resp *authorizer.Response) {
				if resp.IsAuthorized == nil || *resp.IsAuthorized {
					t.Errorf("isAuthorized = %v", resp.IsAuthorized)
				}
			},
		},
		{
			name:    "1.0 answer with an object in context is a configuration error",
			opts:    Options{Type: authorizer.TypeRequest},
			answer:  `{"principalId":"u","policyDocument":{"Statement":[]},"context":{"o":{"a":1}}}`,
			wantErr: authorizer.ErrConfiguration,
		},
		{
			name:    "answer that is not JSON is a configuration error",
			opts:    Options{Type: authorizer.TypeToken},
			answer:  `allow`,
			wantErr: authorizer.ErrConfiguration,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeLambda(t, answerJSON("", tt.answer))
			spec := testSpec(api.URL)
			spec.Qualifier = "live"
			b := newTestBackend(t, spec, tt.opts)
			req := authorizertest.Request(tt.opts.Type, tt.opts.PayloadVersion)

			resp, err := b.Authorize(context.Background(), req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Authorize: %v", err)
			} else {
				tt.check(t, resp)
			}

			calls := api.received()
			if len(calls) != 1 {
				t.Fatalf("calls = %d, want 1", len(calls))
			}
			c := calls[0]
			want, err := authorizer.MarshalEvent(req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.body, want) {
				t.Errorf("event = %s\nwant    %s", c.body, want)
			}
			if c.path != "/2015-03-31/functions/authorizer-fn/invocations" || c.query != "Qualifier=live" {
				t.Errorf("invoked %s?%s", c.path, c.query)
			}
			if c.invocationTyp != "RequestResponse" {
				t.Errorf("X-Amz-Invocation-Type = %q", c.invocationTyp)
			}
			scope := "AWS4-HMAC-SHA256 Credential=" + testAccessKey + "/"
			if !strings.HasPrefix(c.authorization, scope) || !strings.Contains(c.authorization, "/eu-west-1/lambda/aws4_request") {
				t.Errorf("Authorization = %q, want SigV4 for eu-west-1 lambda", c.authorization)
			}
		})
	}
}

func TestAuthorizeFillsTheEventFormatTheRequestLeavesOpen(t *testing.T) {
	api := newFakeLambda(t, answerJSON("", `{"isAuthorized":true}`))
	opts := Options{Type: authorizer.TypeRequest, PayloadVersion: "2.0", Simple: true}
	b := newTestBackend(t, testSpec(api.URL), opts)
	req := authorizertest.Request("", "")

	if _, err := b.Authorize(context.Background(), req); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	var event struct{ Version, Type string }
	if err := json.Unmarshal(api.received()[0].body, &event); err != nil {
		t.Fatal(err)
	}
	if event.Version != "2.0" || event.Type != "REQUEST" {
		t.Errorf("event version %q type %q, want 2.0 REQUEST", event.Version, event.Type)
	}
	if req.Type != "" {
		t.Errorf("caller's request changed to %q", req.Type)
	}
}

func TestAuthorizeSendsTheRequestsEventFormat(t *testing.T) {
	api := newFakeLambda(t, answerJSON("", allowAnswer))
	b := newTestBackend(t, testSpec(api.URL), Options{Type: authorizer.TypeRequest})
	req := authorizertest.Request(authorizer.TypeRequest, "2.0")
	if _, err := b.Authorize(context.Background(), req); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	var event struct{ Version, Type string }
	if err := json.Unmarshal(api.received()[0].body, &event); err != nil {
		t.Fatal(err)
	}
	if event.Version != "2.0" || event.Type != "REQUEST" {
		t.Errorf("event version %q type %q, want the request's 2.0 REQUEST", event.Version, event.Type)
	}
}

func TestRegion(t *testing.T) {
	const arn = "arn:aws:lambda:ap-south-1:123456789012:function:authorizer-fn"
	tests := []struct {
		name       string
		function   string
		specRegion string
		envRegion  string
		want       string
	}{
		{name: "spec region wins over the environment", function: "authorizer-fn", specRegion: "eu-west-1", envRegion: "us-east-2", want: "eu-west-1"},
		{name: "function ARN region wins over the environment", function: arn, envRegion: "us-east-2", want: "ap-south-1"},
		{name: "spec region equal to the ARN's is accepted", function: arn, specRegion: "ap-south-1", want: "ap-south-1"},
		{name: "SDK chain region for a plain name", function: "authorizer-fn", envRegion: "us-east-2", want: "us-east-2"},
		{name: "SDK chain region for a partial ARN", function: "123456789012:function:authorizer-fn", envRegion: "ca-central-1", want: "ca-central-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeLambda(t, answerJSON("", allowAnswer))
			spec := testSpec(api.URL)
			spec.FunctionName, spec.Region = tt.function, tt.specRegion
			isolateAWS(t, tt.envRegion)
			b, err := New(context.Background(), "tokens", spec, Options{Type: authorizer.TypeToken})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if _, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, "")); err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			auth := api.received()[0].authorization
			if !strings.Contains(auth, "/"+tt.want+"/lambda/aws4_request") {
				t.Errorf("Authorization = %q, want region %s", auth, tt.want)
			}
		})
	}
}
