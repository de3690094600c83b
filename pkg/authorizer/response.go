package authorizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxResponseBytes is the largest backend answer read or decoded (1 MiB). Anything larger is a
// backend failure, never buffered whole.
const MaxResponseBytes = 1 << 20

// ErrResponseTooLarge is returned for an answer over MaxResponseBytes: a backend failure (500).
var ErrResponseTooLarge = errors.New("answer larger than 1 MiB")

// DecodeResponse reads a Lambda authorizer answer. payloadVersion is "1.0" (REST, TOKEN
// authorizers and HTTP API 1.0; "" means the same) or "2.0". With 2.0 and simple set, the simple
// form {"isAuthorized": bool} is read, and an IAM-form answer is still accepted: AWS documents
// that enabling simple responses lets the function return a boolean instead of a policy, not that
// it must.
//
// An answer that breaks the contract (not a JSON object, no policy, a context value of the wrong
// kind, a member of the wrong type) is an error wrapping ErrConfiguration. The policy document is
// kept as returned; compiling it is the caller's job. Numbers in the context keep their text
// (json.Number).
func DecodeResponse(body []byte, payloadVersion string, simple bool) (*Response, error) {
	if len(body) > MaxResponseBytes {
		return nil, ErrResponseTooLarge
	}
	var v2 bool
	switch payloadVersion {
	case "", PayloadVersion1:
	case PayloadVersion2:
		v2 = true
	default:
		return nil, fmt.Errorf("unknown payload format version %q", payloadVersion)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, fmt.Errorf("%w: answer is not a JSON object: %w", ErrConfiguration, err)
	}
	if members == nil {
		return nil, configError("answer is null, want a JSON object")
	}
	if v2 && simple {
		if raw, ok := member(members, "isAuthorized"); ok {
			return decodeSimple(raw, members)
		}
		if _, ok := member(members, "policyDocument"); !ok {
			return nil, configError("answer has neither isAuthorized nor policyDocument")
		}
	}
	return decodeIAM(members, v2)
}

// decodeSimple reads {"isAuthorized": bool, "context": {...}}. Simple answers belong to payload
// format 2.0, so nested context values are allowed.
func decodeSimple(raw json.RawMessage, members map[string]json.RawMessage) (*Response, error) {
	var allowed bool
	if err := json.Unmarshal(raw, &allowed); err != nil {
		return nil, configError("isAuthorized must be true or false")
	}
	ctx, err := decodeContext(members, true)
	if err != nil {
		return nil, err
	}
	return &Response{IsAuthorized: &allowed, Context: ctx}, nil
}

// decodeIAM reads {"principalId", "policyDocument", "context", "usageIdentifierKey"}.
func decodeIAM(members map[string]json.RawMessage, v2 bool) (*Response, error) {
	policy, ok := member(members, "policyDocument")
	if !ok {
		return nil, configError("policyDocument is missing")
	}
	if err := checkPolicyShape(policy); err != nil {
		return nil, err
	}
	principal, err := optionalString(members, "principalId")
	if err != nil {
		return nil, err
	}
	usageKey, err := optionalString(members, "usageIdentifierKey")
	if err != nil {
		return nil, err
	}
	ctx, err := decodeContext(members, v2)
	if err != nil {
		return nil, err
	}
	return &Response{
		PrincipalID:        principal,
		PolicyDocument:     policy,
		Context:            ctx,
		UsageIdentifierKey: usageKey,
	}, nil
}

// checkPolicyShape accepts a non-empty JSON object; what is inside is the policy compiler's
// concern.
func checkPolicyShape(policy json.RawMessage) error {
	if policy[0] != '{' {
		return configError("policyDocument must be a JSON object")
	}
	if len(bytes.TrimSpace(policy[1:len(policy)-1])) == 0 {
		return configError("policyDocument is empty")
	}
	return nil
}

// decodeContext reads the optional context object. In payload format 1.0 (and REST) a value must
// be a string, number or boolean, since API Gateway stringifies context values and rejects JSON
// objects and arrays; null is refused too, having no string form. 2.0 allows any JSON value.
func decodeContext(members map[string]json.RawMessage, v2 bool) (map[string]any, error) {
	raw, ok := member(members, "context")
	if !ok {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, configError("context must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var ctx map[string]any
	if err := dec.Decode(&ctx); err != nil {
		return nil, fmt.Errorf("%w: context: %w", ErrConfiguration, err)
	}
	if v2 {
		return ctx, nil
	}
	for key, value := range ctx {
		switch value.(type) {
		case string, json.Number, bool:
		default:
			return nil, configError(fmt.Sprintf("context value %s must be a string, number or boolean", shortQuote(key)))
		}
	}
	return ctx, nil
}

// optionalString reads a member that, when present and not null, must be a JSON string.
func optionalString(members map[string]json.RawMessage, name string) (string, error) {
	raw, ok := member(members, name)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", configError(name + " must be a string")
	}
	return s, nil
}

// member returns a member that is present and not null. Names match exactly: API Gateway reads
// "principalId", not "principalid".
func member(members map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	raw, ok := members[name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

func configError(reason string) error {
	return fmt.Errorf("%w: %s", ErrConfiguration, reason)
}

// shortQuote quotes a key for an error message, cut short so a hostile answer cannot make a
// megabyte-long log line.
func shortQuote(s string) string {
	const limit = 64
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
