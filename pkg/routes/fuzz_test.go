package routes

import (
	"slices"
	"strings"
	"testing"
)

// fuzzSpecs overlap on purpose, so that precedence, backtracking and method fallback all matter.
var fuzzSpecs = []Spec{
	get("/"),
	with("/pets", "GET", "POST"),
	anyRoute("/pets/{id}"),
	get("/pets/mine"),
	get("/pets/mine/toys"),
	with("/pets/{id}/food", "GET", "PUT"),
	anyRoute("/pets/{id}/{proxy+}"),
	with("/{proxy+}", "DELETE"),
	anyRoute("/a/{b}/c"),
	get("/a/b/{c}"),
	anyRoute("/a/{b}/{c+}"),
}

// referenceMatch is a deliberately naive matcher: it ranks every matching spec by its segment
// kinds (literal < param < greedy, position by position) and then explicit method before ANY.
func referenceMatch(specs []Spec, method, path string) int {
	best, bestKinds, bestMethod := -1, []int(nil), 0
	for i, s := range specs {
		segs, reason := parseTemplate(s.Path)
		if reason != "" {
			continue
		}
		kinds, ok := referenceKinds(segs, path)
		if !ok {
			continue
		}
		methodRank := 1
		switch {
		case slices.Contains(s.Methods, method):
			methodRank = 0
		case !slices.Contains(s.Methods, "ANY"):
			continue
		}
		c := slices.Compare(kinds, bestKinds)
		if best < 0 || c < 0 || c == 0 && methodRank < bestMethod {
			best, bestKinds, bestMethod = i, kinds, methodRank
		}
	}
	return best
}

func referenceKinds(segs []segment, path string) ([]int, bool) {
	if path == "" || path[0] != '/' {
		return nil, false
	}
	if path == "/" {
		return nil, len(segs) == 0
	}
	parts := strings.Split(path[1:], "/")
	var kinds []int
	for i, s := range segs {
		if s.kind == greedy {
			rest := parts[i:]
			return append(kinds, 2), len(rest) > 0 && !slices.Contains(rest, "")
		}
		if i >= len(parts) || parts[i] == "" {
			return nil, false
		}
		switch {
		case s.kind == param:
			kinds = append(kinds, 1)
		case s.text == parts[i]:
			kinds = append(kinds, 0)
		default:
			return nil, false
		}
	}
	return kinds, len(segs) == len(parts)
}

// substitute puts the match's values into its template.
func substitute(t *testing.T, m Match) string {
	t.Helper()
	if m.Resource == "/" {
		return "/"
	}
	values := m.ParamMap()
	parts := strings.Split(m.Resource[1:], "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "+")
			v, ok := values[name]
			if !ok || v == "" {
				t.Fatalf("match %+v has no value for {%s}", m, name)
			}
			parts[i] = v
		}
	}
	return "/" + strings.Join(parts, "/")
}

func checkMatch(t *testing.T, table *Table, specs []Spec, method, path string) {
	t.Helper()
	m, ok := table.Match(method, path)
	want := referenceMatch(specs, method, path)
	if !ok {
		if want >= 0 {
			t.Fatalf("Match(%s %q) = no match, reference says routes[%d] %s", method, path, want, specs[want].Path)
		}
		return
	}
	if m.Index != want {
		t.Fatalf("Match(%s %q) = routes[%d] %s, reference says %d", method, path, m.Index, m.Resource, want)
	}
	if got := substitute(t, m); got != path {
		t.Fatalf("Match(%s %q) = %s with %v, which rebuilds %q", method, path, m.Resource, m.Params, got)
	}
}

func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"GET", "/"}, {"GET", "/pets/mine/food"}, {"POST", "/pets/mine"}, {"DELETE", "/x/y"},
		{"GET", "/a/b/c"}, {"PATCH", "/a/b/c/d"}, {"GET", "/pets/"}, {"GET", "//"},
	} {
		f.Add(seed[0], seed[1])
	}
	table := mustCompile(f, fuzzSpecs)
	f.Fuzz(func(t *testing.T, method, path string) {
		checkMatch(t, table, fuzzSpecs, method, path)
	})
}

// FuzzCompile compiles a fuzzed template beside fixed routes: Compile must never panic, and a
// table it builds must match as the reference does.
func FuzzCompile(f *testing.F) {
	f.Add("/pets/{id}", "GET", "/pets/1")
	f.Add("/{proxy+}", "ANY", "/a/b")
	f.Add("/a{b}", "GET", "/ab")
	f.Add("/x/{p+}/y", "GET", "/x/1/y")
	f.Fuzz(func(t *testing.T, template, method, path string) {
		specs := []Spec{get("/pets/mine"), anyRoute("/pets/{petId}/food"), {Path: template, Methods: []string{method}}}
		table, errs := Compile(specs)
		if len(errs) > 0 {
			for _, err := range errs {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Compile error %v is not a *routes.Error", err)
				}
			}
			return
		}
		checkMatch(t, table, specs, "GET", path)
		checkMatch(t, table, specs, method, path)
	})
}
