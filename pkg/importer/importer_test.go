package importer

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under test/import")

// corpusDir holds the definitions written by others (see its SOURCES.md) and ours.
const corpusDir = "../../test/import"

// baseOpts are the flags every golden import is made with: region and account, nothing else,
// so that what a template leaves open shows in the goldens as <unresolved: ...>.
var baseOpts = Options{Region: "us-east-1", AccountID: "123456789012"}

// corpus lists the inputs that import (the bad/ ones are tested apart).
func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"sam", "samcli", "awsdocs", "written"} {
		matches, err := filepath.Glob(filepath.Join(corpusDir, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if fi, err := os.Stat(m); err != nil || fi.IsDir() {
				continue // refs/: files other definitions point at
			}
			if !strings.HasSuffix(m, ".golden") && !strings.HasSuffix(m, ".md") {
				files = append(files, m)
			}
		}
	}
	if len(files) < 20 {
		t.Fatalf("corpus has %d files; test/import is missing", len(files))
	}
	return files
}

// render is what a golden file holds: the documents, then the report and whether the output
// validates as `portcullis validate` checks it.
func render(t *testing.T, res *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(res.YAML)
	b.WriteString("# ---- report ----\n")
	for _, f := range res.Report {
		fmt.Fprintf(&b, "# %s\n", f)
	}
	if errs := validate(t, res.YAML); len(errs) > 0 {
		fmt.Fprintf(&b, "# ---- validate: %d errors ----\n", len(errs))
		for _, e := range errs {
			fmt.Fprintf(&b, "# %s\n", e)
		}
	} else {
		b.WriteString("# ---- validate: ok ----\n")
	}
	return b.Bytes()
}

// validate runs the output through the same checks as `portcullis validate`.
func validate(t *testing.T, data []byte) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{p}, ValidateOnly: true})
	if err == nil {
		return nil
	}
	return strings.Split(strings.ReplaceAll(err.Error(), p, "out.yaml"), "\n")
}

