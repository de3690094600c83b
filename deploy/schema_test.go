package deploy

import (
	"fmt"
	"strings"
	"testing"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// validateDocument checks one document against the CRD of its kind the way the API server
// does for a custom resource: fields the schema does not know are what it would prune (and
// strict field validation refuses), then the OpenAPI value validation. It returns every
// problem found.
func validateDocument(doc []byte, schemas map[string]*structuralschema.Structural) []string {
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return []string{err.Error()}
	}
	// The API server's JSON decoding: integers stay int64, which the schema's integer type needs.
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return []string{err.Error()}
	}
	kind, _ := obj["kind"].(string)
	if obj["apiVersion"] != v1alpha1.APIVersion {
		return []string{fmt.Sprintf("apiVersion %v, want %s", obj["apiVersion"], v1alpha1.APIVersion)}
	}
	s, ok := schemas[kind]
	if !ok {
		return []string{fmt.Sprintf("no CRD for kind %q", kind)}
	}
	var problems []string
	pruned := runtime.DeepCopyJSON(obj)
	unknown := pruning.PruneWithOptions(pruned, s, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		problems = append(problems, fmt.Sprintf("%s: unknown field %q", kind, path))
	}
	result := validate.NewSchemaValidator(s.ToKubeOpenAPI(), nil, "", strfmt.Default).Validate(obj)
	for _, err := range result.Errors {
		problems = append(problems, fmt.Sprintf("%s: %v", kind, err))
	}
	return problems
}

// checkProblems wants no problem when invalid is empty, else one mentioning invalid.
func checkProblems(t *testing.T, problems []string, invalid string) {
	t.Helper()
	if invalid == "" {
		if len(problems) > 0 {
			t.Errorf("refused by the CRD schema:\n%s", strings.Join(problems, "\n"))
		}
		return
	}
	for _, p := range problems {
		if strings.Contains(p, invalid) {
			return
		}
	}
	t.Errorf("want a problem mentioning %q, got %q", invalid, problems)
}
