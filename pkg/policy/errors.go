package policy

import (
	"fmt"
	"strings"
)

// Error is a compile error: where the document is malformed and why. Its text reads like
// `Statement[2].Condition: unknown operator "StringEqualz"`.
type Error struct {
	// Statement is the index of the statement at fault (0 when Statement is a single object), or
	// -1 when the fault is in the document itself.
	Statement int
	// Field is the element at fault (Effect, Action, Resource, Condition, Version, ...); empty
	// when the fault is the statement or document as a whole.
	Field  string
	Reason string
	// Err is the underlying cause, such as a JSON syntax error, when there is one.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Statement >= 0 {
		fmt.Fprintf(&b, "Statement[%d]", e.Statement)
		if e.Field != "" {
			b.WriteByte('.')
		}
	}
	b.WriteString(e.Field)
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func docError(field, format string, args ...any) *Error {
	return &Error{Statement: -1, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func stmtError(index int, field, format string, args ...any) *Error {
	return &Error{Statement: index, Field: field, Reason: fmt.Sprintf(format, args...)}
}