func TestGoldenCorpus(t *testing.T) {
	for _, file := range corpus(t) {
		t.Run(strings.TrimPrefix(file, corpusDir+"/"), func(t *testing.T) {
			res, err := Import([]string{file}, baseOpts)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			got := render(t, res)
			golden := file + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/importer -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output differs from %s (go test ./pkg/importer -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

// TestDeterministic imports every file twice, and all of them at once twice: same bytes.
func TestDeterministic(t *testing.T) {
	files := corpus(t)
	first, err := Import(files, baseOpts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := Import(files, baseOpts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.YAML, again.YAML) || !slices.Equal(first.Report, again.Report) {
			t.Fatal("two imports of the same files differ")
		}
	}
	names := map[string]bool{}
	for _, a := range first.Authorizers {
		if names["Authorizer/"+a.Name] {
			t.Fatalf("authorizer name %s written twice", a.Name)
		}
		names["Authorizer/"+a.Name] = true
	}
}

// TestSAMTranslatorPairs imports SAM's own translator inputs and the CloudFormation SAM
// generates from them: both must give the same Apis, routes and authorizers.
func TestSAMTranslatorPairs(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(corpusDir, "sam", "*.yaml"))
	if err != nil || len(inputs) < 8 {
		t.Fatalf("SAM pairs: %v %v", inputs, err)
	}
	opts := baseOpts
	opts.CognitoAsJWT = true
	for _, in := range inputs {
		out := strings.TrimSuffix(in, ".yaml") + ".output.json"
		t.Run(filepath.Base(in), func(t *testing.T) {
			a, err := Import([]string{in}, opts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Import([]string{out}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if ga, gb := summary(a), summary(b); ga != gb {
				t.Fatalf("SAM input and its CloudFormation differ:\n--- %s\n%s\n--- %s\n%s", in, ga, out, gb)
			}
		})
	}
}

// summary describes what an import means, independent of names and order: per Api, its
// protocol, stage and routes, each route with its authorizer's spec written out.
func summary(r *Result) string {
	specs := map[string]string{}
	for _, a := range r.Authorizers {
		specs[a.Name] = canonical(a.Spec)
	}
	var apis []string
	for _, api := range r.Apis {
		var routes []string
		for _, rt := range api.Spec.Routes {
			auth := rt.Authorizer
			if s, ok := specs[auth]; ok {
				auth = s
			}
			routes = append(routes, fmt.Sprintf("  %s %v -> %s %v", rt.Path, rt.Methods, auth, rt.AuthorizationScopes))
		}
		slices.Sort(routes)
		var responses []string
		for typ, gr := range api.Spec.GatewayResponses {
			responses = append(responses, fmt.Sprintf("  %s %d %v %v", typ, gr.StatusCode, gr.ResponseParameters, gr.ResponseTemplates))
		}
		slices.Sort(responses)
		apis = append(apis, fmt.Sprintf("%s %s stage=%s\n%s\n%s", api.Name, api.Spec.Protocol, api.Spec.Stage,
			strings.Join(routes, "\n"), strings.Join(responses, "\n")))
	}
	slices.Sort(apis)
	return strings.Join(apis, "\n")
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		file string
		line int
		want string
	}{
		{"not-a-definition.yaml", 1, "neither an OpenAPI 3 or Swagger 2 definition"},
		{"broken.yaml", 5, "not valid YAML or JSON"},
		{"broken.json", 7, "not valid YAML or JSON"},
		{"dangling-ref.yaml", 14, `$ref "#/components/securitySchemes/missing" goes nowhere`},
		{"ref-loop.json", 5, "$ref loop: #/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A"},
		{"template-body-ref-loop.yaml", 16, "$ref loop"},
		{"list.yaml", 1, "top level is not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join(corpusDir, "bad", tt.file)
			res, err := Import([]string{filepath.Join(corpusDir, "written", "rest-export.yaml"), file}, baseOpts)
			var ie *InputError
			if !errors.As(err, &ie) || res != nil {
				t.Fatalf("Import = %v, %v; want an InputError and nothing written", res, err)
			}
			if ie.File != file || ie.Line != tt.line || !strings.Contains(ie.Msg, tt.want) {
				t.Fatalf("error %q at %s:%d, want %q at %s:%d", ie.Msg, ie.File, ie.Line, tt.want, file, tt.line)
			}
		})
	}
	if _, err := Import([]string{filepath.Join(corpusDir, "bad", "no-such-file.yaml")}, baseOpts); err == nil {
		t.Fatal("a missing file imported")
	}
}

func TestNeverOpensARoute(t *testing.T) {
	// Every route of every import is guarded: by an authorizer written, DENY, or NONE only where
	// the source itself has no security.
	res, err := Import(corpus(t), baseOpts)
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, a := range res.Authorizers {
		written[a.Name] = true
	}
	for _, api := range res.Apis {
		for _, r := range api.Spec.Routes {
			switch {
			case r.Authorizer == "":
				t.Errorf("Api %s route %s has no authorizer", api.Name, r.Path)
			case r.Authorizer == v1alpha1.AuthorizerDeny, r.Authorizer == v1alpha1.AuthorizerNone, written[r.Authorizer]:
			default:
				t.Errorf("Api %s route %s names %q, which is not written", api.Name, r.Path, r.Authorizer)
			}
		}
	}
}

func TestSetResolvesEverything(t *testing.T) {
	file := filepath.Join(corpusDir, "samcli", "cfn-apigw-v1.yaml")
	opts := baseOpts
	opts.Set = map[string]string{"RestApiLambdaAuth": "abc123", "AuthorizerFunction.Arn": "arn:aws:lambda:us-east-1:123456789012:function:auth"}
	res, err := Import([]string{file}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if errs := validate(t, res.YAML); len(errs) > 0 {
		t.Fatalf("with --set the output should validate:\n%s\n%s", strings.Join(errs, "\n"), res.YAML)
	}
	if res.Unresolved != 0 || bytes.Contains(res.YAML, []byte(unresolvedMark)) {
		t.Fatalf("unresolved values left:\n%s", res.YAML)
	}
	without, err := Import([]string{file}, baseOpts)
	if err != nil || without.Unresolved != 3 {
		t.Fatalf("without --set: %d unresolved values (%v), want 3 (two function ARNs, the API ID)", without.Unresolved, err)
	}
	opts.Stage = "beta"
	res, err = Import([]string{file}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Apis[0].Spec.Stage != "beta" {
		t.Fatalf("--stage did not override the template's stage: %q", res.Apis[0].Spec.Stage)
	}
}

func TestDNSLabel(t *testing.T) {
	n := names{}
	for _, tt := range []struct{ in, want string }{
		{"MyLambdaTokenAuth", "mylambdatokenauth"},
		{"my_Auth--Fn!", "my-auth-fn"},
		{"MyLambdaTokenAuth", "mylambdatokenauth-2"},
		{"mylambdatokenauth", "mylambdatokenauth-3"},
		{"$$$", "authorizer"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{strings.Repeat("a", 70), strings.Repeat("a", 61) + "-2"},
	} {
		if got := n.take(tt.in, "authorizer"); got != tt.want {
			t.Errorf("take(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIntrinsics(t *testing.T) {
	opts := baseOpts
	opts.Set = map[string]string{"Stage": "prod", "Fn.Arn": "arn:aws:lambda:us-east-1:123456789012:function:f", "IsProd": "true"}
	res, err := Import([]string{filepath.Join(corpusDir, "written", "intrinsics.yaml")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Authorizers) != 2 {
		t.Fatalf("authorizers: %+v", res.Authorizers)
	}
	tok := res.Authorizers[0].Spec
	if tok.Lambda.FunctionName != "arn:aws:lambda:us-east-1:123456789012:function:f" || tok.IdentitySource[0] != "method.request.header.X-Token" {
		t.Errorf("token authorizer: %+v %+v", tok, tok.Lambda)
	}
	api := res.Apis[0].Spec
	if api.Stage != "prod" || api.APIID != unresolved("Api") {
		t.Errorf("stage %q apiId %q", api.Stage, api.APIID)
	}
	if api.StageVariables["env"] != "prod-us-east-1" || api.StageVariables["region"] != "us-east-1" || api.StageVariables["joined"] != "a,b" ||
		api.StageVariables["picked"] != "b" || api.StageVariables["mapped"] != "large" || api.StageVariables["literal"] != "${NotAVar}" {
		t.Errorf("stage variables %v", api.StageVariables)
	}
}
