// Package identity owns identity sources: parsing the REST and HTTP API syntaxes, extracting the
// values a request holds for them, the identityValidationExpression, and the decision cache key
// derived from those values.
package identity

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is where an identity source reads its value from.
type Kind uint8

// Kinds of identity sources.
const (
	KindHeader Kind = iota + 1
	KindQueryString
	KindStageVariable
	KindContext
)

// String names the kind as API Gateway's REST syntax does.
func (k Kind) String() string {
	switch k {
	case KindHeader:
		return "header"
	case KindQueryString:
		return "querystring"
	case KindStageVariable:
		return "stageVariables"
	case KindContext:
		return "context"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ErrSyntax marks an identity source that is not written in either supported syntax.
var ErrSyntax = errors.New("invalid identity source")

// Source is one parsed identity source.
type Source struct {
	Kind Kind
	// Name is the header (lower-case), query parameter, stage variable or context variable name.
	Name string
	// Expr is the source as written, e.g. method.request.header.Authorization.
	Expr string
}

// String returns the source as written.
func (s Source) String() string { return s.Expr }

// syntaxes lists every accepted prefix: API Gateway REST style first, then HTTP API style.
var syntaxes = [...]struct {
	prefix string
	kind   Kind
}{
	{"method.request.header.", KindHeader},
	{"method.request.querystring.", KindQueryString},
	{"stageVariables.", KindStageVariable},
	{"context.", KindContext},
	{"$request.header.", KindHeader},
	{"$request.querystring.", KindQueryString},
	{"$stageVariables.", KindStageVariable},
	{"$context.", KindContext},
}

const wantSyntax = "want method.request.header.NAME, method.request.querystring.NAME, " +
	"stageVariables.NAME, context.NAME, or their HTTP API forms $request.header.NAME, " +
	"$request.querystring.NAME, $stageVariables.NAME, $context.NAME"

// Parse reads one identity source in either syntax. Surrounding spaces are ignored; header names
// are case-insensitive and stored lower-case.
func Parse(expr string) (Source, error) {
	expr = strings.TrimSpace(expr)
	for _, syn := range syntaxes {
		name, ok := strings.CutPrefix(expr, syn.prefix)
		if !ok {
			continue
		}
		if err := checkName(syn.kind, name); err != nil {
			return Source{}, fmt.Errorf("%w %q: %s", ErrSyntax, expr, err)
		}
		if syn.kind == KindHeader {
			name = strings.ToLower(name)
		}
		return Source{Kind: syn.kind, Name: name, Expr: expr}, nil
	}
	return Source{}, fmt.Errorf("%w %q: %s", ErrSyntax, expr, wantSyntax)
}

// ParseAll parses every source in order, stopping at the first error.
func ParseAll(exprs []string) ([]Source, error) {
	sources := make([]Source, 0, len(exprs))
	for _, expr := range exprs {
		src, err := Parse(expr)
		if err != nil {
			return nil, err
		}
		sources = append(sources, src)
	}
	return sources, nil
}

func checkName(kind Kind, name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	var valid func(byte) bool
	var want string
	switch kind {
	case KindHeader:
		valid, want = isTokenChar, "a header name (RFC 9110 token)"
	case KindQueryString:
		valid, want = isQueryNameChar, "a query parameter name without spaces, control characters, ',', '&', '=' or '#'"
	case KindStageVariable:
		valid, want = isWordChar, "a stage variable name of letters, digits and '_'"
	case KindContext:
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return errors.New("want a context variable name such as requestId or identity.sourceIp")
		}
		valid, want = isContextChar, "a context variable name such as requestId or identity.sourceIp"
	}
	for i := 0; i < len(name); i++ {
		if !valid(name[i]) {
			return fmt.Errorf("want %s", want)
		}
	}
	return nil
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isContextChar(c byte) bool { return isWordChar(c) || c == '.' || c == '-' }

func isTokenChar(c byte) bool {
	return isWordChar(c) || strings.IndexByte("!#$%&'*+-.^`|~", c) >= 0
}

func isQueryNameChar(c byte) bool {
	return c > ' ' && c != 0x7f && strings.IndexByte(",&=#", c) < 0
}
