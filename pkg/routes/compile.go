package routes

import "slices"

// Table is a compiled, immutable set of routes, safe for concurrent use.
type Table struct {
	root   node
	routes []route
	// fallback is the $default route: any method and path no other route matches.
	fallback *route
}

// Default is the path of the route that matches any method and path no other route matches, as
// an API Gateway HTTP API's $default route does. It is also that route's resource.
const Default = "$default"

// route is one compiled spec.
type route struct {
	index    int
	template string
	segs     []segment
}

// node is a point in the segment trie: the routes that end here and the ways to go deeper.
type node struct {
	literals map[string]*node
	param    *node
	greedy   *endpoint // routes whose greedy parameter starts at this depth
	end      *endpoint // routes that end at this depth
}

// endpoint holds, per method, the route serving it at one node.
type endpoint struct {
	byMethod [numMethods]*route
	any      *route
}

// Compile checks every spec and builds the route table. It returns every problem found, each an
// *Error naming the spec and field; the table is nil when there is any.
func Compile(specs []Spec) (*Table, []error) {
	t := &Table{routes: make([]route, len(specs))}
	var errs []error
	seen := make(map[string]int) // shape and method -> index of the first route holding it
	for i, spec := range specs {
		if spec.Path == Default {
			if err := t.setFallback(i, specs); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		segs, reason := parseTemplate(spec.Path)
		if reason != "" {
			errs = append(errs, pathErr(i, "%s", reason))
		}
		methodErrs := checkMethods(i, spec.Methods)
		errs = append(errs, methodErrs...)
		if reason != "" || len(methodErrs) > 0 {
			continue
		}
		if err := claimShape(seen, i, specs, segs); err != nil {
			errs = append(errs, err)
			continue
		}
		t.routes[i] = route{index: i, template: spec.Path, segs: segs}
		t.insert(&t.routes[i], spec.Methods)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// setFallback makes specs[index] the $default route: its methods, if listed, must be ANY alone,
// and an Api has at most one.
func (t *Table) setFallback(index int, specs []Spec) error {
	if m := specs[index].Methods; len(m) > 0 && (len(m) != 1 || m[0] != methodAny) {
		return methodsErr(index, "a $default route serves every method: leave methods out or write [ANY]")
	}
	if t.fallback != nil {
		return pathErr(index, "second $default route (the first is routes[%d]): it can never match", t.fallback.index)
	}
	t.routes[index] = route{index: index, template: Default}
	t.fallback = &t.routes[index]
	return nil
}

// checkMethods reports every unknown or repeated method of one spec.
func checkMethods(index int, methods []string) []error {
	if len(methods) == 0 {
		return []error{methodsErr(index, "no methods: name at least one, or ANY")}
	}
	var errs []error
	for j, m := range methods {
		switch {
		case m != methodAny && methodCode(m) < 0:
			errs = append(errs, methodsErr(index, "unknown method %q: use %s (upper-case)", m, methodList))
		case slices.Contains(methods[:j], m):
			errs = append(errs, methodsErr(index, "duplicate method %q", m))
		}
	}
	return errs
}

// claimShape records the spec's shape for each of its methods, or reports the earlier route that
// already serves one of them: the later route could never match.
func claimShape(seen map[string]int, index int, specs []Spec, segs []segment) error {
	key := shape(segs)
	for _, m := range specs[index].Methods {
		if first, ok := seen[key+" "+m]; ok {
			return pathErr(index, "same route as routes[%d] (%q) for %s: it can never match",
				first, specs[first].Path, m)
		}
	}
	for _, m := range specs[index].Methods {
		seen[key+" "+m] = index
	}
	return nil
}

// insert adds r to the trie for each of its (already checked) methods.
func (t *Table) insert(r *route, methods []string) {
	n := &t.root
	ep := &n.end
	for _, s := range r.segs {
		switch s.kind {
		case literal:
			if n.literals == nil {
				n.literals = make(map[string]*node)
			}
			child := n.literals[s.text]
			if child == nil {
				child = &node{}
				n.literals[s.text] = child
			}
			n = child
		case param:
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		case greedy:
			ep = &n.greedy
			continue
		}
		ep = &n.end
	}
	if *ep == nil {
		*ep = &endpoint{}
	}
	for _, m := range methods {
		(*ep).set(m, r)
	}
}

func (e *endpoint) set(method string, r *route) {
	if method == methodAny {
		e.any = r
		return
	}
	e.byMethod[methodCode(method)] = r
}
