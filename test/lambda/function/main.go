// Command function is a Lambda authorizer used by the lambda backend's integration test. It runs
// under the AWS Lambda Runtime Interface Emulator and answers by the verb of the identity it is
// given: the TOKEN event's authorizationToken, or the authorization header of a REQUEST event,
// "Bearer " removed, up to the first ".", so that "Bearer deny.c2VjcmV0" denies:
//
//	allow         an IAM policy allowing the event's methodArn (or routeArn)
//	deny          an IAM policy denying it
//	simple        {"isAuthorized": true} (payload 2.0 with simple responses)
//	unauthorized  the error "Unauthorized", which API Gateway answers with 401
//	fail          any other error, whose message quotes the identity whole
//	panic         a panic inside the handler
//	crash         the process exits in the middle of the invocation
//
// Allowed and denied answers echo the event's type, version and ARN in the context so the test
// can tell that the event arrived intact.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// event holds the fields of the TOKEN, REQUEST 1.0 and REQUEST 2.0 events this function reads.
type event struct {
	Version            string            `json:"version"`
	Type               string            `json:"type"`
	AuthorizationToken string            `json:"authorizationToken"`
	MethodArn          string            `json:"methodArn"`
	RouteArn           string            `json:"routeArn"`
	Headers            map[string]string `json:"headers"`
}

func (e *event) identity() string {
	token := e.AuthorizationToken
	if e.Type == "REQUEST" {
		token = e.Headers["authorization"]
	}
	return strings.TrimPrefix(token, "Bearer ")
}

// verb is the identity up to its first ".".
func (e *event) verb() string {
	verb, _, _ := strings.Cut(e.identity(), ".")
	return verb
}

func (e *event) arn() string {
	if e.Version == "2.0" {
		return e.RouteArn
	}
	return e.MethodArn
}

func handle(_ context.Context, e event) (any, error) {
	switch verb := e.verb(); verb {
	case "allow":
		return policy(&e, "Allow"), nil
	case "deny":
		return policy(&e, "Deny"), nil
	case "simple":
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{
			IsAuthorized: true,
			Context:      map[string]any{"eventType": e.Type},
		}, nil
	case "unauthorized":
		return nil, errors.New("Unauthorized")
	case "fail":
		// Quoting the identity shows whether the caller keeps function output out of its errors.
		return nil, errors.New("directory rejected identity " + e.identity())
	case "panic":
		panic("authorizer function panicked")
	case "crash":
		os.Exit(3)
		return nil, nil
	default:
		return nil, fmt.Errorf("unknown verb of %d bytes", len(verb))
	}
}

func policy(e *event, effect string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user-" + strings.ToLower(effect),
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{e.arn()},
			}},
		},
		Context: map[string]any{
			"eventType":    e.Type,
			"eventVersion": e.Version,
			"arn":          e.arn(),
			"tier":         "gold",
			"quota":        7,
		},
	}
}

func main() {
	lambda.Start(handle)
}
