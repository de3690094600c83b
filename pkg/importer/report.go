package importer

import (
	"cmp"
	"fmt"
	"slices"
)

// Finding is one thing not carried over, or guessed: FILE:LINE: WHAT: WHY.
type Finding struct {
	File string
	Line int
	What string
	Why  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.What, f.Why)
}

// reporter collects findings; the same finding twice is reported once.
type reporter struct {
	findings []Finding
}

func (r *reporter) add(file string, line int, what, format string, args ...any) {
	f := Finding{File: displayName(file), Line: line, What: what, Why: fmt.Sprintf(format, args...)}
	if !slices.Contains(r.findings, f) {
		r.findings = append(r.findings, f)
	}
}

// sorted returns the findings by file (in the order files were first reported), line, text.
func (r *reporter) sorted() []Finding {
	order := map[string]int{}
	for _, f := range r.findings {
		if _, ok := order[f.File]; !ok {
			order[f.File] = len(order)
		}
	}
	out := slices.Clone(r.findings)
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(order[a.File], order[b.File]), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.What, b.What), cmp.Compare(a.Why, b.Why))
	})
	return out
}
