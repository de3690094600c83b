package identity

import "strings"

// BearerToken returns an Authorization value without its "Bearer " scheme (matched
// case-insensitively) and the spaces after it. A value without the scheme is returned unchanged:
// API Gateway's JWT authorizers accept a bare token too.
func BearerToken(v string) string {
	const scheme = "bearer "
	if len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
		return strings.TrimLeft(v[len(scheme):], " ")
	}
	return v
}
