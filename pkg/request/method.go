package request

import (
	"fmt"
	"strings"
)

// methodOf upper-cases an HTTP method after checking that it is a token (RFC 9110 section 5.6.2).
// A method that is already upper-case, as nearly all are, is returned without copying.
func methodOf(m string) (string, error) {
	if m == "" {
		return "", fmt.Errorf("%w: empty", ErrBadMethod)
	}
	if !allOf(m, isTokenChar) {
		return "", fmt.Errorf("%w: %.32q is not a token", ErrBadMethod, m)
	}
	return strings.ToUpper(m), nil
}

func isTokenChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
