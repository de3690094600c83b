package lambda

import (
	"bytes"
	"encoding/json"
)

// unauthorizedMessage is the errorMessage by which a function says the identity is not valid.
// API Gateway compares it exactly: "unauthorized" or "Unauthorized." is any other failure.
const unauthorizedMessage = "Unauthorized"

// unhandled is the X-Amz-Function-Error value Lambda sets for every function error today.
const unhandled = "Unhandled"

// maxErrorTypeLen bounds the function's errorType carried into error messages.
const maxErrorTypeLen = 64

// functionFailure is a function error read from an invocation's output.
type functionFailure struct {
	kind         string // X-Amz-Function-Error, e.g. Unhandled
	errorType    string // the runtime's errorType when it is a plain identifier, else empty
	unauthorized bool   // errorMessage is exactly "Unauthorized"
}

// errorEnvelope is the payload a Lambda runtime sends for a function error. The answer fields
// are read only to tell an envelope from an authorizer answer.
type errorEnvelope struct {
	ErrorMessage   *string         `json:"errorMessage"`
	ErrorType      *string         `json:"errorType"`
	PrincipalID    json.RawMessage `json:"principalId"`
	PolicyDocument json.RawMessage `json:"policyDocument"`
	IsAuthorized   json.RawMessage `json:"isAuthorized"`
}

// readFunctionFailure tells whether an invocation's output is a function error, and which.
// Lambda marks one with X-Amz-Function-Error (functionError). The Runtime Interface Emulator and
// some local emulators do not send that header, so a payload that is a runtime error envelope
// and carries none of an authorizer answer's fields is read as a function error too: such a
// payload could never be a valid answer, and reading it as one would turn the function's
// "Unauthorized" into a configuration error.
func readFunctionFailure(functionError *string, payload []byte) (functionFailure, bool) {
	if functionError != nil {
		var env errorEnvelope
		// A payload that is not an envelope still is a function error: the header says so.
		_ = json.Unmarshal(payload, &env)
		return newFunctionFailure(*functionError, &env), true
	}
	if !bytes.Contains(payload, []byte(`"errorMessage"`)) {
		return functionFailure{}, false
	}
	var env errorEnvelope
	if err := json.Unmarshal(payload, &env); err != nil || !env.isBareEnvelope() {
		return functionFailure{}, false
	}
	return newFunctionFailure(unhandled, &env), true
}

func newFunctionFailure(kind string, env *errorEnvelope) functionFailure {
	f := functionFailure{kind: identifierOrEmpty(kind)}
	if env.ErrorType != nil {
		f.errorType = identifierOrEmpty(*env.ErrorType)
	}
	f.unauthorized = env.ErrorMessage != nil && *env.ErrorMessage == unauthorizedMessage
	return f
}

// isBareEnvelope is true for an errorMessage and errorType without any authorizer answer field.
func (e *errorEnvelope) isBareEnvelope() bool {
	return e.ErrorMessage != nil && e.ErrorType != nil &&
		e.PrincipalID == nil && e.PolicyDocument == nil && e.IsAuthorized == nil
}

// identifierOrEmpty keeps s if it looks like a type name (letters, digits, . _ : -) and is short.
// Anything else could hold arbitrary function output, the identity included, and is dropped
// rather than written to logs.
func identifierOrEmpty(s string) string {
	if len(s) > maxErrorTypeLen {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return ""
		}
	}
	return s
}
