// Package arn builds and parses API Gateway method ARNs,
// arn:aws:execute-api:{region}:{accountId}:{apiId}/{stage}/{METHOD}/{resourcePath}, the string an
// authorizer's IAM policy is evaluated against.
//
// The resource path is the decoded request path without its leading "/", so GET / gives
// ".../prod/GET/" and GET /pets/42 gives ".../prod/GET/pets/42", as API Gateway does.
package arn

import (
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every method ARN.
const Prefix = "arn:aws:execute-api:"

// MaxMethodArnBytes is API Gateway's limit on a methodArn: a request whose methodArn is longer
// is answered 414 before any authorizer is asked.
const MaxMethodArnBytes = 1600

// ErrInvalid is wrapped by every Parse and Validate error.
var ErrInvalid = errors.New("invalid methodArn")

// MethodArn is a parsed method ARN. Path keeps its leading "/".
type MethodArn struct {
	Region    string
	AccountID string
	APIID     string
	Stage     string
	Method    string
	Path      string
}

// String returns the ARN text; Parse(a.String()) gives a back.
func (a MethodArn) String() string {
	return Build(a.Region, a.AccountID, a.APIID, a.Stage, a.Method, a.Path)
}

// Build returns arn:aws:execute-api:{region}:{account}:{apiID}/{stage}/{METHOD}/{path without
// its leading /}.
func Build(region, accountID, apiID, stage, method, path string) string {
	path = strings.TrimPrefix(path, "/")
	return Prefix + region + ":" + accountID + ":" + apiID + "/" + stage + "/" + method + "/" + path
}

// Append appends the ARN Build returns to dst, so the per-request path can reuse a buffer.
func Append(dst []byte, region, accountID, apiID, stage, method, path string) []byte {
	dst = append(dst, Prefix...)
	dst = append(dst, region...)
	dst = append(dst, ':')
	dst = append(dst, accountID...)
	dst = append(dst, ':')
	dst = append(dst, apiID...)
	dst = append(dst, '/')
	dst = append(dst, stage...)
	dst = append(dst, '/')
	dst = append(dst, method...)
	dst = append(dst, '/')
	return append(dst, strings.TrimPrefix(path, "/")...)
}

// Parse reads a method ARN. It rejects, with the reason, anything Build would not produce from
// valid parts: another partition or service, a malformed region, account, API id, stage or
// method, or a control character anywhere.
func Parse(s string) (MethodArn, error) {
	if i := controlIndex(s); i >= 0 {
		return MethodArn{}, fmt.Errorf("%w: control character at byte %d", ErrInvalid, i)
	}
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return MethodArn{}, fmt.Errorf("%w: %.64q does not start with \"arn:\"", ErrInvalid, s)
	}
	fields := strings.SplitN(rest, ":", 5)
	if len(fields) != 5 {
		return MethodArn{}, fmt.Errorf("%w: want arn:aws:execute-api:region:account:api/stage/METHOD/path", ErrInvalid)
	}
	if fields[0] != "aws" {
		return MethodArn{}, fmt.Errorf("%w: partition %.64q, want \"aws\"", ErrInvalid, fields[0])
	}
	if fields[1] != "execute-api" {
		return MethodArn{}, fmt.Errorf("%w: service %.64q, want \"execute-api\"", ErrInvalid, fields[1])
	}
	a := MethodArn{Region: fields[2], AccountID: fields[3]}
	resource := strings.SplitN(fields[4], "/", 4)
	if len(resource) != 4 {
		return MethodArn{}, fmt.Errorf("%w: resource %.64q, want api/stage/METHOD/path", ErrInvalid, fields[4])
	}
	a.APIID, a.Stage, a.Method, a.Path = resource[0], resource[1], resource[2], "/"+resource[3]
	if err := Validate(a.Region, a.AccountID, a.APIID, a.Stage); err != nil {
		return MethodArn{}, err
	}
	if err := checkMethod(a.Method); err != nil {
		return MethodArn{}, err
	}
	return a, nil
}
