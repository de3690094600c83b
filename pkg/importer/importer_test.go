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
	"github.com/portcullis-dev/portcullis/test/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under test/import")

// corpusDir holds our own definitions (written/, bad/) and the golden outputs of all of them.
const corpusDir = "../../test/import"

// publicSets are the corpus's definitions written by others: SAM's and SAM CLI's test data and
// the API Gateway developer guide's templates (test/import/SOURCES.md names each file's
// repository, commit, path and licence). They are data this repository does not carry: they are
// read from $PORTCULLIS_IMPORT_CORPUS, else from import-corpus/ in the shared folder beside the
// checkout, laid out as test/import is (sam/, samcli/, awsdocs/). Their golden outputs live here.
var publicSets = []string{"sam", "samcli", "awsdocs"}

// publicCorpus is the folder holding the public sets, or "" when there is none.
func publicCorpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PORTCULLIS_IMPORT_CORPUS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(t), "..", "shared", "import-corpus")
	}
	if fi, err := os.Stat(filepath.Join(dir, "sam")); err != nil || !fi.IsDir() {
		return ""
	}
	return dir
}

// needPublicCorpus returns the public corpus's folder, or skips the test without it.
func needPublicCorpus(t *testing.T) string {
	t.Helper()
	dir := publicCorpus(t)
	if dir == "" {
		t.Skip("the public import corpus is not here: set PORTCULLIS_IMPORT_CORPUS, or place it in ../shared/import-corpus (test/import/SOURCES.md lists its files)")
	}
	return dir
}

// goldenOf is where the golden output of input file lives: beside it for our own definitions,
// under test/import/SET/ for the public ones.
func goldenOf(file string) string {
	set, name := filepath.Base(filepath.Dir(file)), filepath.Base(file)
	return filepath.Join(corpusDir, set, name+".golden")
}

// asInCorpus writes paths of the public corpus as they would read under test/import, so that a
// golden output does not depend on where the corpus is.
func asInCorpus(b []byte, public string) []byte {
	if public == "" {
		return b
	}
	return bytes.ReplaceAll(b, []byte(public), []byte(corpusDir))
}

// baseOpts are the flags every golden import is made with: region and account, nothing else,
// so that what a template leaves open shows in the goldens as <unresolved: ...>.
var baseOpts = Options{Region: "us-east-1", AccountID: "123456789012"}

// corpus lists the inputs that import (the bad/ ones are tested apart).
func corpus(t *testing.T) []string {
	t.Helper()
	var files []string
	dirs := []string{filepath.Join(corpusDir, "written")}
	if public := publicCorpus(t); public != "" {
		for _, set := range publicSets {
			dirs = append(dirs, filepath.Join(public, set))
		}
	} else {
		t.Log("the public import corpus is not here: only our own definitions are imported (test/import/SOURCES.md)")
	}
	for _, dir := range dirs {
		matches, err := filepath.Glob(filepath.Join(dir, "*"))
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
	if len(files) < 5 {
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
		public := publicCorpus(t)
		name := filepath.Join(filepath.Base(filepath.Dir(file)), filepath.Base(file))
		t.Run(name, func(t *testing.T) {
			res, err := Import([]string{file}, baseOpts)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			got := asInCorpus(render(t, res), public)
			golden := goldenOf(file)
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
	inputs, err := filepath.Glob(filepath.Join(needPublicCorpus(t), "sam", "*.yaml"))
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
	file := filepath.Join(needPublicCorpus(t), "samcli", "cfn-apigw-v1.yaml")
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
