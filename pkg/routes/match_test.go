package routes

import (
	"maps"
	"slices"
	"testing"
)

func mustCompile(t testing.TB, specs []Spec) *Table {
	t.Helper()
	table, errs := Compile(specs)
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	return table
}

func anyRoute(path string) Spec          { return Spec{Path: path, Methods: []string{"ANY"}} }
func get(path string) Spec               { return Spec{Path: path, Methods: []string{"GET"}} }
func with(path string, m ...string) Spec { return Spec{Path: path, Methods: m} }

type matchCase struct {
	name         string
	method, path string
	want         int // spec index, -1 for no match
	params       []Param
}

func runMatches(t *testing.T, specs []Spec, cases []matchCase) {
	t.Helper()
	table := mustCompile(t, specs)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := table.Match(tc.method, tc.path)
			if tc.want < 0 {
				if ok {
					t.Fatalf("Match(%s %q) = routes[%d] %s, want no match", tc.method, tc.path, m.Index, m.Resource)
				}
				return
			}
			if !ok {
				t.Fatalf("Match(%s %q) = no match, want routes[%d] %s", tc.method, tc.path, tc.want, specs[tc.want].Path)
			}
			if m.Index != tc.want || m.Resource != specs[tc.want].Path {
				t.Fatalf("Match(%s %q) = routes[%d] %s, want routes[%d] %s",
					tc.method, tc.path, m.Index, m.Resource, tc.want, specs[tc.want].Path)
			}
			if !slices.Equal(m.Params, tc.params) {
				t.Errorf("Match(%s %q) params = %v, want %v", tc.method, tc.path, m.Params, tc.params)
			}
		})
	}
}

func TestMatchPrecedence(t *testing.T) {
	specs := []Spec{
		get("/pets/{id}"),          // 0
		get("/pets/mine"),          // 1
		get("/pets/{proxy+}"),      // 2
		get("/pets/mine/toys"),     // 3
		get("/pets/{id}/food"),     // 4
		get("/{proxy+}"),           // 5
		get("/pets/{id}/{proxy+}"), // 6
	}
	runMatches(t, specs, []matchCase{
		{"literal beats param", "GET", "/pets/mine", 1, nil},
		{"param beats greedy", "GET", "/pets/42", 0, []Param{{"id", "42"}}},
		{"literal deeper path", "GET", "/pets/mine/toys", 3, nil},
		{"literal that fails deeper backtracks to param", "GET", "/pets/mine/food", 4, []Param{{"id", "mine"}}},
		{"param that fails deeper falls to nested greedy", "GET", "/pets/42/walks", 6, []Param{{"id", "42"}, {"proxy", "walks"}}},
		{"nested greedy takes several segments", "GET", "/pets/42/a/b", 6, []Param{{"id", "42"}, {"proxy", "a/b"}}},
		{"root greedy catches other paths", "GET", "/stores/1/x", 5, []Param{{"proxy", "stores/1/x"}}},
		{"root greedy catches a one-segment path", "GET", "/pets", 5, []Param{{"proxy", "pets"}}},
		{"root greedy does not match root", "GET", "/", -1, nil},
	})
}

func TestMatchMethods(t *testing.T) {
	specs := []Spec{
		anyRoute("/pets"),            // 0
		with("/pets", "GET", "POST"), // 1
		get("/pets/mine"),            // 2
		anyRoute("/pets/{id}"),       // 3
		with("/admin", "DELETE"),     // 4
		anyRoute("/{proxy+}"),        // 5
	}
	runMatches(t, specs, []matchCase{
		{"explicit method beats ANY", "GET", "/pets", 1, nil},
		{"second explicit method", "POST", "/pets", 1, nil},
		{"ANY serves methods not named", "PUT", "/pets", 0, nil},
		{"ANY serves unknown methods", "PROPFIND", "/pets", 0, nil},
		{"ANY serves OPTIONS", "OPTIONS", "/pets", 0, nil},
		{"method missing on literal falls back to param", "POST", "/pets/mine", 3, []Param{{"id", "mine"}}},
		{"method missing falls back to greedy", "GET", "/admin", 5, []Param{{"proxy", "admin"}}},
		{"explicit method on literal", "DELETE", "/admin", 4, nil},
		{"methods are case-sensitive: request methods arrive upper-case", "get", "/pets/mine", 3, []Param{{"id", "mine"}}},
	})
}

