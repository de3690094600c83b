package config

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Set is a loaded, defaulted and validated configuration: every Authorizer and Api in the order
// they were read, and where each came from, so that problems found later (compiling routes,
// building backends) are reported in the same file:line format as load errors.
type Set struct {
	Authorizers []*v1alpha1.Authorizer
	Apis        []*v1alpha1.Api

	docs  map[objectKey]*document // by kind and id
	byObj map[metav1.Object]*document
}

// objectKey is a kind and a document's id (its name, or namespace/name).
type objectKey struct{ kind, name string }

// kindOf names the kind of one of our objects, or "" for anything else.
func kindOf(obj metav1.Object) string {
	switch obj.(type) {
	case *v1alpha1.Authorizer:
		return v1alpha1.KindAuthorizer
	case *v1alpha1.Api:
		return v1alpha1.KindApi
	}
	return ""
}

// Authorizer returns the Authorizer with this name, or nil.
func (s *Set) Authorizer(name string) *v1alpha1.Authorizer { return s.authorizerIn("", name) }

// authorizerIn returns the Authorizer named name in namespace ns, or nil.
func (s *Set) authorizerIn(ns, name string) *v1alpha1.Authorizer {
	if d := s.docs[objectKey{v1alpha1.KindAuthorizer, qualify(ns, name)}]; d != nil {
		return d.obj.(*v1alpha1.Authorizer)
	}
	return nil
}

// namespace returns the namespace that qualifies obj's references: "" for files.
func (s *Set) namespace(obj metav1.Object) string {
	if d := s.byObj[obj]; d != nil {
		return d.ns
	}
	return ""
}

// id returns the name obj goes by in the snapshot (see document.id).
func (s *Set) id(obj metav1.Object) string {
	if d := s.byObj[obj]; d != nil {
		return d.id()
	}
	return obj.GetName()
}

// Position returns the file and line of a field of an object of the set, given as a path such
// as spec.routes[2].path. A field absent from the YAML (defaulted) gives the line of its nearest
// parent that is present. An object not from this set gives "" and 0.
func (s *Set) Position(obj metav1.Object, field string) (file string, line int) {
	d := s.byObj[obj]
	if d == nil || d.file == "" {
		return "", 0
	}
	return d.file, lineOf(d.root, field)
}

// Errorf makes an Error about a field of an object of the set, located as Position does, e.g.
// set.Errorf(api, "spec.routes[2].path", "%q can never match", path).
func (s *Set) Errorf(obj metav1.Object, field, format string, args ...any) *Error {
	file, line := s.Position(obj, field)
	return &Error{File: file, Line: line, Kind: kindOf(obj), Name: s.id(obj), Field: field, Reason: fmt.Sprintf(format, args...)}
}
