package request

import (
	"fmt"
	"strings"
)

// hostOf returns the host of an authority ("Host" or ":authority"), lower-cased, without its port,
// without the brackets of an IPv6 literal (as url.URL.Hostname gives it) and without a trailing
// dot. "api.example.com." names the same host as "api.example.com"; leaving the dot would send the
// request to another Api (one with no hosts), which is an authorization bypass, not a mismatch.
// An empty authority (HTTP/1.0) gives an empty host.
func hostOf(authority string) (string, error) {
	host, port, err := splitAuthority(authority)
	if err != nil {
		return "", fmt.Errorf("%w: %v in %.64q", ErrBadHost, err, authority)
	}
	if len(port) > 5 || !allDigits(port) {
		return "", fmt.Errorf("%w: bad port in %.64q", ErrBadHost, authority)
	}
	return strings.ToLower(host), nil
}

// HostOf is the host an authority names, as Apis are found by it; "" when the authority is not
// valid.
func HostOf(authority string) string {
	host, err := hostOf(authority)
	if err != nil {
		return ""
	}
	return host
}

// splitAuthority separates host and port and checks the host's characters. It returns plain
// errors: hostOf wraps them with the sentinel and the authority.
func splitAuthority(authority string) (host, port string, err error) {
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", fmt.Errorf("unterminated IPv6 literal")
		}
		host, rest := authority[1:end], authority[end+1:]
		if host == "" || !allOf(host, isIPv6Char) {
			return "", "", fmt.Errorf("invalid IPv6 literal")
		}
		if rest != "" && rest[0] != ':' {
			return "", "", fmt.Errorf("text after IPv6 literal")
		}
		return host, strings.TrimPrefix(rest, ":"), nil
	}
	host = authority
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
	}
	if !allOf(host, isRegNameChar) {
		return "", "", fmt.Errorf("invalid character")
	}
	return strings.TrimSuffix(host, "."), port, nil
}

// isRegNameChar reports whether c may appear in a registered name (RFC 3986 reg-name: unreserved
// and sub-delims). Percent-encoding is left out: no real host needs it, and a host that has to
// be decoded before it can be compared is one more place for two readings to differ.
func isRegNameChar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~!$&'()*+,;=", c) >= 0
}

func isIPv6Char(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.'
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func allDigits(s string) bool {
	return allOf(s, func(c byte) bool { return '0' <= c && c <= '9' })
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
