package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/importer"
)

// runImport converts API Gateway definitions (OpenAPI, Swagger, SAM, CloudFormation) into
// Authorizer and Api documents. Exit 0: the output validates; 1: it holds unresolved values or
// does not validate; 2: an input could not be read (nothing is written).
func runImport(ctx context.Context, args []string, io stdio) int {
	fs := newFlagSet("import", io)
	var opts importer.Options
	sets := setFlag{}
	fs.StringVar(&opts.Stage, "stage", "", "stage written to every Api (overrides the source)")
	fs.StringVar(&opts.Region, "region", "", "region (AWS::Region) written to every Api")
	fs.StringVar(&opts.AccountID, "account-id", "", "account ID (AWS::AccountId) written to every Api")
	fs.StringVar(&opts.APIID, "api-id", "", "API ID written to every Api")
	fs.Var(sets, "set", "NAME=VALUE for a template parameter, !Ref, !GetAtt or ${...} name, or condition (repeatable)")
	fs.BoolVar(&opts.CognitoAsJWT, "cognito-as-jwt", false, "write Cognito user pool authorizers as JWT authorizers on the pool's issuer")
	out := fs.String("o", "", "write the documents to this file instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: portcullis import [flags] FILE...\n\nReads API Gateway definitions and writes Authorizer and Api documents.\n\nFlags:")
		fs.PrintDefaults()
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return flagsExit(err)
	}
	if len(files) == 0 {
		fmt.Fprintln(io.err, "portcullis import: give at least one file")
		return 2
	}
	opts.Set = sets
	res, err := importer.Import(files, opts)
	if err != nil {
		var ie *importer.InputError
		if errors.As(err, &ie) {
			fmt.Fprintln(io.err, err)
		} else {
			fmt.Fprintf(io.err, "portcullis import: %v\n", err)
		}
		return 2
	}
	for _, f := range res.Report {
		fmt.Fprintln(io.err, f)
	}
	if *out != "" {
		if err := os.WriteFile(*out, res.YAML, 0o644); err != nil {
			fmt.Fprintf(io.err, "portcullis import: %v\n", err)
			return 2
		}
	} else if _, err := io.out.Write(res.YAML); err != nil {
		return 2
	}
	return checkImported(ctx, res.YAML, *out, io)
}

// checkImported validates the output as `portcullis validate` would: 0 when it is valid, 1 with
// every error otherwise (unresolved values included).
func checkImported(ctx context.Context, data []byte, name string, io stdio) int {
	dir, err := os.MkdirTemp("", "portcullis-import-")
	if err != nil {
		fmt.Fprintf(io.err, "portcullis import: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "imported.yaml")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		fmt.Fprintf(io.err, "portcullis import: %v\n", err)
		return 1
	}
	_, err = config.Build(ctx, config.BuildOptions{Paths: []string{tmp}, ValidateOnly: true})
	if err == nil {
		return 0
	}
	if name == "" {
		name = "<stdout>"
	}
	fmt.Fprintf(io.err, "portcullis import: the output does not validate yet:\n%s\n", strings.Join(withoutEchoes(strings.Split(strings.ReplaceAll(err.Error(), tmp, name), "\n")), "\n"))
	return 1
}

// withoutEchoes drops the errors about a field that is already reported as unresolved: an
// unresolved region is also "not a region", which says nothing new.
func withoutEchoes(lines []string) []string {
	unresolved := map[string]bool{}
	for _, l := range lines {
		if i := strings.Index(l, ": unresolved value "); i >= 0 {
			unresolved[l[:i]] = true
		}
	}
	out := lines[:0]
	for _, l := range lines {
		i := strings.LastIndex(l, ": ")
		for i > 0 && !unresolved[l[:i]] {
			i = strings.LastIndex(l[:i], ": ")
		}
		if i > 0 && !strings.Contains(l, ": unresolved value ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// parseInterleaved parses flags given before, between or after the files.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return files, nil
		}
		files = append(files, args[0])
		args = args[1:]
	}
}

// setFlag collects --set NAME=VALUE; a value may hold commas and '='.
type setFlag map[string]string

func (s setFlag) String() string { return "" }

func (s setFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	s[name] = value
	return nil
}
