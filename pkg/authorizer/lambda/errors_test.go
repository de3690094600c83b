package lambda

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

// oversized answers a body over the limit, with a Content-Length or chunked; a chunked body
// hides its length from the client until it has read that far.
func oversized(withLength bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		body := `{"principalId":"` + strings.Repeat("x", authorizer.MaxResponseBytes) + `"}`
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		_, _ = io.WriteString(w, body)
	}
}

// hang answers nothing until the client gives up.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestAuthorizeErrors(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(http.ResponseWriter, *http.Request)
		unauthorized bool         // errors.Is ErrUnauthorized
		is           error        // errors.Is, when set
		invokeError  *InvokeError // fields compared when set
		wantText     []string     // in the message besides the authorizer name
		wantCalls    int
	}{
		{
			name:         "function error Unauthorized is ErrUnauthorized",
			answer:       answerJSON("Unhandled", `{"errorMessage":"Unauthorized","errorType":"errorString"}`),
			unauthorized: true,
			wantCalls:    1,
		},
		{
			name:         "error envelope without X-Amz-Function-Error (emulators) is read the same",
			answer:       answerJSON("", `{"errorMessage":"Unauthorized","errorType":"errorString"}`),
			unauthorized: true,
			wantCalls:    1,
		},
		{
			name:        "Unauthorized must match exactly",
			answer:      answerJSON("Unhandled", `{"errorMessage":"unauthorized","errorType":"errorString"}`),
			invokeError: &InvokeError{FunctionError: "Unhandled", ErrorType: "errorString"},
			wantText:    []string{"function error Unhandled errorString"},
			wantCalls:   1,
		},
		{
			name: "unhandled error is a failure naming its type, not its message",
			answer: answerJSON("Unhandled", `{"errorMessage":"rejected `+authorizertest.Token+`",`+
				`"errorType":"Runtime.ExitError"}`),
			invokeError: &InvokeError{FunctionError: "Unhandled", ErrorType: "Runtime.ExitError",
				RequestID: "11111111-2222-3333-4444-555555555555"},
			wantText:  []string{"Runtime.ExitError", "request id 11111111-2222-3333-4444-555555555555"},
			wantCalls: 1,
		},
		{
			name:        "error type that is not an identifier is dropped",
			answer:      answerJSON("Unhandled", `{"errorMessage":"x","errorType":"`+authorizertest.Token+`"}`),
			invokeError: &InvokeError{FunctionError: "Unhandled"},
			wantCalls:   1,
		},
		{
			name:        "function error with a payload that is not JSON",
			answer:      answerJSON("Unhandled", `segfault`),
			invokeError: &InvokeError{FunctionError: "Unhandled"},
			wantCalls:   1,
		},
		{
			name:        "throttling is retried, then reported with its code",
			answer:      answerAWSError(429, "TooManyRequestsException", "Rate exceeded"),
			invokeError: &InvokeError{Code: "TooManyRequestsException", StatusCode: 429},
			wantText:    []string{"TooManyRequestsException", "HTTP 429", "request id 66666666-7777-8888-9999-000000000000"},
			wantCalls:   maxAttempts,
		},
		{
			name:        "service error is retried, then reported with its code",
			answer:      answerAWSError(500, "ServiceException", "internal"),
			invokeError: &InvokeError{Code: "ServiceException", StatusCode: 500},
			wantText:    []string{"ServiceException", "HTTP 500"},
			wantCalls:   maxAttempts,
		},
		{
			name:        "missing function is not retried",
			answer:      answerAWSError(404, "ResourceNotFoundException", "Function not found"),
			invokeError: &InvokeError{Code: "ResourceNotFoundException", StatusCode: 404},
			wantText:    []string{"ResourceNotFoundException"},
			wantCalls:   1,
		},
		{
			name:        "missing permission is not retried",
			answer:      answerAWSError(403, "AccessDeniedException", "not authorized to perform lambda:InvokeFunction"),
			invokeError: &InvokeError{Code: "AccessDeniedException", StatusCode: 403},
			wantText:    []string{"AccessDeniedException"},
			wantCalls:   1,
		},
		{
			name:      "answer over 1 MiB with a length is refused unread",
			answer:    oversized(true),
			is:        authorizer.ErrResponseTooLarge,
			wantCalls: 1,
		},
		{
			name:      "chunked answer over 1 MiB is cut",
			answer:    oversized(false),
			is:        authorizer.ErrResponseTooLarge,
			wantCalls: 1,
		},
		{
			name:      "no answer within the timeout",
			answer:    hang,
			is:        context.DeadlineExceeded,
			wantText:  []string{"no answer within 300ms"},
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeLambda(t, tt.answer)
			spec := testSpec(api.URL)
			spec.Timeout = &metav1.Duration{Duration: 300 * time.Millisecond}
			b := newTestBackend(t, spec, Options{Type: authorizer.TypeToken})

			resp, err := b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, ""))
			if err == nil {
				t.Fatalf("Authorize = %+v, want an error", resp)
			}
			checkError(t, err, `authorizer "tokens"`, tt.wantText)
			if got := errors.Is(err, authorizer.ErrUnauthorized); got != tt.unauthorized {
				t.Errorf("errors.Is(ErrUnauthorized) = %v, want %v", got, tt.unauthorized)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.is)
			}
			if tt.invokeError != nil {
				checkInvokeError(t, err, tt.invokeError)
			}
			if got := len(api.received()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestAuthorizeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	_ = ln.Close()
	b := newTestBackend(t, testSpec(endpoint), Options{Type: authorizer.TypeToken})

	_, err = b.Authorize(context.Background(), authorizertest.Request(authorizer.TypeToken, ""))
	if err == nil {
		t.Fatal("Authorize succeeded against a closed port")
	}
	checkError(t, err, `authorizer "tokens"`, []string{"connection refused"})
	var ie *InvokeError
	if errors.As(err, &ie) || errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("err = %#v, want a plain failure", err)
	}
}

// checkError checks that the message names the authorizer and holds want, and that no form of
// the identity leaks into it.
func checkError(t *testing.T, err error, name string, want []string) {
	t.Helper()
	msg := err.Error()
	for _, s := range append([]string{name}, want...) {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	jwt := strings.TrimPrefix(authorizertest.Token, "Bearer ")
	if strings.Contains(msg, jwt) || strings.Contains(msg, jwt[:16]) {
		t.Errorf("error %q holds the token", msg)
	}
}

func checkInvokeError(t *testing.T, err error, want *InvokeError) {
	t.Helper()
	var got *InvokeError
	if !errors.As(err, &got) {
		t.Fatalf("err = %v, want an *InvokeError", err)
	}
	if got.Authorizer != "tokens" || got.Function != "authorizer-fn" || got.Code != want.Code ||
		got.FunctionError != want.FunctionError || got.ErrorType != want.ErrorType ||
		got.StatusCode != want.StatusCode || (want.RequestID != "" && got.RequestID != want.RequestID) {
		t.Errorf("InvokeError = %+v, want %+v", got, want)
	}
}
