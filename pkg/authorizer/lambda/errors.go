package lambda

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// InvokeError is a failed invocation: an error from the Lambda API (throttling, a missing
// function, no permission) or a function error other than "Unauthorized". Its message names the
// authorizer, the function and the AWS error code or function error type, but never the AWS
// error message nor the function's errorMessage: either may quote the event, and so the identity.
type InvokeError struct {
	Authorizer string
	Function   string
	// Code is the AWS error code (smithy APIError ErrorCode), e.g. TooManyRequestsException.
	// Empty for a function error.
	Code string
	// FunctionError is the X-Amz-Function-Error value, e.g. Unhandled. Empty for an API error.
	FunctionError string
	// ErrorType is the runtime's errorType of a function error, e.g. Runtime.ExitError, when it
	// is a plain identifier.
	ErrorType  string
	StatusCode int    // HTTP status of the Lambda API's error answer; 0 for a function error
	RequestID  string // Lambda's request id, for AWS support and CloudWatch
	err        error
}

// Error describes the failure without the AWS message or the function's output.
func (e *InvokeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "authorizer %q: lambda function %s: ", e.Authorizer, e.Function)
	if e.FunctionError != "" {
		b.WriteString("function error " + e.FunctionError)
		if e.ErrorType != "" {
			b.WriteString(" " + e.ErrorType)
		}
	} else {
		b.WriteString("invoke failed: " + e.Code)
	}
	var details []string
	if e.StatusCode != 0 {
		details = append(details, "HTTP "+strconv.Itoa(e.StatusCode))
	}
	if e.RequestID != "" {
		details = append(details, "request id "+e.RequestID)
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	return b.String()
}

// Unwrap gives the SDK's error of an API error, so callers can inspect it with errors.As.
func (e *InvokeError) Unwrap() error { return e.err }

// invokeFailed maps an error of the SDK's Invoke to the error Authorize returns.
func (b *Backend) invokeFailed(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		ie := &InvokeError{
			Authorizer: b.name,
			Function:   b.function.String(),
			Code:       identifierOrEmpty(apiErr.ErrorCode()),
			err:        err,
		}
		var respErr *awshttp.ResponseError
		if errors.As(err, &respErr) {
			ie.StatusCode = respErr.HTTPStatusCode()
			ie.RequestID = respErr.ServiceRequestID()
		}
		return ie
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("authorizer %q: lambda function %s: no answer within %s: %w",
			b.name, b.function, b.timeout, err)
	}
	return fmt.Errorf("authorizer %q: lambda function %s: invoke: %w", b.name, b.function, err)
}

// functionFailed maps a function error to the error Authorize returns.
func (b *Backend) functionFailed(f functionFailure, metadata middleware.Metadata) error {
	if f.unauthorized {
		return fmt.Errorf("authorizer %q: lambda function %s: %w", b.name, b.function, authorizer.ErrUnauthorized)
	}
	requestID, _ := awsmiddleware.GetRequestIDMetadata(metadata)
	return &InvokeError{
		Authorizer:    b.name,
		Function:      b.function.String(),
		FunctionError: f.kind,
		ErrorType:     f.errorType,
		RequestID:     requestID,
	}
}
