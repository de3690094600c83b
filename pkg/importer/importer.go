// Package importer reads Amazon API Gateway definitions (OpenAPI 3 and Swagger 2 exports with
// API Gateway's extensions, AWS SAM templates, CloudFormation templates) and writes the
// equivalent Authorizer and Api documents of api/v1alpha1.
//
// It never opens a route: a route guarded by something Portcullis cannot run (a Cognito user
// pool without --cognito-as-jwt, AWS_IAM, an API key alone, an unknown authorizer) gets the
// reserved DENY authorizer, and the report says why. Every input kind has its own file
// (openapi.go, swagger.go, sam.go, cloudformation.go); intrinsics.go resolves CloudFormation's
// intrinsic functions, naming.go makes DNS-1123 names, report.go collects what was not carried
// over, writer.go writes the YAML stream.
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options are the command line's answers to what the sources leave open.
type Options struct {
	// Stage, Region, AccountID and APIID fill in what the source lacks and override what it has.
	Stage, Region, AccountID, APIID string
	// Set resolves template parameters, pseudo-parameters, !Ref, !GetAtt and ${...} names, spelled
	// as in the source: X for ${X} and !Ref X, Logical.Attr for !GetAtt Logical.Attr.
	Set map[string]string
	// CognitoAsJWT writes Cognito user pool authorizers as JWT authorizers on the pool's issuer.
	CognitoAsJWT bool
	// ReadFile reads inputs and the files they name (DefinitionUri, external $refs); os.ReadFile
	// when nil.
	ReadFile func(string) ([]byte, error)
}

// Result is what one import produced.
type Result struct {
	// YAML is the stream of Authorizer and Api documents, Authorizers first.
	YAML []byte
	// Report lists, one per line, everything not carried over or guessed.
	Report []Finding
	// Unresolved counts the values written as <unresolved: NAME>.
	Unresolved int
	// Authorizers and Apis are the documents written, in output order.
	Authorizers []*Authorizer
	Apis        []*Api
}

// InputError is an input that cannot be read at all (not a definition, broken YAML or JSON, a
// $ref that goes nowhere or loops): nothing is written.
type InputError struct {
	File string
	Line int
	Msg  string
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func inputErr(file string, line int, format string, args ...any) *InputError {
	return &InputError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Import reads every file and converts them together: authorizer names are unique across the
// whole output, and Apis are written in the order their files were given.
func Import(files []string, opts Options) (*Result, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	im := &importer{opts: opts, report: &reporter{}}
	for _, file := range files {
		if err := im.importFile(file); err != nil {
			return nil, err
		}
	}
	return im.finish()
}

// importer holds what the files read so far have produced.
type importer struct {
	opts   Options
	report *reporter
	apis   []*apiDef
}

// importFile reads one file and adds its Apis.
func (im *importer) importFile(file string) error {
	data, err := im.opts.ReadFile(file)
	if err != nil {
		return &InputError{File: file, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
	}
	root, err := parseYAML(file, data)
	if err != nil {
		return err
	}
	switch kind := detect(root); kind {
	case kindOpenAPI3, kindSwagger2:
		api, err := im.openAPIFile(file, root, kind)
		if err != nil {
			return err
		}
		im.apis = append(im.apis, api)
	case kindTemplate:
		apis, err := im.template(file, root)
		if err != nil {
			return err
		}
		im.apis = append(im.apis, apis...)
	default:
		return inputErr(file, root.Line, "neither an OpenAPI 3 or Swagger 2 definition (no openapi or swagger field) nor a SAM or CloudFormation template (no Resources)")
	}
	return nil
}

// unwrapPathError drops the path os.ReadFile repeats in its error.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseYAML reads YAML or JSON (JSON is YAML) into the mapping at the root of its only document.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, inputErr(file, yamlErrorLine(err), "not valid YAML or JSON: %s", yamlErrorText(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, inputErr(file, extra.Line, "holds more than one YAML document; give one definition per file")
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		line := 1
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line
		}
		return nil, inputErr(file, line, "neither an OpenAPI 3 or Swagger 2 definition nor a SAM or CloudFormation template: the top level is not a mapping")
	}
	return doc.Content[0], nil
}

type inputKind int

const (
	kindUnknown inputKind = iota
	kindOpenAPI3
	kindSwagger2
	kindTemplate
)

func detect(root *yaml.Node) inputKind {
	switch {
	case child(root, "openapi") != nil:
		return kindOpenAPI3
	case child(root, "swagger") != nil:
		return kindSwagger2
	case child(root, "Resources") != nil:
		return kindTemplate
	}
	return kindUnknown
}

// finish names everything and writes the stream.
func (im *importer) finish() (*Result, error) {
	out := build(im.apis, im.opts, im.report)
	data, err := write(out)
	if err != nil {
		return nil, err
	}
	out.YAML = data
	out.Unresolved = bytes.Count(data, []byte(unresolvedMark))
	out.Report = im.report.sorted()
	return out, nil
}

// displayName is how a file is named in the report: as given on the command line.
func displayName(file string) string { return filepath.ToSlash(file) }

// sortedKeys returns the keys of a mapping node in source order, without duplicates.
func sortedKeys(n *yaml.Node) []string {
	var keys []string
	for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// child returns the value of key in a mapping node, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// keyNode returns the key node of key in a mapping node, or nil: its line is where the entry
// starts.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// lineOf returns the line of the entry at path below n (keys of mappings, indexes of lists as
// decimal strings), or the line of the deepest node found on the way.
func lineOf(n *yaml.Node, path ...string) int {
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, p := range path {
		if n == nil {
			break
		}
		switch n.Kind {
		case yaml.MappingNode:
			if k := keyNode(n, p); k != nil {
				line = k.Line
			}
			n = child(n, p)
		case yaml.SequenceNode:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

// yamlErrorLine finds the line in a yaml.v3 error ("yaml: line 3: ...").
func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "line %d", &line) // no number: line stays 0, below
	}
	if line == 0 {
		line = 1
	}
	return line
}

// yamlErrorText is a yaml.v3 error without its "yaml: line N:" prefix.
func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			return rest
		}
	}
	return msg
}
