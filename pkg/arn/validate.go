package arn

import "fmt"

// Validate checks the parts an Api's configuration gives to Build, so a bad region or account is
// reported at config load rather than producing ARNs no policy can name.
//
//   - region: lower-case letters, digits and "-" (us-east-1)
//   - accountID: 12 digits
//   - apiID: letters, digits, ".", "_" and "-"
//   - stage: letters, digits, ".", "_", "-" and "$" ($default)
func Validate(region, accountID, apiID, stage string) error {
	if !isRegion(region) {
		return fmt.Errorf("%w: region %.64q: want lower-case letters, digits and \"-\"", ErrInvalid, region)
	}
	if !isAccount(accountID) {
		return fmt.Errorf("%w: account %.64q: want 12 digits", ErrInvalid, accountID)
	}
	if !isName(apiID, false) {
		return fmt.Errorf("%w: API id %.64q: want letters, digits, \".\", \"_\" and \"-\"", ErrInvalid, apiID)
	}
	if !isName(stage, true) {
		return fmt.Errorf("%w: stage %.64q: want letters, digits, \".\", \"_\", \"-\" and \"$\"", ErrInvalid, stage)
	}
	return nil
}

func checkMethod(m string) error {
	if m == "" {
		return fmt.Errorf("%w: empty method", ErrInvalid)
	}
	for i := 0; i < len(m); i++ {
		if !isTokenChar(m[i]) {
			return fmt.Errorf("%w: method %.64q is not an HTTP method token", ErrInvalid, m)
		}
	}
	return nil
}

func isRegion(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isName(s string, dollar bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || dollar && c == '$'
		if !ok {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an HTTP method (RFC 9110 tchar).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// controlIndex returns the index of the first ASCII control character in s, or -1.
func controlIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return i
		}
	}
	return -1
}
