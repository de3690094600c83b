package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// document is one YAML document of a configuration file and the object decoded from it.
type document struct {
	file string
	root *yaml.Node // the top-level mapping
	kind string
	name string
	// ns is the namespace of a resource read from the Kubernetes API, which qualifies its name
	// and the names it refers to; "" for files, whose metadata.namespace means nothing.
	ns  string
	obj metav1.Object // *v1alpha1.Authorizer or *v1alpha1.Api
	// broken is set when the object could not be decoded at all: it is not validated, but its
	// name still counts for references and duplicates.
	broken bool
	// lost lists the fields whose values could not be decoded. Validation problems of these
	// fields, of their parts and of the fields holding them are not reported: they would only
	// be the decoding error again in other words ("spec.http: want a mapping" makes
	// "spec: no backend").
	lost []string
}

// isLost reports whether a problem at field may come from a value that could not be decoded.
func (d *document) isLost(field string) bool {
	within := func(inner, outer string) bool {
		return inner == outer || strings.HasPrefix(inner, outer+".") || strings.HasPrefix(inner, outer+"[")
	}
	for _, lost := range d.lost {
		if within(field, lost) || within(lost, field) {
			return true
		}
	}
	return false
}

// errorf makes an Error for a field of this document, at the line of that field or of its
// nearest parent present in the YAML.
func (d *document) errorf(field, format string, args ...any) *Error {
	return d.errorAt(lineOf(d.root, field), field, format, args...)
}

func (d *document) errorAt(line int, field, format string, args ...any) *Error {
	if d.file == "" {
		line = 0 // a resource from the API: its JSON has no lines worth showing
	}
	return &Error{File: d.file, Line: line, Kind: d.kind, Name: d.id(), Field: field, Reason: fmt.Sprintf(format, args...)}
}

// id is the name the object goes by in the snapshot, metrics and logs: its name, or
// "namespace/name" for a resource from the Kubernetes API.
func (d *document) id() string { return qualify(d.ns, d.name) }

// qualify names name of namespace ns: Apis refer to Authorizers of their own namespace.
func qualify(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// ref names the document for errors about another one: "Api/name (file:line)" for files,
// "Api/namespace/name" for resources.
func (d *document) ref() string {
	if d.file == "" {
		return d.kind + "/" + d.id()
	}
	return d.kind + "/" + d.name + " (" + d.file + ":" + strconv.Itoa(d.root.Line) + ")"
}

// yamlLine finds the line yaml.v3 puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseFile decodes every document of a file. A syntax error ends the file: the parser cannot
// resume after it.
func (l *loader) parseFile(f file) {
	if len(f.data) > maxFileSize {
		l.errs = append(l.errs, &Error{File: f.name, Reason: fmt.Sprintf("larger than %d bytes", maxFileSize)})
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(f.data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.errs = append(l.errs, syntaxError(f.name, err))
			return
		}
		if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
			continue // an empty document, e.g. after a trailing "---"
		}
		if d := l.parseDocument(f.name, doc.Content[0]); d != nil {
			l.docs = append(l.docs, d)
		}
	}
}

func syntaxError(file string, err error) *Error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Reason: "invalid YAML: " + m[2]}
	}
	return &Error{File: file, Reason: "invalid YAML: " + err.Error()}
}

// parseDocument reads the header of a document, then decodes and defaults its object. It returns
// nil for a document that is not one of our kinds.
func (l *loader) parseDocument(file string, root *yaml.Node) *document {
	d := &document{file: file, root: root, ns: l.ns}
	if root.Kind != yaml.MappingNode {
		l.errs = append(l.errs, d.errorAt(root.Line, "", "want a mapping with apiVersion, kind, metadata and spec"))
		return nil
	}
	d.kind = scalarAt(root, "kind")
	d.name = scalarAt(root, "metadata.name")
	var obj metav1.Object
	switch d.kind {
	case v1alpha1.KindAuthorizer:
		obj = &v1alpha1.Authorizer{}
	case v1alpha1.KindApi:
		obj = &v1alpha1.Api{}
	case "":
		l.errs = append(l.errs, d.errorf("kind", "required: want Authorizer or Api"))
		return nil
	default:
		l.errs = append(l.errs, d.errorAt(lineOf(root, "kind"), "kind", "unknown kind %q: want Authorizer or Api", d.kind))
		return nil
	}
	if v := scalarAt(root, "apiVersion"); v != v1alpha1.APIVersion {
		l.errs = append(l.errs, d.errorf("apiVersion", "want %q, got %q", v1alpha1.APIVersion, v))
	}
	if child(root, "spec") == nil {
		l.errs = append(l.errs, d.errorf("spec", "required"))
		d.broken = true
	}
	d.obj = obj
	l.decode(d)
	return d
}

// decode fills d.obj from the YAML: first a walk against the Go type, which reports unknown
// fields and mistyped values with their line, then encoding/json, which honours the types' own
// UnmarshalJSON (StringOrList, metav1.Duration).
func (l *loader) decode(d *document) {
	dec := &decoder{doc: d}
	value := dec.value(d.root, reflect.TypeOf(d.obj).Elem(), nil, 0)
	l.errs = append(l.errs, dec.errs...)
	if dec.tooBig {
		d.broken = true
		return
	}
	data, err := json.Marshal(value)
	if err == nil {
		err = json.Unmarshal(data, d.obj)
	}
	if err != nil {
		l.errs = append(l.errs, d.errorAt(d.root.Line, "", "%v", err))
		d.broken = true
		return
	}
	switch obj := d.obj.(type) {
	case *v1alpha1.Authorizer:
		obj.Spec.Default()
	case *v1alpha1.Api:
		obj.Spec.Default()
	}
}
