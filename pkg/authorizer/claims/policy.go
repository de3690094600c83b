package claims

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// rule is a compiled policy rule: who it applies to and the routes it grants or denies.
type rule struct {
	scopes []string // any of; empty: everyone
	effect string
	routes []route
}

// route is "METHOD /path" split into the ARN tail's parts: a literal method or *, and the path
// (without its leading "/") as literal pieces and {claim} references.
type route struct {
	method string
	parts  []part
}

type part struct {
	text  string
	claim bool // text names a claim whose value is substituted, escaped
}

func compileRules(rules []v1alpha1.PolicyRule) ([]rule, error) {
	out := make([]rule, 0, len(rules))
	for i, r := range rules {
		c := rule{scopes: r.Scopes, effect: r.Effect}
		for j, s := range r.Routes {
			rt, err := compileRoute(s)
			if err != nil {
				return nil, fmt.Errorf("[%d].routes[%d]: %w", i, j, err)
			}
			c.routes = append(c.routes, rt)
		}
		out = append(out, c)
	}
	return out, nil
}

func compileRoute(s string) (route, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(s), " ")
	path = strings.TrimSpace(path)
	if !ok || method == "" || (path != "*" && !strings.HasPrefix(path, "/")) {
		return route{}, fmt.Errorf("%q: want \"METHOD /path\"", s)
	}
	rt := route{method: strings.ToUpper(method)}
	rest := strings.TrimPrefix(path, "/")
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			rt.parts = append(rt.parts, part{text: rest})
			break
		}
		closeAt := strings.IndexByte(rest[open:], '}')
		if closeAt < 0 {
			return route{}, fmt.Errorf("%q: unclosed {", s)
		}
		if open > 0 {
			rt.parts = append(rt.parts, part{text: rest[:open]})
		}
		rt.parts = append(rt.parts, part{text: rest[open+1 : open+closeAt], claim: true})
		rest = rest[open+closeAt+1:]
	}
	return rt, nil
}

// statement is one IAM policy statement of the generated document.
type statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   string   `json:"Action"`
	Resource []string `json:"Resource"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// policy builds the IAM policy of a verified token: one statement per rule that applies to the
// token's scopes, in rule order. Without rules it allows everything the authorizer guards on
// this Api and stage; with rules of which none applies it holds no statement (implicit deny).
func (m *Mapper) policy(req *authorizer.Request, claims map[string]any, held []string) []byte {
	prefix := "arn:aws:execute-api:" + req.Region + ":" + req.AccountID + ":" + req.APIID + "/" + req.Stage + "/"
	doc := document{Version: "2012-10-17", Statement: []statement{}}
	if len(m.rules) == 0 {
		doc.Statement = append(doc.Statement, statement{Sid: "AllowGuardedRoutes", Effect: "Allow",
			Action: "execute-api:Invoke", Resource: []string{prefix + "*"}})
	}
	for i, r := range m.rules {
		if len(r.scopes) > 0 && !anyOf(held, r.scopes) {
			continue
		}
		st := statement{Sid: fmt.Sprintf("Rule%d", i), Effect: r.effect, Action: "execute-api:Invoke"}
		for _, rt := range r.routes {
			if res, ok := rt.resource(prefix, claims); ok {
				st.Resource = append(st.Resource, res)
			}
		}
		if len(st.Resource) > 0 {
			doc.Statement = append(doc.Statement, st)
		}
	}
	b, _ := json.Marshal(doc) // strings and slices only: cannot fail
	return b
}

// resource renders the route for the token; a claim that is missing or not a string drops the
// route rather than widening it.
func (rt route) resource(prefix string, claims map[string]any) (string, bool) {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(rt.method)
	b.WriteByte('/')
	for _, p := range rt.parts {
		if !p.claim {
			b.WriteString(p.text)
			continue
		}
		v, ok := claims[p.text].(string)
		if !ok || v == "" {
			return "", false
		}
		b.WriteString(escapeIAM(v))
	}
	return b.String(), true
}

// escapeIAM makes a claim value literal inside an IAM resource pattern.
func escapeIAM(v string) string {
	return strings.NewReplacer("$", "${$}", "*", "${*}", "?", "${?}").Replace(v)
}

func anyOf(held, wanted []string) bool {
	for _, w := range wanted {
		for _, h := range held {
			if h == w {
				return true
			}
		}
	}
	return false
}
