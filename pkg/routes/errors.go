package routes

import "fmt"

// Error is one problem with one route spec, found by Compile.
type Error struct {
	// Index is the spec's position in the slice given to Compile.
	Index int
	// Field is "path" or "methods".
	Field  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("routes[%d].%s: %s", e.Index, e.Field, e.Reason)
}

func pathErr(index int, format string, args ...any) error {
	return &Error{Index: index, Field: "path", Reason: fmt.Sprintf(format, args...)}
}

func methodsErr(index int, format string, args ...any) error {
	return &Error{Index: index, Field: "methods", Reason: fmt.Sprintf(format, args...)}
}
