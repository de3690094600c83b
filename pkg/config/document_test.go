package config

import (
	"slices"
	"strings"
	"testing"
)

func TestDocuments(t *testing.T) {
	valid := header + tokenSpec
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"empty documents skipped", "---\n---\n# only a comment\n---\n" + valid + "---\n", nil},
		{"empty file", "", nil},
		{"syntax error with its line", valid + "---\nkind: [\n",
			[]string{"c.yaml:9: invalid YAML: did not find expected node content"}},
		{"documents before a syntax error still checked", strings.Replace(valid, "type: TOKEN", "type: TOKN", 1) + "---\na: b: c\n",
			[]string{`c.yaml:5: Authorizer/a: spec.type: unknown type "TOKN": want TOKEN, REQUEST or JWT`,
				"c.yaml:9: invalid YAML: mapping values are not allowed in this context"}},
		{"document not a mapping", "- a\n- b\n", []string{"c.yaml:1: want a mapping with apiVersion, kind, metadata and spec"}},
		{"kind missing", "apiVersion: portcullis.dev/v1alpha1\nmetadata: {name: a}\n",
			[]string{"c.yaml:1: kind: required: want Authorizer or Api"}},
		{"kind unknown", "apiVersion: portcullis.dev/v1alpha1\nkind: Gateway\nmetadata: {name: a}\n",
			[]string{`c.yaml:2: Gateway/a: kind: unknown kind "Gateway": want Authorizer or Api`}},
		{"apiVersion wrong", strings.Replace(valid, "portcullis.dev/v1alpha1", "portcullis.dev/v1", 1),
			[]string{`c.yaml:1: Authorizer/a: apiVersion: want "portcullis.dev/v1alpha1", got "portcullis.dev/v1"`}},
		{"apiVersion missing", strings.Replace(valid, "apiVersion: portcullis.dev/v1alpha1\n", "", 1),
			[]string{`c.yaml:1: Authorizer/a: apiVersion: want "portcullis.dev/v1alpha1", got ""`}},
		{"spec missing", "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: a}\n",
			[]string{"c.yaml:1: Authorizer/a: spec: required"}},
		{"name missing", "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {}\nspec:\n" + tokenSpec,
			[]string{"c.yaml:3: Authorizer: metadata.name: required"}},
		{"name not a DNS label", strings.Replace(valid, "name: a", "name: A.b", 1),
			[]string{`c.yaml:3: Authorizer/A.b: metadata.name: "A.b": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadErrors(t, tt.doc); !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
