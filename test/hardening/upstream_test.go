package hardening

import (
	"strings"
)

// upstreamReading is one way a real upstream server reads a request target into the path it
// routes. A path Portcullis allowed must not reach a protected prefix under any of them.
type upstreamReading struct {
	name string
	read func(path string) string // path: the target without query, as Envoy forwards it
}

// upstreamReadings are the readings the suite holds Portcullis to. Every one of them strips the
// fragment first (Envoy rejects or strips it before forwarding) and splits off the query.
// Decoding three times, and Unicode compatibility normalization (NFKC), are outside the model:
// no router does either, and docs/security.md says so.
var upstreamReadings = []upstreamReading{
	{"RFC 3986: decode once, remove dot segments", func(p string) string {
		return removeDotSegments(decodeLenient(p))
	}},
	{"remove dot segments before decoding", func(p string) string {
		return decodeLenient(removeDotSegments(p))
	}},
	{"nginx: merge slashes, then resolve dots", func(p string) string {
		return removeDotSegments(mergeSlashes(decodeLenient(p)))
	}},
	{"servlet: drop ;params from each segment, then decode", func(p string) string {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";")
		}
		return removeDotSegments(mergeSlashes(decodeLenient(strings.Join(segs, "/"))))
	}},
	{"Windows: backslash is a separator", func(p string) string {
		return removeDotSegments(mergeSlashes(strings.ReplaceAll(decodeLenient(p), `\`, "/")))
	}},
	{"double decoding", func(p string) string {
		return removeDotSegments(mergeSlashes(decodeLenient(decodeLenient(p))))
	}},
	{"lenient UTF-8: overlong forms of '.', '/' and '\\' decoded", func(p string) string {
		r := strings.NewReplacer("\xc0\xae", ".", "\xe0\x80\xae", ".", "\xc0\xaf", "/", "\xe0\x80\xaf", "/",
			"\xc1\x9c", "/", "\xc1\x1c", "/", "\xc0\x5c", "/")
		return removeDotSegments(mergeSlashes(r.Replace(decodeLenient(p))))
	}},
}

// protectedBy reports whether an upstream reading path routes it under prefix ("/admin"),
// comparing case-insensitively as case-insensitive servers do.
func protectedBy(path, prefix string) bool {
	p := strings.ToLower(path)
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// readTarget splits what an upstream receives into the path it reads: no fragment, no query.
func readTarget(target string) string {
	target, _, _ = strings.Cut(target, "#")
	target, _, _ = strings.Cut(target, "?")
	return target
}

// decodeLenient percent-decodes s, leaving invalid escapes as they are, as lenient servers do.
func decodeLenient(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// removeDotSegments is RFC 3986 section 5.2.4 on a path.
func removeDotSegments(p string) string {
	in := strings.Split(p, "/")
	out := make([]string, 0, len(in))
	for i, seg := range in {
		last := i == len(in)-1
		switch seg {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func mergeSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}
