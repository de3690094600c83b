package routes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type segmentKind uint8

const (
	literal segmentKind = iota
	param
	greedy
)

// segment is one part of a template between slashes: a literal, a {param} or a {greedy+}.
// text is the literal, or the parameter's name without braces and "+".
type segment struct {
	kind segmentKind
	text string
}

// parseTemplate splits a route template into segments. The root "/" has none. It returns the
// reason the template is refused, or "".
func parseTemplate(path string) ([]segment, string) {
	if path == "" {
		return nil, "empty"
	}
	if path[0] != '/' {
		return nil, `must start with "/"`
	}
	if path == "/" {
		return nil, ""
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]segment, 0, len(parts))
	names := make(map[string]bool, len(parts))
	for i, part := range parts {
		seg, reason := parseSegment(part)
		if reason != "" {
			return nil, reason
		}
		if seg.kind == greedy && i != len(parts)-1 {
			return nil, fmt.Sprintf("greedy parameter {%s+} must be the last segment", seg.text)
		}
		if seg.kind != literal {
			if names[seg.text] {
				return nil, fmt.Sprintf("parameter %q appears twice", seg.text)
			}
			names[seg.text] = true
		}
		segs = append(segs, seg)
	}
	return segs, ""
}

func parseSegment(part string) (segment, string) {
	if part == "" {
		return segment{}, `empty segment ("//" or a trailing "/") can never match`
	}
	if !strings.ContainsAny(part, "{}") {
		return segment{kind: literal, text: part}, literalProblem(part)
	}
	inner, ok := strings.CutPrefix(part, "{")
	inner, ok2 := strings.CutSuffix(inner, "}")
	if !ok || !ok2 || strings.ContainsAny(inner, "{}") {
		return segment{}, fmt.Sprintf("partial template %q: a parameter must be a whole segment", part)
	}
	kind := param
	if name, isGreedy := strings.CutSuffix(inner, "+"); isGreedy {
		kind, inner = greedy, name
	}
	if !validParamName(inner) {
		return segment{}, fmt.Sprintf("invalid parameter name %q: use letters, digits and underscore", inner)
	}
	return segment{kind: kind, text: inner}, ""
}

// validParamName allows what API Gateway allows in a path parameter name.
func validParamName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// literalProblem refuses a literal that no cleaned request path can hold (it could never match),
// or that reads like something other than a literal.
func literalProblem(lit string) string {
	if dots, _, _ := strings.Cut(lit, ";"); dots == "." || dots == ".." {
		return fmt.Sprintf("dot segment %q can never match: request paths with one are refused", lit)
	}
	if !utf8.ValidString(lit) {
		return "invalid UTF-8"
	}
	for _, r := range lit {
		switch {
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			return "control character can never match"
		case r == '\\':
			return "backslash can never match"
		case r == '%':
			return "percent-escape: templates are matched against decoded paths, write the character itself"
		case r == '?' || r == '#':
			return "query or fragment in a route path"
		case r == '*':
			return "wildcard: use {param} for one segment or {proxy+} for the rest of the path"
		}
	}
	return ""
}

// shape is the template with parameter names erased: two routes of one shape match the same paths.
func shape(segs []segment) string {
	if len(segs) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch s.kind {
		case literal:
			b.WriteString(s.text)
		case param:
			b.WriteString("{}")
		case greedy:
			b.WriteString("{+}")
		}
	}
	return b.String()
}
