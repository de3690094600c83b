package policy

import (
	"fmt"
	"strings"
)

// valueSyntax says how a policy string is read.
type valueSyntax struct {
	wildcards bool // "*" and "?" are wildcards (Action, Resource, StringLike)
	variables bool // ${...} are policy variables (Version 2012-10-17)
}

// parseValue reads a policy string into atoms and the keys of the variables it references.
func parseValue(s string, syn valueSyntax) ([]atom, []condKey, error) {
	atoms := make([]atom, 0, len(s))
	var vars []condKey
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case syn.variables && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, nil, fmt.Errorf("unterminated policy variable in %.64q", s)
			}
			name := s[i+2 : i+2+end]
			i += 2 + end
			switch name {
			case "*", "?", "$":
				atoms = append(atoms, atom(name[0]))
				continue
			}
			k, err := parseKey(name)
			if err != nil {
				return nil, nil, fmt.Errorf("policy variable ${%s}: %w", name, err)
			}
			if len(vars) == maxVars {
				return nil, nil, fmt.Errorf("more than %d policy variables in one value", maxVars)
			}
			atoms = append(atoms, varAtom+atom(len(vars)))
			vars = append(vars, k)
		case syn.wildcards && c == '*':
			atoms = append(atoms, starAtom)
		case syn.wildcards && c == '?':
			atoms = append(atoms, oneAtom)
		default:
			atoms = append(atoms, atom(c))
		}
	}
	return atoms, vars, nil
}

// template is a policy string holding variables, expanded for each request. Its literal prefix
// is kept as text, so most requests are turned away by one comparison, before any expansion.
type template struct {
	prefix string // the literal run before the first wildcard or variable
	atoms  []atom // the rest
	vars   []condKey
}

func newTemplate(atoms []atom, vars []condKey) *template {
	n := literalRun(atoms)
	return &template{prefix: atomText(atoms[:n]), atoms: atoms[n:], vars: vars}
}

// expandAtoms appends the template after its prefix, each variable replaced by its value as
// literal atoms. It reports false when a variable has no single value in the request: such a
// value matches nothing.
func (t *template) expandAtoms(dst []atom, f *Facts) ([]atom, bool) {
	var scratch [64]byte
	for _, a := range t.atoms {
		if a < varAtom {
			dst = append(dst, a)
			continue
		}
		v, ok := t.vars[a-varAtom].single(f)
		if !ok {
			return dst, false
		}
		if v.kind == kindString {
			for i := 0; i < len(v.s); i++ {
				dst = append(dst, atom(v.s[i]))
			}
			continue
		}
		text, ok := v.appendText(scratch[:0])
		if !ok {
			return dst, false
		}
		for _, c := range text {
			dst = append(dst, atom(c))
		}
	}
	return dst, true
}

// expandText appends the whole template as text, for operators without wildcards.
func (t *template) expandText(dst []byte, f *Facts) ([]byte, bool) {
	dst = append(dst, t.prefix...)
	for _, a := range t.atoms {
		if a < varAtom {
			dst = append(dst, byte(a))
			continue
		}
		v, ok := t.vars[a-varAtom].single(f)
		if !ok {
			return dst, false
		}
		if dst, ok = v.appendText(dst); !ok {
			return dst, false
		}
	}
	return dst, true
}

func (t *template) size() int { return len(t.prefix) + 2*len(t.atoms) + len(t.vars)*condKeySize }

// pattern is a compiled wildcard string: a Resource or NotResource entry, or a StringLike value.
type pattern struct {
	glob glob
	tmpl *template // set when the pattern holds variables; glob is unused then
}

func newPattern(atoms []atom, vars []condKey) pattern {
	if len(vars) > 0 {
		return pattern{tmpl: newTemplate(atoms, vars)}
	}
	return pattern{glob: newGlob(atoms)}
}

func (p *pattern) match(s string, f *Facts) bool {
	if p.tmpl == nil {
		return p.glob.match(s)
	}
	if !strings.HasPrefix(s, p.tmpl.prefix) {
		return false
	}
	var buf [256]atom
	expanded, ok := p.tmpl.expandAtoms(buf[:0], f)
	return ok && matchAtoms(expanded, s[len(p.tmpl.prefix):])
}

func (p *pattern) size() int {
	n := patternSize + p.glob.size()
	if p.tmpl != nil {
		n += p.tmpl.size()
	}
	return n
}
