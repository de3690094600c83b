package config

import (
	"strconv"
	"strings"
)

// Error is one configuration problem, printed as "file:line: kind/name: field: reason". Parts
// that are unknown are left out: a file that cannot be read has no line, a document without a
// kind has no kind/name, a problem of the whole object has no field, a resource read from the
// Kubernetes API has no file (its name is namespace/name).
type Error struct {
	File   string
	Line   int
	Kind   string // Authorizer or Api
	Name   string // metadata.name
	Field  string // e.g. spec.routes[2].authorizer
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Kind != "" {
		b.WriteString(e.Kind)
		if e.Name != "" {
			b.WriteByte('/')
			b.WriteString(e.Name)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// ErrorList is every problem found in a configuration, in file order then line order.
type ErrorList []*Error

// Error prints one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
