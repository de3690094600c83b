package lambda

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// maxAttempts caps the SDK's retries: an authorizer answers a waiting client, and a third failed
// attempt says more about the function than a fourth would.
const maxAttempts = 3

// backoffShare is the part of the timeout one retry may sleep: with maxAttempts, at most 20% of
// the budget goes to waiting, the rest to attempts.
const backoffShare = 10

// clientSettings is what newClient needs besides the SDK's own configuration chain.
type clientSettings struct {
	region     string // spec.region or the function ARN's region; empty: the SDK chain decides
	endpoint   string // spec.endpoint; empty: Lambda's regional endpoint
	timeout    time.Duration
	httpClient *http.Client
	loadOpts   []func(*config.LoadOptions) error
}

// newClient loads the SDK's default configuration (credentials from the environment, shared
// files, web identity for IRSA, container and instance roles; region likewise) and builds a
// Lambda client whose retries fit within the authorizer's timeout.
func newClient(ctx context.Context, s clientSettings) (*lambda.Client, error) {
	var load []func(*config.LoadOptions) error
	if s.region != "" {
		load = append(load, config.WithRegion(s.region))
	}
	if s.httpClient != nil {
		load = append(load, config.WithHTTPClient(s.httpClient))
	}
	load = append(load, s.loadOpts...)
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set spec.lambda.region, name the function by ARN, or set AWS_REGION")
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if s.endpoint != "" {
			o.BaseEndpoint = aws.String(s.endpoint)
		}
		o.HTTPClient = limitBody{next: cfg.HTTPClient}
		o.Retryer = newRetryer(s.timeout)
		// AWS_MAX_ATTEMPTS and max_attempts in shared config would otherwise widen the cap.
		o.RetryMaxAttempts = 0
	}), nil
}

// newRetryer keeps the SDK's judgement of what is safe to retry (throttling, transient 5xx,
// connection errors, its retry quota) and only bounds how many attempts and how long a sleep.
func newRetryer(timeout time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = timeout / backoffShare
	})
}
