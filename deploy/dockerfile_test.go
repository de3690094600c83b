package deploy

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// readDockerfile returns the instructions of the repository's Dockerfile. It knows comments,
// blank lines and backslash continuations, which is all the Dockerfile uses; no heredocs.
func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if body, more := strings.CutSuffix(line, `\`); more {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatal("Dockerfile ends in a continuation")
	}
	return out
}

// finalStage is the instructions after the last FROM: what the image runs.
func finalStage(ins []instruction) []instruction {
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].cmd == "FROM" {
			return ins[i:]
		}
	}
	return nil
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := readDockerfile(t)
	final := finalStage(ins)
	cases := []struct {
		name  string
		stage []instruction
		cmd   string
		want  *regexp.Regexp
	}{
		{name: "builds with Go 1.26", stage: ins, cmd: "FROM", want: regexp.MustCompile(`^(--platform=\S+ )?golang:1\.26\S* AS build$`)},
		{name: "static binary", stage: ins, cmd: "RUN", want: regexp.MustCompile(`CGO_ENABLED=0 .*go build `)},
		{name: "reproducible paths, stripped, versioned", stage: ins, cmd: "RUN", want: regexp.MustCompile(`go build .*-trimpath -ldflags "-s -w -X main\.version=\$\{VERSION\}" .*\./cmd/portcullis$`)},
		// Without the tag go-control-plane's generated marshalers are not compiled in and the
		// codec falls back to reflection (see pkg/extauthz/wire/codec.go).
		{name: "vtprotobuf marshalers compiled in", stage: ins, cmd: "RUN", want: regexp.MustCompile(`go build -tags vtprotobuf `)},
		{name: "runs on distroless static, non-root", stage: final, cmd: "FROM", want: regexp.MustCompile(`^gcr\.io/distroless/static\S*:nonroot$`)},
		{name: "runs as the nonroot user", stage: final, cmd: "USER", want: regexp.MustCompile(`^(65532(:65532)?|nonroot(:nonroot)?)$`)},
		{name: "exposes gRPC and admin ports", stage: final, cmd: "EXPOSE", want: regexp.MustCompile(`^50051 8181$`)},
		{name: "the binary is the entrypoint", stage: final, cmd: "ENTRYPOINT", want: regexp.MustCompile(`^\["/portcullis"\]$`)},
		{name: "serve is the default command", stage: final, cmd: "CMD", want: regexp.MustCompile(`^\["serve"\]$`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, in := range tc.stage {
				if in.cmd == tc.cmd && tc.want.MatchString(in.args) {
					return
				}
			}
			t.Errorf("no %s matching %s", tc.cmd, tc.want)
		})
	}
}

// TestVersionVariableExists checks the -X main.version target: the linker silently ignores a
// variable that does not exist, and the image would report no version.
func TestVersionVariableExists(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "portcullis", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			if isStringVar(decl, "version") {
				return
			}
		}
	}
	t.Error("package main of cmd/portcullis has no string variable version for -X main.version")
}

// isStringVar reports whether decl declares name as a package variable the linker's -X can
// set: a string, given by type or by a string literal.
func isStringVar(decl ast.Decl, name string) bool {
	gen, ok := decl.(*ast.GenDecl)
	if !ok || gen.Tok != token.VAR {
		return false
	}
	for _, spec := range gen.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, n := range vs.Names {
			if n.Name != name {
				continue
			}
			if id, ok := vs.Type.(*ast.Ident); ok {
				return id.Name == "string"
			}
			if i < len(vs.Values) {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				return ok && lit.Kind == token.STRING
			}
		}
	}
	return false
}

// TestDockerignoreKeepsTheBuildInputs checks .dockerignore leaves in the build context every
// file `go build ./cmd/portcullis` reads, and keeps out what must not be sent.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	patterns := readDockerignore(t, filepath.Join(root, ".dockerignore"))
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/portcullis")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, abs := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			t.Fatal(err)
		}
		needed = append(needed, filepath.ToSlash(rel))
	}
	for _, f := range needed {
		if ignored(f, patterns) {
			t.Errorf(".dockerignore leaves out %s, which the image build needs", f)
		}
	}
	for _, f := range []string{".git/config", "bin/portcullis", "engine.test"} {
		if !ignored(f, patterns) {
			t.Errorf(".dockerignore sends %s to the builder", f)
		}
	}
}

// readDockerignore returns the patterns of a .dockerignore, cleaned as Docker cleans them. It
// refuses the forms ignored does not evaluate, so the test never judges a pattern wrongly.
func readDockerignore(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(strings.TrimPrefix(line, "**/"), "**") {
			t.Fatalf(".dockerignore pattern %q: this test evaluates plain and leading-**/ patterns only", line)
		}
		patterns = append(patterns, strings.TrimPrefix(path.Clean("/"+line), "/"))
	}
	return patterns
}

// ignored reports whether Docker leaves rel out of the build context: a pattern matches the
// path or one of its parent directories; a leading **/ matches at any depth.
func ignored(rel string, patterns []string) bool {
	for p := rel; p != "." && p != "/"; p = path.Dir(p) {
		for _, pat := range patterns {
			if matchPattern(pat, p) {
				return true
			}
		}
	}
	return false
}

func matchPattern(pattern, p string) bool {
	rest, anyDepth := strings.CutPrefix(pattern, "**/")
	if !anyDepth {
		ok, _ := path.Match(pattern, p)
		return ok
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		if ok, _ := path.Match(rest, strings.Join(parts[i:], "/")); ok {
			return true
		}
	}
	return false
}

func TestDockerignoreMatching(t *testing.T) {
	cases := []struct {
		name     string
		pattern  string
		path     string
		excluded bool
	}{
		{name: "top-level directory takes its files", pattern: "bin", path: "bin/portcullis", excluded: true},
		{name: "top-level name is anchored", pattern: "test", path: "pkg/test/x.go", excluded: false},
		{name: "leading **/ matches at any depth", pattern: "**/testdata", path: "pkg/arn/testdata/fuzz/x", excluded: true},
		{name: "leading **/ matches at the root", pattern: "**/*.test", path: "engine.test", excluded: true},
		{name: "star stays within a segment", pattern: "*.md", path: "docs/a.md", excluded: false},
		{name: "unrelated file kept", pattern: "deploy", path: "pkg/config/demo/demo.yaml", excluded: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ignored(tc.path, []string{tc.pattern}); got != tc.excluded {
				t.Errorf("ignored(%q, %q) = %v, want %v", tc.path, tc.pattern, got, tc.excluded)
			}
		})
	}
}
