package identity

import (
	"fmt"
	"regexp"
)

// CompileValidation compiles an identityValidationExpression so that it must match the whole
// value, as API Gateway requires. The syntax is Go's (RE2): no backreferences or lookaround.
func CompileValidation(expr string) (*regexp.Regexp, error) {
	// Compiling the expression alone first proves its groups are balanced, so the anchoring
	// group below cannot be closed early by the expression itself.
	if _, err := regexp.Compile(expr); err != nil {
		return nil, fmt.Errorf("identity validation expression: %w", err)
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("identity validation expression: %w", err)
	}
	return re, nil
}
