package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/config/demo"
)

// TestGeneratedFilesAreCurrent runs controller-gen as `make generate` does, into a temporary
// directory, and compares: the committed CRDs and deepcopy functions must be what the types
// in api/v1alpha1 generate.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	t.Parallel()
	gen := controllerGenPath(t)
	root := repoRoot(t)
	out := t.TempDir()
	cmd := exec.Command(gen,
		"object", "paths=./api/...", "output:object:dir="+filepath.Join(out, "object"),
		"crd", "paths=./api/...", "output:crd:dir="+filepath.Join(out, "crds"))
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}
	cases := []struct {
		name      string
		fresh     string
		committed string
		glob      string
	}{
		{name: "CRDs", fresh: filepath.Join(out, "crds"), committed: filepath.Join(root, "deploy", "crds"), glob: "*.yaml"},
		{name: "deepcopy", fresh: filepath.Join(out, "object"), committed: filepath.Join(root, "api", "v1alpha1"), glob: "zz_generated.*.go"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fresh := globNames(t, tc.fresh, tc.glob)
			if len(fresh) == 0 {
				t.Fatal("controller-gen generated nothing")
			}
			if committed := globNames(t, tc.committed, tc.glob); !slices.Equal(fresh, committed) {
				t.Errorf("committed %q, generated %q: run make generate", committed, fresh)
			}
			for _, name := range fresh {
				want, _ := os.ReadFile(filepath.Join(tc.fresh, name))
				got, _ := os.ReadFile(filepath.Join(tc.committed, name))
				if !bytes.Equal(got, want) {
					t.Errorf("%s is stale: run make generate", filepath.Join(tc.committed, name))
				}
			}
		})
	}
}

func globNames(t *testing.T, dir, glob string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}

// loadCRDs decodes every committed CRD strictly and returns their structural schemas by kind.
func loadCRDs(t *testing.T) map[string]*structuralschema.Structural {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in deploy/crds: %v", err)
	}
	schemas := map[string]*structuralschema.Structural{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(raw, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		schemas[crd.Spec.Names.Kind] = structural(t, f, &crd)
	}
	return schemas
}

// structural checks what an API server checks of a CRD's shape and schema: the group and
// version of api/v1alpha1, and a structural schema, without which it refuses the CRD.
func structural(t *testing.T, file string, crd *apiextensionsv1.CustomResourceDefinition) *structuralschema.Structural {
	t.Helper()
	spec := crd.Spec
	if spec.Group != v1alpha1.Group || spec.Scope != apiextensionsv1.NamespaceScoped || len(spec.Versions) != 1 {
		t.Fatalf("%s: group %q scope %q with %d versions, want %s, Namespaced, one version", file, spec.Group, spec.Scope, len(spec.Versions), v1alpha1.Group)
	}
	v := spec.Versions[0]
	if v.Name != v1alpha1.Version || !v.Served || !v.Storage || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		t.Fatalf("%s: version %q served %v storage %v, want %s served and stored with a schema", file, v.Name, v.Served, v.Storage, v1alpha1.Version)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if errs := structuralschema.ValidateStructural(field.NewPath("openAPIV3Schema"), s); len(errs) > 0 {
		t.Fatalf("%s: the schema is not structural, an API server refuses it: %v", file, errs.ToAggregate())
	}
	return s
}

// TestChartCRDsAreTheGeneratedOnes: helm install applies the chart's crds/, which must be what
// make generate wrote into deploy/crds.
func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	generated := globNames(t, filepath.Join(root, "deploy", "crds"), "*.yaml")
	chart := globNames(t, filepath.Join(root, "deploy", "helm", "portcullis", "crds"), "*.yaml")
	if len(generated) == 0 || !slices.Equal(generated, chart) {
		t.Fatalf("chart crds/ holds %q, deploy/crds %q: run make generate", chart, generated)
	}
	for _, name := range generated {
		want, _ := os.ReadFile(filepath.Join(root, "deploy", "crds", name))
		got, _ := os.ReadFile(filepath.Join(root, "deploy", "helm", "portcullis", "crds", name))
		if !bytes.Equal(got, want) {
			t.Errorf("chart crds/%s differs from deploy/crds/%s: run make generate", name, name)
		}
	}
}

