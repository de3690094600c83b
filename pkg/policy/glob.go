package policy

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// atom is one element of a compiled policy string: a literal byte (below 0x100), a wildcard, or
// a reference to a policy variable. Wildcards are distinct from every byte, so a "*" written as
// ${*} or substituted from a variable stays a literal.
type atom uint16

const (
	starAtom atom = 0x100 // *: any run of characters, "/" included
	oneAtom  atom = 0x101 // ?: exactly one character
	varAtom  atom = 0x200 // varAtom+i: the value of template variable i
	maxVars       = int(^atom(0) - varAtom)
)

func (a atom) literal() bool { return a < 0x100 }

// matchAtoms reports whether the wildcard pattern p matches all of s. It is the greedy
// star-backtracking algorithm: a mismatch only retries the most recent star one character
// further on, so the work is bounded by len(p)*len(s) however the stars are arranged. "?" and a
// star's retries step over whole UTF-8 characters; a byte that is not valid UTF-8 counts as one.
func matchAtoms(p []atom, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch a := p[pi]; {
			case a == starAtom:
				star, mark = pi, si
				pi++
				continue
			case a == oneAtom:
				si += charLen(s, si)
				pi++
				continue
			case a.literal() && byte(a) == s[si]:
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		mark += charLen(s, mark)
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == starAtom {
		pi++
	}
	return pi == len(p)
}

func charLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

type globKind uint8

const (
	globExact   globKind = iota // no wildcard: string equality
	globAny                     // "*": everything
	globPrefix                  // literal then one final "*"
	globStars                   // literals and stars, no "?": segments found in order
	globGeneral                 // anything else: matchAtoms, after the prefix and suffix checks
)

// glob is a compiled wildcard pattern without variables, with fast paths for the common shapes
// ("*", "arn:...:abc/prod/*", exact ARNs) and a literal prefix and suffix that reject most
// non-matching strings before a general matcher runs.
type glob struct {
	kind   globKind
	prefix string   // the literal run before the first wildcard; globExact: the whole text
	suffix string   // globStars, globGeneral: the literal tail after the last wildcard
	middle []string // globStars: the literal runs between the first and the last star
	rest   []atom   // globGeneral: the pattern after prefix
}

func newGlob(p []atom) glob {
	p = collapseStars(p)
	n := literalRun(p)
	switch {
	case n == len(p):
		return glob{kind: globExact, prefix: atomText(p)}
	case n == 0 && len(p) == 1 && p[0] == starAtom:
		return glob{kind: globAny}
	case n == len(p)-1 && p[n] == starAtom:
		return glob{kind: globPrefix, prefix: atomText(p[:n])}
	}
	tail := len(p)
	for tail > 0 && p[tail-1].literal() {
		tail--
	}
	g := glob{kind: globGeneral, prefix: atomText(p[:n]), suffix: atomText(p[tail:]), rest: p[n:]}
	if middle, ok := starSegments(p[n:tail]); ok {
		g.kind, g.middle, g.rest = globStars, middle, nil
	}
	return g
}

// starSegments splits a pattern that starts and ends with a star and holds no "?" into the
// literal runs between its stars.
func starSegments(p []atom) ([]string, bool) {
	var segs []string
	start := -1
	for i, a := range p {
		switch {
		case a == oneAtom:
			return nil, false
		case a == starAtom && start >= 0:
			segs = append(segs, atomText(p[start:i]))
			start = -1
		case a.literal() && start < 0:
			start = i
		}
	}
	return segs, true
}

func (g *glob) match(s string) bool {
	switch g.kind {
	case globExact:
		return s == g.prefix
	case globAny:
		return true
	case globPrefix:
		return strings.HasPrefix(s, g.prefix)
	}
	if len(s) < len(g.prefix)+len(g.suffix) || !strings.HasPrefix(s, g.prefix) || !strings.HasSuffix(s, g.suffix) {
		return false
	}
	if g.kind == globGeneral {
		return matchAtoms(g.rest, s[len(g.prefix):])
	}
	// With stars only, taking each run at its leftmost place leaves the most room for the next:
	// the answer star-backtracking would give, found with strings.Index.
	s = s[len(g.prefix) : len(s)-len(g.suffix)]
	for _, seg := range g.middle {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

func (g *glob) size() int {
	n := len(g.prefix) + len(g.suffix) + 2*len(g.rest)
	for _, seg := range g.middle {
		n += len(seg) + 16
	}
	return n
}

// collapseStars merges runs of stars, which match the same strings as one star. It copies p only
// when there is a run to merge.
func collapseStars(p []atom) []atom {
	var out []atom
	for i, a := range p {
		switch {
		case a == starAtom && i > 0 && p[i-1] == starAtom:
			if out == nil {
				out = slices.Clone(p[:i])
			}
		case out != nil:
			out = append(out, a)
		}
	}
	if out == nil {
		return p
	}
	return out
}

// literalRun returns the length of p's leading run of literal atoms.
func literalRun(p []atom) int {
	for i, a := range p {
		if !a.literal() {
			return i
		}
	}
	return len(p)
}

// atomText returns the bytes of literal atoms as a string.
func atomText(p []atom) string {
	b := make([]byte, len(p))
	for i, a := range p {
		b[i] = byte(a)
	}
	return string(b)
}
