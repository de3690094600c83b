package lambda

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// function is the Lambda function a backend invokes, as Lambda's Invoke API names it.
type function struct {
	name      string // a name, a partial ARN or a full ARN, qualifier suffix allowed
	qualifier string // a version or alias, empty for $LATEST
	region    string // from a full ARN, empty otherwise
}

// parseFunction reads the function name or ARN of a LambdaBackend. Only full ARNs carry a region;
// names and partial ARNs (123456789012:function:name) are left for Lambda to resolve in the
// region the client is configured for.
func parseFunction(name, qualifier string) (function, error) {
	if name == "" {
		return function{}, fmt.Errorf("functionName is empty")
	}
	fn := function{name: name, qualifier: qualifier}
	if !strings.HasPrefix(name, "arn:") {
		return fn, nil
	}
	parsed, err := arn.Parse(name)
	if err != nil {
		return function{}, fmt.Errorf("functionName: %w", err)
	}
	if parsed.Service != "lambda" || !strings.HasPrefix(parsed.Resource, "function:") {
		return function{}, fmt.Errorf("functionName %q is not a Lambda function ARN", name)
	}
	if parsed.Region == "" {
		return function{}, fmt.Errorf("functionName %q: ARN has no region", name)
	}
	fn.region = parsed.Region
	return fn, nil
}

// String names the function in errors and logs: name or ARN, and the qualifier when set.
func (f function) String() string {
	if f.qualifier == "" {
		return f.name
	}
	return f.name + " (qualifier " + f.qualifier + ")"
}
