package routes

import "strings"

// Match finds the route for a request's method (upper-case) and decoded path. It allocates the
// Params slice when the route has parameters; the hot path uses MatchInto.
func (t *Table) Match(method, path string) (Match, bool) {
	return t.MatchInto(method, path, nil)
}

// MatchInto is Match with the parameters appended to params[:0], so a caller that passes a buffer
// with room (a [4]Param array's slice covers nearly every API) matches without allocating.
//
// Precedence follows API Gateway: at each segment a literal beats a {param}, which beats a
// {proxy+}; at one template, an explicit method beats ANY. The method is part of the match: when
// the most specific template has no route for the method, less specific templates are tried
// (with routes GET /pets/mine and ANY /pets/{id}, POST /pets/mine matches the second), as API
// Gateway HTTP APIs do. An empty segment ("//", a trailing "/") matches nothing, so such paths
// are unmatched; a greedy parameter takes one or more non-empty segments. A $default route
// matches what nothing else does, such paths included, with no parameters.
func (t *Table) MatchInto(method, path string, params []Param) (Match, bool) {
	if t == nil || path == "" || path[0] != '/' {
		return Match{}, false
	}
	code := methodCode(method)
	var r *route
	if path == "/" {
		r = t.root.end.lookup(code)
	} else {
		r = t.root.walk(path[1:], code)
	}
	if r == nil {
		if t.fallback == nil {
			return Match{}, false
		}
		return Match{Index: t.fallback.index, Resource: Default, Params: params[:0]}, true
	}
	return Match{Index: r.index, Resource: r.template, Params: r.appendParams(path, params[:0])}, true
}

// walk matches rest, the path after the slash that leads to n, trying the alternatives at each
// depth in precedence order. Each node is visited at most once per match: a node sits at one
// depth, and the path has one segment per depth.
func (n *node) walk(rest string, code int) *route {
	seg, tail, more := strings.Cut(rest, "/")
	if seg != "" {
		if child := n.literals[seg]; child != nil {
			if r := child.next(tail, more, code); r != nil {
				return r
			}
		}
		if n.param != nil {
			if r := n.param.next(tail, more, code); r != nil {
				return r
			}
		}
	}
	if n.greedy != nil && greedyValue(rest) {
		return n.greedy.lookup(code)
	}
	return nil
}

func (n *node) next(tail string, more bool, code int) *route {
	if !more {
		return n.end.lookup(code)
	}
	return n.walk(tail, code)
}

// greedyValue reports whether rest is one or more non-empty segments.
func greedyValue(rest string) bool {
	return rest != "" && rest[0] != '/' && rest[len(rest)-1] != '/' && !strings.Contains(rest, "//")
}

// lookup returns the route serving the method at this endpoint, the explicit one before ANY.
func (e *endpoint) lookup(code int) *route {
	if e == nil {
		return nil
	}
	if code >= 0 {
		if r := e.byMethod[code]; r != nil {
			return r
		}
	}
	return e.any
}

// appendParams reads the template's values out of a path the route matched.
func (r *route) appendParams(path string, dst []Param) []Param {
	rest := path[1:]
	for _, s := range r.segs {
		if s.kind == greedy {
			return append(dst, Param{Name: s.text, Value: rest})
		}
		seg, tail, _ := strings.Cut(rest, "/")
		if s.kind == param {
			dst = append(dst, Param{Name: s.text, Value: seg})
		}
		rest = tail
	}
	return dst
}
