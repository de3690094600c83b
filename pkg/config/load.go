// Package config loads Portcullis configuration: CRD-style YAML documents of the Authorizer and
// Api kinds, from files, directories or bytes, into the types of api/v1alpha1, defaulted and
// validated. Every problem is reported, each as "file:line: kind/name: field: reason".
package config

import (
	"cmp"
	"errors"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
)

// Load reads the configuration from files and directories (their *.yaml and *.yml files in name
// order, sub-directories and names starting with "." skipped). Configuration problems come back
// as an ErrorList holding all of them.
func Load(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("config: no configuration paths given")
	}
	files, errs := readPaths(paths)
	return build(files, errs)
}

// LoadBytes reads the configuration from one YAML stream; name is the file name errors show.
func LoadBytes(name string, data []byte) (*Set, error) {
	return build([]file{{name: name, data: data}}, nil)
}

// loader accumulates the documents and problems of one load.
type loader struct {
	docs []*document
	errs ErrorList
	// known holds every resource that exists in the source, accepted or not, so that a
	// reference to one left out says so rather than "no Authorizer named".
	known map[objectKey]bool
	// ns is the namespace of the resource being parsed (see document.ns).
	ns string
}

func build(files []file, readErrs ErrorList) (*Set, error) {
	l := &loader{errs: readErrs}
	for _, f := range files {
		l.parseFile(f)
	}
	set := l.index()
	l.validateObjects()
	l.checkReferences(set)
	l.checkHosts()
	if len(l.errs) > 0 {
		sortErrors(l.errs, files)
		return nil, l.errs
	}
	return set, nil
}

// index builds the Set, reporting names used twice within a kind.
func (l *loader) index() *Set {
	set := &Set{docs: map[objectKey]*document{}, byObj: map[metav1.Object]*document{}}
	for _, d := range l.docs {
		key := objectKey{d.kind, d.id()}
		if first := set.docs[key]; first != nil && d.name != "" {
			l.errs = append(l.errs, d.errorf("metadata.name", "duplicate name: %s is also defined at %s:%d", first.kind+"/"+first.id(), first.file, first.root.Line))
			continue
		}
		set.docs[key] = d
		set.byObj[d.obj] = d
		switch obj := d.obj.(type) {
		case *v1alpha1.Authorizer:
			set.Authorizers = append(set.Authorizers, obj)
		case *v1alpha1.Api:
			set.Apis = append(set.Apis, obj)
		}
	}
	return set
}

func (l *loader) validateObjects() {
	for _, d := range l.docs {
		if d.broken {
			continue
		}
		var problems []v1alpha1.FieldError
		switch obj := d.obj.(type) {
		case *v1alpha1.Authorizer:
			problems = append(obj.Validate(), identityProblems(&obj.Spec)...)
		case *v1alpha1.Api:
			problems = obj.Validate()
			_, bad := gatewayresponse.Compile(obj.Spec.GatewayResponses, responsesApi(&obj.Spec))
			problems = append(problems, bad...)
		}
		for _, p := range problems {
			l.report(d, p.Field, "%s", p.Reason)
		}
	}
}

// report adds a problem found in a decoded object, unless its field could not be decoded.
func (l *loader) report(d *document, field, format string, args ...any) {
	if !d.isLost(field) {
		l.errs = append(l.errs, d.errorf(field, format, args...))
	}
}

// sortErrors orders errors by file, in the order the files were read (files that could not be
// read first), then by line.
func sortErrors(errs ErrorList, files []file) {
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.name]; !ok {
			order[f.name] = i + 1
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(order[a.File], order[b.File]), cmp.Compare(a.Line, b.Line))
	})
}
