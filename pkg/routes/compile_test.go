package routes

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileRejects(t *testing.T) {
	tests := []struct {
		name   string
		specs  []Spec
		index  int
		field  string
		reason string
	}{
		{"empty path", []Spec{get("")}, 0, "path", "empty"},
		{"relative path", []Spec{get("pets")}, 0, "path", `must start with "/"`},
		{"trailing slash", []Spec{get("/pets/")}, 0, "path", "empty segment"},
		{"double slash", []Spec{get("/pets//toys")}, 0, "path", "empty segment"},
		{"partial template prefix", []Spec{get("/a{b}")}, 0, "path", "partial template"},
		{"partial template suffix", []Spec{get("/{b}c")}, 0, "path", "partial template"},
		{"unclosed brace", []Spec{get("/{b")}, 0, "path", "partial template"},
		{"nested braces", []Spec{get("/{{b}}")}, 0, "path", "partial template"},
		{"stray closing brace", []Spec{get("/b}")}, 0, "path", "partial template"},
		{"empty parameter name", []Spec{get("/{}")}, 0, "path", "invalid parameter name"},
		{"empty greedy name", []Spec{get("/{+}")}, 0, "path", "invalid parameter name"},
		{"hyphen in parameter name", []Spec{get("/{pet-id}")}, 0, "path", "invalid parameter name"},
		{"dot in parameter name", []Spec{get("/{pet.id}")}, 0, "path", "invalid parameter name"},
		{"plus inside parameter name", []Spec{get("/{a+b}")}, 0, "path", "invalid parameter name"},
		{"greedy not last", []Spec{get("/{proxy+}/x")}, 0, "path", "must be the last segment"},
		{"duplicate parameter", []Spec{get("/{id}/x/{id}")}, 0, "path", "appears twice"},
		{"duplicate parameter greedy", []Spec{get("/{id}/{id+}")}, 0, "path", "appears twice"},
		{"dot segment literal", []Spec{get("/a/../b")}, 0, "path", "dot segment"},
		{"dot segment with matrix literal", []Spec{get("/a/.;x")}, 0, "path", "dot segment"},
		{"percent in literal", []Spec{get("/a%20b")}, 0, "path", "percent-escape"},
		{"query in path", []Spec{get("/pets?x=1")}, 0, "path", "query or fragment"},
		{"fragment in path", []Spec{get("/pets#x")}, 0, "path", "query or fragment"},
		{"wildcard literal", []Spec{get("/pets/*")}, 0, "path", "wildcard"},
		{"backslash literal", []Spec{get("/a\\b")}, 0, "path", "backslash"},
		{"control character literal", []Spec{get("/a\tb")}, 0, "path", "control character"},
		{"invalid UTF-8 literal", []Spec{get("/a\xff")}, 0, "path", "invalid UTF-8"},
		{"no methods", []Spec{with("/pets")}, 0, "methods", "no methods"},
		{"$default with one method", []Spec{with(Default, "GET")}, 0, "methods", "serves every method"},
		{"second $default", []Spec{with(Default), get("/pets"), anyRoute(Default)}, 2, "path", "second $default route (the first is routes[0])"},
		{"lower-case method", []Spec{with("/pets", "get")}, 0, "methods", `unknown method "get"`},
		{"unknown method", []Spec{with("/pets", "FETCH")}, 0, "methods", `unknown method "FETCH"`},
		{"duplicate method", []Spec{with("/pets", "GET", "POST", "GET")}, 0, "methods", `duplicate method "GET"`},
		{"duplicate ANY", []Spec{with("/pets", "ANY", "ANY")}, 0, "methods", `duplicate method "ANY"`},
		{"same template and method", []Spec{get("/pets"), with("/pets", "POST", "GET")}, 1, "path", "same route as routes[0]"},
		{"same shape, other parameter name", []Spec{get("/pets/{id}"), get("/pets/{petId}")}, 1, "path", "same route as routes[0]"},
		{"same greedy shape", []Spec{anyRoute("/a/{proxy+}"), anyRoute("/a/{rest+}")}, 1, "path", "for ANY"},
		{"same root", []Spec{get("/"), get("/")}, 1, "path", "same route as routes[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, errs := Compile(tt.specs)
			if table != nil {
				t.Errorf("Compile returned a table with errors %v", errs)
			}
			if len(errs) != 1 {
				t.Fatalf("Compile errors = %v, want exactly one", errs)
			}
			var e *Error
			if !errors.As(errs[0], &e) {
				t.Fatalf("error %v is not a *routes.Error", errs[0])
			}
			if e.Index != tt.index || e.Field != tt.field || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("error = %+v, want index %d field %s reason containing %q", e, tt.index, tt.field, tt.reason)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec
	}{
		{"root", []Spec{get("/")}},
		{"same template, other methods", []Spec{get("/pets"), with("/pets", "POST", "PUT")}},
		{"ANY beside explicit methods of one template", []Spec{anyRoute("/pets"), get("/pets")}},
		{"ANY and explicit in one spec", []Spec{with("/pets", "ANY", "GET")}},
		{"literal beside param", []Spec{get("/pets/mine"), get("/pets/{id}")}},
		{"param names may differ between routes at one depth", []Spec{get("/pets/{id}"), get("/pets/{petId}/food")}},
		{"param beside greedy", []Spec{get("/pets/{id}"), get("/pets/{proxy+}")}},
		{"semicolon literal", []Spec{get("/a;v=1")}},
		{"dots inside a literal", []Spec{get("/v1.2/..a")}},
		{"every method", []Spec{with("/x", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "ANY")}},
		{"no routes", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if table, errs := Compile(tt.specs); len(errs) > 0 || table == nil {
				t.Fatalf("Compile = %v, %v; want a table", table, errs)
			}
		})
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	specs := []Spec{
		get("/ok"),
		with("pets", "get"),          // path and methods
		get("/ok"),                   // conflict with 0
		with("/x", "FETCH", "PURGE"), // two unknown methods
	}
	_, errs := Compile(specs)
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{
		`routes[1].path: must start with "/"`,
		`routes[1].methods: unknown method "get": use DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT or ANY (upper-case)`,
		`routes[2].path: same route as routes[0] ("/ok") for GET: it can never match`,
		`routes[3].methods: unknown method "FETCH": use DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT or ANY (upper-case)`,
		`routes[3].methods: unknown method "PURGE": use DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT or ANY (upper-case)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Compile errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
