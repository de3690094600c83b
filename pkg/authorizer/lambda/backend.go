// Package lambda is the authorizer backend that invokes an AWS Lambda function with API
// Gateway's authorizer event and reads its answer, as API Gateway's Lambda authorizers do.
//
// Credentials and region come from the AWS SDK's default chain (environment, shared config
// files, web identity for IRSA on EKS, container and instance roles); requests are signed by the
// SDK. A function error whose errorMessage is exactly "Unauthorized" is authorizer.ErrUnauthorized;
// every other failure is an *InvokeError or a wrapped SDK error, both answered with 500.
package lambda

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

const (
	defaultTimeout = 5 * time.Second
	maxTimeout     = 30 * time.Second
)

// Options are the authorizer settings the event and the answer depend on, and the hooks a
// caller may set.
type Options struct {
	// Type is TOKEN or REQUEST.
	Type string
	// PayloadVersion is "1.0" or "2.0" (REQUEST only); empty means "1.0".
	PayloadVersion string
	// Simple accepts {"isAuthorized": bool} answers (payload version 2.0 only).
	Simple bool
	// HTTPClient, when set, carries the Lambda calls and the credential providers' calls.
	HTTPClient *http.Client
	// ConfigOptions are applied after the backend's own when loading the SDK's default
	// configuration, so they can override them.
	ConfigOptions []func(*config.LoadOptions) error
	// Logger hears of what an event leaves out (a client certificate that does not parse);
	// nil discards it.
	Logger *slog.Logger
}

// Backend invokes one Lambda function per authorization. It is safe for concurrent use.
type Backend struct {
	name           string
	function       function
	timeout        time.Duration
	typ            string
	payloadVersion string
	simple         bool
	client         *lambda.Client
	log            *slog.Logger
}

var _ authorizer.Backend = (*Backend)(nil)

// New builds the backend of the authorizer called name. The region is spec.Region, else the
// function ARN's, else the SDK's default chain; it is an error if none of them has one.
// Credentials are not resolved here but on the first call, so a backend can be built before the
// role it will assume is reachable.
func New(ctx context.Context, name string, spec *v1alpha1.LambdaBackend, opts Options) (*Backend, error) {
	b, err := newBackend(name, spec, opts)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: lambda: %w", name, err)
	}
	region := spec.Region
	if region == "" {
		region = b.function.region
	}
	b.client, err = newClient(ctx, clientSettings{
		region:     region,
		endpoint:   spec.Endpoint,
		timeout:    b.timeout,
		httpClient: opts.HTTPClient,
		loadOpts:   opts.ConfigOptions,
	})
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: lambda: %w", name, err)
	}
	return b, nil
}

// newBackend checks the spec and the options and fills everything but the client.
func newBackend(name string, spec *v1alpha1.LambdaBackend, opts Options) (*Backend, error) {
	if spec == nil {
		return nil, fmt.Errorf("no lambda spec")
	}
	fn, err := parseFunction(spec.FunctionName, spec.Qualifier)
	if err != nil {
		return nil, err
	}
	if spec.Region != "" && fn.region != "" && spec.Region != fn.region {
		return nil, fmt.Errorf("region %q differs from the function ARN's region %q", spec.Region, fn.region)
	}
	timeout, err := timeoutOrDefault(spec)
	if err != nil {
		return nil, err
	}
	version, err := checkOptions(&opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{
		name:           name,
		function:       fn,
		timeout:        timeout,
		typ:            opts.Type,
		payloadVersion: version,
		simple:         opts.Simple,
		log:            log.With(slog.String("authorizer", name)),
	}, nil
}

// checkOptions validates the event settings and returns the payload version to use.
func checkOptions(opts *Options) (string, error) {
	version := normalVersion(opts.PayloadVersion)
	switch {
	case opts.Type != authorizer.TypeToken && opts.Type != authorizer.TypeRequest:
		return "", fmt.Errorf("type %q: want TOKEN or REQUEST", opts.Type)
	case version != authorizer.PayloadVersion1 && version != authorizer.PayloadVersion2:
		return "", fmt.Errorf("payload version %q: want 1.0 or 2.0", version)
	case opts.Type == authorizer.TypeToken && version != authorizer.PayloadVersion1:
		return "", fmt.Errorf("payload version %s: TOKEN authorizers use 1.0", version)
	case opts.Simple && version != authorizer.PayloadVersion2:
		return "", fmt.Errorf("simple responses need payload version 2.0")
	}
	return version, nil
}

// timeoutOrDefault reads spec.timeout: default 5s, at most 30s.
func timeoutOrDefault(spec *v1alpha1.LambdaBackend) (time.Duration, error) {
	if spec.Timeout == nil {
		return defaultTimeout, nil
	}
	d := spec.Timeout.Duration
	if d <= 0 || d > maxTimeout {
		return 0, fmt.Errorf("timeout %s: want more than 0 and at most %s", d, maxTimeout)
	}
	return d, nil
}

// Authorize invokes the function with the event for req and decodes its answer. The timeout
// covers the whole call, the SDK's retries included.
func (b *Backend) Authorize(ctx context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	req = b.eventRequest(req)
	event, err := authorizer.EncodeEvent(req, b.log)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: lambda event: %w", b.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	out, err := b.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(b.function.name),
		Qualifier:      optional(b.function.qualifier),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        event,
	})
	if err != nil {
		return nil, b.invokeFailed(err)
	}
	if failure, ok := readFunctionFailure(out.FunctionError, out.Payload); ok {
		return nil, b.functionFailed(failure, out.ResultMetadata)
	}
	resp, err := authorizer.DecodeResponse(out.Payload, normalVersion(req.PayloadVersion), b.simple)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: lambda function %s: %w", b.name, b.function, err)
	}
	return resp, nil
}

// eventRequest fills in the type and payload version this backend was built with where req
// leaves them empty. A version set on req wins: the engine picks it per Api (REST Apis default to
// 1.0, HTTP Apis to 2.0), as API Gateway does for an authorizer without an explicit version.
func (b *Backend) eventRequest(req *authorizer.Request) *authorizer.Request {
	if req.Type != "" && req.PayloadVersion != "" {
		return req
	}
	r := *req
	if r.Type == "" {
		r.Type = b.typ
	}
	if r.PayloadVersion == "" {
		r.PayloadVersion = b.payloadVersion
	}
	return &r
}

// normalVersion spells the default payload version out: "" means 1.0.
func normalVersion(v string) string {
	if v == "" {
		return authorizer.PayloadVersion1
	}
	return v
}

// optional is the SDK's spelling of an absent string parameter.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
