package request

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SplitTarget splits a request target as Envoy sends it (path and query, never decoded) into the
// path and the query without its "?". A fragment is dropped: clients do not send one, and if one
// arrives it must reach neither routing nor the query.
func SplitTarget(target string) (path, query string) {
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	path, query, _ = strings.Cut(target, "?")
	return path, query
}

// CleanPath validates a request path (without its query) and returns it percent-decoded. Errors
// wrap ErrBadPath, or ErrTooLarge for a path over MaxPathBytes.
//
// A path is refused when it is not absolute (absolute-form "http://host/x" included), holds an
// invalid escape, a control character (C0, DEL or C1, raw or decoded), a backslash (raw or
// decoded), an encoded slash, a "." or ".." segment after decoding, or bytes that do not decode
// to valid UTF-8 (overlong forms of '.' and '/' are the classic bypass). A byte is accepted raw
// exactly when it is accepted decoded, so a result without '%' cleans to itself.
//
// Choices where the upstream and Portcullis could otherwise read one path two ways:
//   - Duplicate slashes are kept, as API Gateway does. "//" makes an empty segment, which no route
//     matches, so such a path is unmatched instead of being merged into another route's path.
//   - ';' is an ordinary character of its segment, as in API Gateway (no matrix parameters), but a
//     segment that is "." or ".." before its first ';' is refused: servlet containers drop
//     ";params" and would read "/..;/admin" as "/../admin".
//   - An escape that survives decoding ("%252e" gives "%2e") is kept as literal text, unless
//     decoding it once more would give a separator, a backslash, a control character or a dot
//     segment: an upstream that decodes twice would then see another path.
func CleanPath(raw string) (string, error) {
	if raw == "" || raw[0] != '/' {
		return "", pathError("not absolute", 0)
	}
	if len(raw) > MaxPathBytes {
		return "", fmt.Errorf("%w: path of %d bytes, limit %d", ErrTooLarge, len(raw), MaxPathBytes)
	}
	if isPlainPath(raw) {
		return raw, nil
	}
	return decodePath(raw)
}

// isPlainPath reports whether p needs neither decoding nor a closer look: printable ASCII without
// '%' or '\', and no dot segment. Most request paths are plain and are returned without copying.
func isPlainPath(p string) bool {
	segStart := 1
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if isDotSegment(p[segStart:i]) {
				return false
			}
			segStart = i + 1
		case c < 0x20 || c >= 0x7f || c == '%' || c == '\\':
			return false
		}
	}
	return !isDotSegment(p[segStart:])
}

// decodePath is CleanPath's slow path: it decodes segment by segment so each decoded segment can
// be checked on its own, and so no decoded byte can ever act as a separator.
func decodePath(raw string) (string, error) {
	buf := make([]byte, 1, len(raw))
	buf[0] = '/'
	segStart, rawSegStart := 1, 1
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '/':
			if err := checkSegment(buf[segStart:], rawSegStart); err != nil {
				return "", err
			}
			buf = append(buf, '/')
			segStart, rawSegStart = len(buf), i+1
			continue
		case '%':
			d, ok := unhex2(raw, i)
			if !ok {
				return "", pathError("invalid percent escape", i)
			}
			if d == '/' {
				return "", pathError("encoded slash", i)
			}
			if reason := forbiddenByte(d); reason != "" {
				return "", pathError("encoded "+reason, i)
			}
			buf = append(buf, d)
			i += 2
			continue
		}
		if reason := forbiddenByte(c); reason != "" {
			return "", pathError(reason, i)
		}
		buf = append(buf, c)
	}
	if err := checkSegment(buf[segStart:], rawSegStart); err != nil {
		return "", err
	}
	return string(buf), nil
}

// checkSegment checks one decoded segment; offset is where it starts in the raw path.
func checkSegment(seg []byte, offset int) error {
	if isDotSegment(string(seg)) {
		return pathError("dot segment", offset)
	}
	if !utf8.Valid(seg) {
		return pathError("invalid UTF-8", offset)
	}
	if hasC1Control(seg) {
		return pathError("control character", offset)
	}
	if unsafeWhenDecodedAgain(seg) {
		return pathError("double-encoded separator, control character or dot segment", offset)
	}
	return nil
}

// isDotSegment reports whether seg is "." or ".." once anything from its first ';' is dropped.
func isDotSegment(seg string) bool {
	if i := strings.IndexByte(seg, ';'); i >= 0 {
		seg = seg[:i]
	}
	return seg == "." || seg == ".."
}

// forbiddenByte names why c may not appear in a path, raw or decoded, or returns "".
func forbiddenByte(c byte) string {
	switch {
	case c < 0x20 || c == 0x7f:
		return "control character"
	case c == '\\':
		return "backslash"
	}
	return ""
}

// hasC1Control reports whether valid UTF-8 seg holds U+0080..U+009F, the C1 control characters.
func hasC1Control(seg []byte) bool {
	for i := 0; i < len(seg); i++ {
		// U+0080..U+009F encode as 0xC2 0x80..0x9F; no other sequence starts with 0xC2 0x8x/0x9x.
		if seg[i] == 0xC2 && i+1 < len(seg) && seg[i+1] >= 0x80 && seg[i+1] <= 0x9F {
			return true
		}
	}
	return false
}

// unsafeWhenDecodedAgain reports whether decoding the already decoded seg once more would give a
// '/', a backslash, a control character, or a dot segment. Invalid escapes stay literal, as
// lenient decoders leave them.
func unsafeWhenDecodedAgain(seg []byte) bool {
	if bytes.IndexByte(seg, '%') < 0 {
		return false
	}
	dots, onlyDots, beforeParams := 0, true, true
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '%' {
			if d, ok := unhex2(seg, i); ok {
				c = d
				i += 2
			}
		}
		if c == '/' || forbiddenByte(c) != "" {
			return true
		}
		if !beforeParams {
			continue
		}
		switch c {
		case ';':
			beforeParams = false
		case '.':
			dots++
		default:
			onlyDots = false
		}
	}
	return onlyDots && (dots == 1 || dots == 2)
}

// unhex2 decodes the escape "%XY" that starts at s[i].
func unhex2[T string | []byte](s T, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
