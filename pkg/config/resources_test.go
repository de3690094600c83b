package config

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// res makes a Resource of kind in ns/name with spec given as JSON; previous, when not "", is
// the spec of its last accepted version.
func res(kind, ns, name, spec, previous string) Resource {
	doc := func(spec string) []byte {
		b, _ := json.Marshal(map[string]any{
			"apiVersion": v1alpha1.APIVersion, "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec":     json.RawMessage(spec),
		})
		return b
	}
	r := Resource{Kind: kind, Namespace: ns, Name: name, Current: doc(spec)}
	if previous != "" {
		r.Previous = doc(previous)
	}
	return r
}

const (
	tokenResourceSpec = `{"type":"TOKEN","identitySource":"method.request.header.Authorization","http":{"url":"http://authz.example/"}}`
	badTTLSpec        = `{"type":"TOKEN","identitySource":"method.request.header.Authorization","resultTtlInSeconds":-1,"http":{"url":"http://authz.example/"}}`
	apiTemplate       = `{"region":"us-east-1","accountId":"123456789012","apiId":"a1","stage":"prod","hosts":[HOSTS],"defaultAuthorizer":"AUTH","routes":[{"path":"PATH","methods":["GET"]}]}`
)

func apiSpec(hosts, authorizer, path string) string {
	return strings.NewReplacer("HOSTS", hosts, "AUTH", authorizer, "PATH", path).Replace(apiTemplate)
}

