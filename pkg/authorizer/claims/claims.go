// Package claims turns the claims of a verified token (a JWT's, or an OAuth2 introspection
// answer's) into an authorizer answer as SPEC section 7 describes: the principalId from a claim,
// context from named claims, scopes from scope/scp, and the IAM policy from the authorizer's
// rules. The jwt and introspection backends share it, so both read claims the same way.
package claims

import (
	"fmt"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// Mapper is compiled once per authorizer and is safe for concurrent use.
type Mapper struct {
	principal []string // claims tried in order; the first that holds a value is the principal
	context   []string
	rules     []rule
}

// NewMapper compiles the principal claims (tried in order), the context claims and the policy
// rules. A rule's route that does not parse is an error naming it ("[i].routes[j]: ...").
func NewMapper(principalClaims, contextClaims []string, rules []v1alpha1.PolicyRule) (*Mapper, error) {
	compiled, err := compileRules(rules)
	if err != nil {
		return nil, err
	}
	return &Mapper{principal: principalClaims, context: contextClaims, rules: compiled}, nil
}

// Response is the answer the claims earn for req: principalId, scopes, context and policy. The
// caller sets ExpiresAt. A token with none of the principal claims is ErrUnauthorized.
func (m *Mapper) Response(req *authorizer.Request, claims map[string]any) (*authorizer.Response, error) {
	principal := ""
	for _, name := range m.principal {
		if v, ok := String(claims, name); ok && v != "" {
			principal = v
			break
		}
	}
	if principal == "" {
		return nil, fmt.Errorf("%w: no %s claim for the principal", authorizer.ErrUnauthorized, strings.Join(m.principal, " or "))
	}
	resp := &authorizer.Response{PrincipalID: principal, Scopes: Scopes(claims)}
	if len(m.context) > 0 {
		resp.Context = make(map[string]any, len(m.context))
		for _, name := range m.context {
			if v, ok := claims[name]; ok {
				resp.Context[name] = v
			}
		}
	}
	resp.PolicyDocument = m.policy(req, claims, resp.Scopes)
	return resp, nil
}

// String reads a claim as a string; numbers keep their JSON text.
func String(claims map[string]any, name string) (string, bool) {
	switch v := claims[name].(type) {
	case string:
		return v, true
	case interface{ String() string }: // json.Number
		return v.String(), true
	}
	return "", false
}

// Scopes reads `scope` (space-separated, as OAuth2 and RFC 7662 write it) and `scp` (a list or a
// space-separated string).
func Scopes(claims map[string]any) []string {
	var out []string
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
