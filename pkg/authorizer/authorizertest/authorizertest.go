// Package authorizertest provides sample authorizer requests, so the tests of the event JSON and
// of every backend that sends it describe the same request and can share golden files.
package authorizertest

import (
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// Token is the identity value of the sample requests: a TOKEN header value, "Bearer " included.
const Token = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl"

// RequestID is the x-request-id of the sample requests.
const RequestID = "5f0e8c0a-3b1d-4d7e-9a59-0c6f2f7b9e11"

// Request returns a fully populated sample request for an authorizer of the given type
// (TOKEN or REQUEST) and payload format version ("1.0" or "2.0"): GET /v1/pets/42 on
// api.example.com, basePath /v1, route /pets/{petId}, a repeated query parameter, cookies, and
// Envoy's pseudo-headers. Each call returns a new value the caller may change.
func Request(typ, payloadVersion string) *authorizer.Request {
	identity := []string{Token}
	if typ == authorizer.TypeRequest {
		identity = []string{Token, "cat"}
	}
	return &authorizer.Request{
		Type:           typ,
		PayloadVersion: payloadVersion,
		MethodArn:      "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42",
		Token:          Token,
		IdentitySource: identity,
		HTTP:           HTTP(),
		Resource:       "/pets/{petId}",
		Path:           "/pets/42",
		PathParameters: map[string]string{"petId": "42"},
		StageVariables: map[string]string{"env": "prod"},
		Region:         "us-east-1",
		AccountID:      "123456789012",
		APIID:          "a1b2c3d4e5",
		Stage:          "prod",
		RouteKey:       "GET /pets/{petId}",
		RequestID:      RequestID,
	}
}

// HTTP returns the facts of the sample request, as pkg/request builds them from Envoy's
// CheckRequest.
func HTTP() *request.Request {
	return &request.Request{
		Method:    "GET",
		Host:      "api.example.com",
		Authority: "api.example.com:8443",
		Scheme:    "https",
		Protocol:  "HTTP/1.1",
		RawPath:   "/v1/pets/42",
		Path:      "/v1/pets/42",
		RawQuery:  "tag=cat&tag=dog%20house&q=a+b&flag",
		Headers: map[string]string{
			":authority":      "api.example.com:8443",
			":method":         "GET",
			":path":           "/v1/pets/42?tag=cat&tag=dog%20house&q=a+b&flag",
			"accept":          "*/*",
			"authorization":   Token,
			"cookie":          "session=abc123; theme=dark",
			"user-agent":      "curl/8.5.0",
			"x-forwarded-for": "203.0.113.7,10.0.0.1",
			"x-request-id":    RequestID,
		},
		SourceIP:  "203.0.113.7",
		RequestID: RequestID,
		Time:      time.Date(2020, time.March, 12, 19, 3, 58, 390_000_000, time.UTC),
	}
}
