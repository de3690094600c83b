// Package routes matches a request's method and decoded path to an Api's route the way Amazon API
// Gateway does: a literal segment beats a {param}, which beats a greedy {proxy+}; an explicit
// method beats ANY. Route templates are compiled once into a segment trie (Compile); matching
// walks it without allocating (Table.MatchInto).
package routes

// Spec is one route as configured: a path template and its methods (upper-case, or ANY).
type Spec struct {
	Path    string
	Methods []string
}

// Match is the route a request matched.
type Match struct {
	// Index is the position of the matched route in the specs given to Compile.
	Index int
	// Resource is the route's template, e.g. /pets/{petId}: API Gateway's resource.
	Resource string
	// Params are the template's values, in template order: API Gateway's pathParameters. A
	// greedy parameter is named without its "+" and holds the rest of the path, e.g. proxy=a/b.
	Params []Param
}

// Param is one path parameter: its name in the template and its decoded value.
type Param struct {
	Name, Value string
}

// ParamMap returns the parameters as a map, or nil when there are none (API Gateway sends
// pathParameters as null then).
func (m Match) ParamMap() map[string]string {
	if len(m.Params) == 0 {
		return nil
	}
	out := make(map[string]string, len(m.Params))
	for _, p := range m.Params {
		out[p.Name] = p.Value
	}
	return out
}
