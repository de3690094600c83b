package lambda

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

func TestReadFunctionFailure(t *testing.T) {
	unhandledHeader := "Unhandled"
	tests := []struct {
		name          string
		functionError *string
		payload       string
		want          functionFailure
		wantOK        bool
	}{
		{name: "answer is not a failure", payload: allowAnswer},
		{name: "answer whose context says errorMessage is not a failure",
			payload: `{"principalId":"u","policyDocument":{"Statement":[]},"context":{"errorMessage":"x","errorType":"y"}}`},
		{name: "envelope beside answer fields is left to the answer decoder",
			payload: `{"errorMessage":"Unauthorized","errorType":"e","principalId":"u"}`},
		{name: "envelope beside isAuthorized is left to the answer decoder",
			payload: `{"errorMessage":"Unauthorized","errorType":"e","isAuthorized":true}`},
		{name: "errorMessage alone is not an envelope", payload: `{"errorMessage":"Unauthorized"}`},
		{name: "not JSON without the header is not a failure", payload: `"errorMessage"`},
		{name: "header with Unauthorized", functionError: &unhandledHeader,
			payload: `{"errorMessage":"Unauthorized","errorType":"errorString"}`,
			want:    functionFailure{kind: "Unhandled", errorType: "errorString", unauthorized: true}, wantOK: true},
		{name: "header with another message", functionError: &unhandledHeader,
			payload: `{"errorMessage":"Unauthorized ","errorType":"errorString"}`,
			want:    functionFailure{kind: "Unhandled", errorType: "errorString"}, wantOK: true},
		{name: "header with a payload that is not JSON", functionError: &unhandledHeader, payload: `boom`,
			want: functionFailure{kind: "Unhandled"}, wantOK: true},
		{name: "bare envelope without the header", payload: `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: exit status 3"}`,
			want: functionFailure{kind: "Unhandled", errorType: "Runtime.ExitError"}, wantOK: true},
		{name: "bare Unauthorized envelope with a stack trace", payload: `{"errorMessage":"Unauthorized","errorType":"Error","stackTrace":["at x"]}`,
			want: functionFailure{kind: "Unhandled", errorType: "Error", unauthorized: true}, wantOK: true},
		{name: "error type with spaces is dropped", functionError: &unhandledHeader,
			payload: `{"errorMessage":"x","errorType":"Bearer abc"}`,
			want:    functionFailure{kind: "Unhandled"}, wantOK: true},
		{name: "overlong error type is dropped", functionError: &unhandledHeader,
			payload: `{"errorMessage":"x","errorType":"` + strings.Repeat("E", maxErrorTypeLen+1) + `"}`,
			want:    functionFailure{kind: "Unhandled"}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readFunctionFailure(tt.functionError, []byte(tt.payload))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("readFunctionFailure = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLimitedReader(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{name: "empty body", size: 0},
		{name: "body of exactly the limit", size: authorizer.MaxResponseBytes},
		{name: "body one byte over the limit", size: authorizer.MaxResponseBytes + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &limitedReader{body: io.NopCloser(bytes.NewReader(make([]byte, tt.size))), left: authorizer.MaxResponseBytes}
			got, err := io.ReadAll(r)
			if tt.wantErr {
				if !errors.Is(err, authorizer.ErrResponseTooLarge) {
					t.Errorf("err = %v, want ErrResponseTooLarge", err)
				}
				return
			}
			if err != nil || len(got) != tt.size {
				t.Errorf("read %d bytes, err %v; want %d bytes", len(got), err, tt.size)
			}
		})
	}
}

func TestParseFunction(t *testing.T) {
	tests := []struct {
		name       string
		function   string
		qualifier  string
		wantRegion string
		wantString string
	}{
		{name: "plain name", function: "auth", wantString: "auth"},
		{name: "name with alias suffix", function: "auth:live", wantString: "auth:live"},
		{name: "partial ARN has no region", function: "123456789012:function:auth", wantString: "123456789012:function:auth"},
		{name: "full ARN carries its region", function: "arn:aws:lambda:eu-central-1:123456789012:function:auth",
			wantRegion: "eu-central-1", wantString: "arn:aws:lambda:eu-central-1:123456789012:function:auth"},
		{name: "China partition ARN with version", function: "arn:aws-cn:lambda:cn-north-1:123456789012:function:auth:3",
			wantRegion: "cn-north-1", wantString: "arn:aws-cn:lambda:cn-north-1:123456789012:function:auth:3"},
		{name: "qualifier is named", function: "auth", qualifier: "live", wantString: "auth (qualifier live)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, err := parseFunction(tt.function, tt.qualifier)
			if err != nil {
				t.Fatalf("parseFunction: %v", err)
			}
			if fn.region != tt.wantRegion || fn.String() != tt.wantString || fn.name != tt.function {
				t.Errorf("parseFunction = %+v (%s), want region %q, string %q", fn, fn, tt.wantRegion, tt.wantString)
			}
		})
	}
}