// TestCRDsServeStatus: the status subresource (so spec writes bump metadata.generation and
// Portcullis writes status without touching spec) and the printer columns kubectl shows.
func TestCRDsServeStatus(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "crds", "*.yaml"))
	columns := map[string][]string{
		v1alpha1.KindAuthorizer: {"Type", "Backend", "TTL", "Accepted", "Age"},
		v1alpha1.KindApi:        {"API ID", "Stage", "Accepted", "Age"},
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(raw, &crd); err != nil {
			t.Fatal(err)
		}
		v := crd.Spec.Versions[0]
		if v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("%s: no status subresource", f)
		}
		var names []string
		for _, c := range v.AdditionalPrinterColumns {
			names = append(names, c.Name)
		}
		if want := columns[crd.Spec.Names.Kind]; !slices.Equal(names, want) {
			t.Errorf("%s: printer columns %q, want %q", f, names, want)
		}
		if _, ok := v.Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"]; !ok {
			t.Errorf("%s: status.conditions not in the schema: the API server would prune it", f)
		}
	}
}

func TestCRDsAreStructural(t *testing.T) {
	t.Parallel()
	schemas := loadCRDs(t)
	for _, kind := range []string{v1alpha1.KindAuthorizer, v1alpha1.KindApi} {
		if schemas[kind] == nil {
			t.Errorf("no CRD for %s", kind)
		}
	}
	// identitySource is a StringOrList: a string or a list of strings. A structural schema can
	// name only one type, so it must leave the type open rather than refuse one of the forms.
	src := schemas[v1alpha1.KindAuthorizer].Properties["spec"].Properties["identitySource"]
	if src.Type != "" || !src.XPreserveUnknownFields {
		t.Errorf("identitySource schema: type %q, preserve-unknown-fields %v; want no type, preserved (a string or a list)", src.Type, src.XPreserveUnknownFields)
	}
}

// TestDocumentsMatchCRDs validates config documents against the CRD schemas as an API server
// does (`kubectl apply --validate=strict`): types, enums, bounds, required fields, and no field
// the schema does not know.
func TestDocumentsMatchCRDs(t *testing.T) {
	t.Parallel()
	schemas := loadCRDs(t)
	golden, err := os.ReadFile(chartConfigGolden)
	if err != nil {
		t.Fatal(err)
	}
	kubeExample, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "examples", "kubernetes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		stream  []byte
		invalid string // a problem that must be reported; empty: none may be
	}{
		{name: "chart default config", stream: golden},
		{name: "embedded demo config", stream: demo.Config},
		{name: "example resources for the Kubernetes source", stream: kubeExample},
		{name: "identitySource as one string", stream: []byte(tokenAuthorizer + "  identitySource: method.request.header.Authorization\n")},
		{name: "identitySource as a list", stream: []byte(requestAuthorizer + "  identitySource: [$request.header.X-Key, $request.querystring.tenant]\n")},
		{name: "unknown spec field", stream: []byte(tokenAuthorizer + "  identitySorce: method.request.header.Authorization\n"), invalid: `unknown field "spec.identitySorce"`},
		{name: "TTL over an hour", stream: []byte(tokenAuthorizer + "  resultTtlInSeconds: 7200\n"), invalid: "spec.resultTtlInSeconds in body should be less than or equal to 3600"},
		{name: "authorizer type outside the enum", stream: []byte("apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: a}\nspec: {type: OAUTH}\n"), invalid: "spec.type in body should be one of"},
		{name: "Api without routes", stream: []byte("apiVersion: portcullis.dev/v1alpha1\nkind: Api\nmetadata: {name: a}\nspec: {region: r, accountId: '1', apiId: a, stage: s}\n"), invalid: "spec.routes in body is required"},
		{name: "policy rule effect outside the enum", stream: []byte(jwtAuthorizer + "    policy: [{effect: allow, routes: ['* *']}]\n"), invalid: "spec.jwt.policy[0].effect in body should be one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs := splitDocuments(tc.stream)
			if len(docs) == 0 {
				t.Fatal("no documents")
			}
			var problems []string
			for _, doc := range docs {
				problems = append(problems, validateDocument(doc, schemas)...)
			}
			checkProblems(t, problems, tc.invalid)
		})
	}
}

// Authorizer heads the document cases extend with spec fields.
const (
	tokenAuthorizer   = "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: tokens}\nspec:\n  type: TOKEN\n  http: {url: 'http://authorizer:8080/', headers: {x-api-key: {valueFrom: {env: AUTHZ_KEY}}}}\n"
	requestAuthorizer = "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: requests}\nspec:\n  type: REQUEST\n  lambda: {functionName: authorizer, timeout: 2s}\n"
	jwtAuthorizer     = "apiVersion: portcullis.dev/v1alpha1\nkind: Authorizer\nmetadata: {name: jwt}\nspec:\n  type: JWT\n  jwt:\n    issuer: https://auth.example.com/\n"
)
