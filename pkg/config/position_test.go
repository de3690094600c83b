package config

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

func TestPosition(t *testing.T) {
	set, err := Load("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	const authorizers, apis = "testdata/valid/10-authorizers.yaml", "testdata/valid/20-apis.yml"
	petstore, tenants := set.Apis[0], set.Authorizer("tenants")
	tests := []struct {
		name     string
		obj      metav1.Object
		field    string
		wantFile string
		wantLine int
	}{
		{"route field in a flow mapping", petstore, "spec.routes[2].path", apis, 17},
		{"list item", petstore, "spec.routes[3].methods[0]", apis, 18},
		{"map key in brackets", petstore, "spec.stageVariables[env]", apis, 12},
		{"absent field falls back to its parent", petstore, "spec.cors.allowPreflight", apis, 4},
		{"index past the end falls back to the list", petstore, "spec.routes[9].path", apis, 14},
		{"empty path is the document", petstore, "", apis, 1},
		{"secret source in a header", set.Authorizer("tokens"), "spec.http.headers[x-api-key].valueFrom.env", authorizers, 14},
		{"header given with a dot", set.Authorizer("tokens"), "spec.http.headers.x-api-key", authorizers, 14},
		{"defaulted field gives its block", set.Authorizer("admins"), "spec.jwt.algorithms[0]", authorizers, 25},
		{"item of a comma-separated string", tenants, "spec.identitySource[1]", authorizers, 37},
		{"second document of a file", tenants, "metadata.name", authorizers, 34},
		{"object not from the set", &v1alpha1.Api{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, "spec", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file, line := set.Position(tt.obj, tt.field)
			if file != tt.wantFile || line != tt.wantLine {
				t.Fatalf("Position(%s) = %s:%d, want %s:%d", tt.field, file, line, tt.wantFile, tt.wantLine)
			}
		})
	}
}

func TestSetErrorf(t *testing.T) {
	set, err := Load("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	got := set.Errorf(set.Apis[0], "spec.routes[1].path", "%q overlaps %q", "/pets/{petId}", "/pets/{id}").Error()
	want := `testdata/valid/20-apis.yml:16: Api/petstore: spec.routes[1].path: "/pets/{petId}" overlaps "/pets/{id}"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