func TestBuildResources(t *testing.T) {
	tests := []struct {
		name      string
		resources []Resource
		serving   []Serving
		problems  []string // per resource: a substring of its problems, "" for none
		apis      []string // Apis in the snapshot
		auths     []string
	}{
		{
			name: "namespaced names, references within the namespace",
			resources: []Resource{
				res("Authorizer", "a", "tokens", tokenResourceSpec, ""),
				res("Authorizer", "b", "tokens", tokenResourceSpec, ""),
				res("Api", "a", "pets", apiSpec(`"a.example"`, "tokens", "/pets"), ""),
				res("Api", "b", "pets", apiSpec(`"b.example"`, "tokens", "/pets"), ""),
			},
			serving:  []Serving{ServingCurrent, ServingCurrent, ServingCurrent, ServingCurrent},
			problems: []string{"", "", "", ""},
			apis:     []string{"a/pets", "b/pets"},
			auths:    []string{"a/tokens", "b/tokens"},
		},
		{
			name: "an Api cannot use an Authorizer of another namespace",
			resources: []Resource{
				res("Authorizer", "a", "tokens", tokenResourceSpec, ""),
				res("Api", "b", "pets", apiSpec(`"b.example"`, "tokens", "/pets"), ""),
			},
			serving:  []Serving{ServingCurrent, ServingNone},
			problems: []string{"", `spec.defaultAuthorizer: no Authorizer named "tokens"`},
			auths:    []string{"a/tokens"},
		},
		{
			name: "invalid update: the last accepted version serves, the others are untouched",
			resources: []Resource{
				res("Authorizer", "a", "tokens", badTTLSpec, tokenResourceSpec),
				res("Api", "a", "pets", apiSpec(`"a.example"`, "tokens", "pets"), apiSpec(`"a.example"`, "tokens", "/pets")),
				res("Api", "a", "vets", apiSpec(`"v.example"`, "tokens", "/vets"), ""),
			},
			serving:  []Serving{ServingPrevious, ServingPrevious, ServingCurrent},
			problems: []string{"spec.resultTtlInSeconds: -1 out of range", `spec.routes[0].path: "pets": must start with "/"`, ""},
			apis:     []string{"a/pets", "a/vets"},
			auths:    []string{"a/tokens"},
		},
		{
			name: "invalid and never accepted: left out, and so are the Apis that need it",
			resources: []Resource{
				res("Authorizer", "a", "tokens", badTTLSpec, ""),
				res("Api", "a", "pets", apiSpec(`"a.example"`, "tokens", "/pets"), ""),
			},
			serving:  []Serving{ServingNone, ServingNone},
			problems: []string{"spec.resultTtlInSeconds", `spec.defaultAuthorizer: Authorizer "tokens" is not accepted: see its status`},
		},
		{
			name: "a host claimed twice: the older Api keeps it",
			resources: []Resource{
				res("Authorizer", "a", "tokens", tokenResourceSpec, ""),
				res("Api", "a", "old", apiSpec(`"x.example"`, "tokens", "/pets"), ""),
				res("Api", "a", "new", apiSpec(`"x.example"`, "tokens", "/pets"), ""),
			},
			serving:  []Serving{ServingCurrent, ServingCurrent, ServingNone},
			problems: []string{"", "", `spec.hosts[0]: host "x.example" is also claimed by Api/a/old`},
			apis:     []string{"a/old"},
			auths:    []string{"a/tokens"},
		},
		{
			name: "a fallback that no longer fits is left out too",
			resources: []Resource{
				res("Api", "a", "pets", apiSpec(`"a.example"`, "gone", "/pets"), apiSpec(`"a.example"`, "gone", "/pets")),
			},
			serving:  []Serving{ServingNone},
			problems: []string{`no Authorizer named "gone"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, results, err := BuildResources(context.Background(), tt.resources, BuildOptions{Source: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			for i, r := range results {
				if r.Serving != tt.serving[i] {
					t.Errorf("%s: serving %d, want %d (problems %v)", tt.resources[i].ID(), r.Serving, tt.serving[i], r.Problems)
				}
				got := r.Problems.Error()
				if tt.problems[i] == "" && got != "" || !strings.Contains(got, tt.problems[i]) {
					t.Errorf("%s: problems %q, want %q", tt.resources[i].ID(), got, tt.problems[i])
				}
			}
			var apis, auths []string
			for _, a := range snap.Apis() {
				apis = append(apis, a.Name)
			}
			for _, a := range snap.Authorizers() {
				auths = append(auths, a.Name)
			}
			if strings.Join(apis, ",") != strings.Join(tt.apis, ",") || strings.Join(auths, ",") != strings.Join(tt.auths, ",") {
				t.Errorf("snapshot has Apis %q and Authorizers %q, want %q and %q", apis, auths, tt.apis, tt.auths)
			}
		})
	}
}

// TestBuildResourcesProblemsReadLikeValidate: a resource's problems are the field and reason
// `portcullis validate` prints for the same document in a file, and the whole error names the
// resource as namespace/name with no file.
func TestBuildResourcesProblemsReadLikeValidate(t *testing.T) {
	r := res("Api", "team", "pets", apiSpec(`"a.example"`, "NONE", "pets"), "")
	_, results, err := BuildResources(context.Background(), []Resource{r}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fileDoc := "apiVersion: portcullis.dev/v1alpha1\nkind: Api\nmetadata: {name: pets}\nspec: " + apiSpec(`"a.example"`, "NONE", "pets") + "\n"
	_, ferr := LoadBytes("pets.yaml", []byte(fileDoc))
	var fileErrs ErrorList
	if ferr == nil || !asList(ferr, &fileErrs) || len(fileErrs) != 1 || len(results[0].Problems) != 1 {
		t.Fatalf("file errors %v, resource problems %v: want one each", ferr, results[0].Problems)
	}
	got, want := results[0].Problems[0], fileErrs[0]
	if got.Field != want.Field || got.Reason != want.Reason {
		t.Errorf("resource problem %q, file problem %q: want the same field and reason", got, want)
	}
	if s := got.Error(); s != `Api/team/pets: spec.routes[0].path: "pets": must start with "/" (or be $default)` {
		t.Errorf("resource problem prints %q", s)
	}
}

func asList(err error, out *ErrorList) bool {
	l, ok := err.(ErrorList)
	*out = l
	return ok
}