func TestMatchNoANYFallback(t *testing.T) {
	runMatches(t, []Spec{get("/pets"), with("/pets/{id}", "GET", "DELETE")}, []matchCase{
		{"no route for method", "POST", "/pets", -1, nil},
		{"no route for unknown method", "PURGE", "/pets/1", -1, nil},
		{"second method of a spec", "DELETE", "/pets/1", 1, []Param{{"id", "1"}}},
	})
}

func TestMatchGreedyAndShape(t *testing.T) {
	specs := []Spec{
		get("/"),            // 0
		get("/x/{proxy+}"),  // 1
		get("/pets"),        // 2
		get("/a/{b}/c/{d}"), // 3
	}
	runMatches(t, specs, []matchCase{
		{"root matches only root", "GET", "/", 0, nil},
		{"greedy needs a segment", "GET", "/x", -1, nil},
		{"greedy does not match an empty rest", "GET", "/x/", -1, nil},
		{"greedy takes one segment", "GET", "/x/a", 1, []Param{{"proxy", "a"}}},
		{"greedy takes the rest", "GET", "/x/a/b/c", 1, []Param{{"proxy", "a/b/c"}}},
		{"greedy refuses a trailing empty segment", "GET", "/x/a/", -1, nil},
		{"greedy refuses an inner empty segment", "GET", "/x/a//b", -1, nil},
		{"greedy refuses a leading empty segment", "GET", "/x//a", -1, nil},
		{"trailing slash is not the route", "GET", "/pets/", -1, nil},
		{"duplicate slash is not merged", "GET", "//pets", -1, nil},
		{"literal is case-sensitive", "GET", "/Pets", -1, nil},
		{"two params in order", "GET", "/a/1/c/2", 3, []Param{{"b", "1"}, {"d", "2"}}},
		{"empty param value does not match", "GET", "/a//c/2", -1, nil},
		{"decoded values are taken as they are", "GET", "/a/my dog;v=1/c/caf\u00e9", 3, []Param{{"b", "my dog;v=1"}, {"d", "caf\u00e9"}}},
		{"relative path", "GET", "pets", -1, nil},
		{"empty path", "GET", "", -1, nil},
	})
}

func TestMatchEmptyTable(t *testing.T) {
	table := mustCompile(t, nil)
	if m, ok := table.Match("GET", "/"); ok {
		t.Errorf("empty table matched %+v", m)
	}
	var nilTable *Table
	if m, ok := nilTable.Match("GET", "/"); ok {
		t.Errorf("nil table matched %+v", m)
	}
}

func TestMatchIntoReusesBuffer(t *testing.T) {
	table := mustCompile(t, []Spec{get("/a/{b}/{c}")})
	var buf [4]Param
	m, ok := table.MatchInto("GET", "/a/1/2", buf[:0])
	if !ok || &m.Params[0] != &buf[0] {
		t.Fatalf("MatchInto did not fill the caller's buffer: %+v, %v", m, ok)
	}
	allocs := testing.AllocsPerRun(100, func() {
		table.MatchInto("GET", "/a/1/2", buf[:0])
	})
	if allocs != 0 {
		t.Errorf("MatchInto allocates %v times, want 0", allocs)
	}
}

func TestParamMap(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		want map[string]string
	}{
		{"no params is nil", Match{}, nil},
		{"params by name", Match{Params: []Param{{"id", "1"}, {"proxy", "a/b"}}}, map[string]string{"id": "1", "proxy": "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.m.ParamMap()
			if !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("ParamMap = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchDefaultRoute(t *testing.T) {
	specs := []Spec{
		get("/pets/{id}"),   // 0
		with(Default),       // 1
		anyRoute("/a/{p+}"), // 2
	}
	runMatches(t, specs, []matchCase{
		{"a route beats $default", "GET", "/pets/7", 0, []Param{{"id", "7"}}},
		{"another method of a route's path falls to $default", "POST", "/pets/7", 1, nil},
		{"root falls to $default", "GET", "/", 1, nil},
		{"unknown path falls to $default", "DELETE", "/x/y/z", 1, nil},
		{"empty segment falls to $default", "GET", "/pets//7", 1, nil},
		{"greedy still beats $default", "PATCH", "/a/b/c", 2, []Param{{"p", "b/c"}}},
		{"unknown method falls to $default", "PURGE", "/pets/7", 1, nil},
	})
	m, _ := mustCompile(t, specs).Match("GET", "/")
	if m.Resource != Default {
		t.Fatalf("resource = %q, want %q", m.Resource, Default)
	}
}

func TestMatchWithoutDefaultRoute(t *testing.T) {
	runMatches(t, []Spec{get("/pets")}, []matchCase{{"no $default, no match", "GET", "/", -1, nil}})
}
