package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// condition is one compiled operator-key pair of a Condition block with its policy values,
// parsed into the type the operator compares.
type condition struct {
	operator
	key      condKey
	strs     []strValue     // string operators
	nums     []float64      // numeric operators
	dates    []time.Time    // date operators
	flags    []bool         // Bool, and Null (true: the key must be absent)
	prefixes []netip.Prefix // IpAddress, NotIpAddress
}

// strValue is a string operator's policy value.
type strValue struct {
	text string    // equality operators, value without variables
	tmpl *template // equality operators, value with variables
	like pattern   // StringLike
}

func compileCondition(opName, keyName string, vals []string, variables bool) (condition, error) {
	op, err := parseOperator(opName)
	if err != nil {
		return condition{}, err
	}
	key, err := parseKey(keyName)
	if err != nil {
		return condition{}, fmt.Errorf("%s: %q: %w", opName, keyName, err)
	}
	fam := op.base.family()
	if !key.kind.accepts(fam) {
		return condition{}, fmt.Errorf("%s: %q cannot be read by this operator", opName, keyName)
	}
	c := condition{operator: op, key: key}
	for _, v := range vals {
		if err := c.addValue(fam, v, variables); err != nil {
			return condition{}, fmt.Errorf("%s: %q: %w", opName, keyName, err)
		}
	}
	return c, nil
}

func (c *condition) addValue(fam family, v string, variables bool) error {
	switch fam {
	case familyString:
		like := c.base == opStringLike
		atoms, vars, err := parseValue(v, valueSyntax{wildcards: like, variables: variables})
		switch {
		case err != nil:
			return err
		case like:
			c.strs = append(c.strs, strValue{like: newPattern(atoms, vars)})
		case len(vars) > 0:
			c.strs = append(c.strs, strValue{tmpl: newTemplate(atoms, vars)})
		default:
			c.strs = append(c.strs, strValue{text: atomText(atoms)})
		}
	case familyNumeric:
		n, ok := parseNumber(v)
		if !ok {
			return fmt.Errorf("bad number %.64q", v)
		}
		c.nums = append(c.nums, n)
	case familyDate:
		t, ok := parseDate(v)
		if !ok {
			return fmt.Errorf("bad date %.64q (want ISO 8601 or seconds since the epoch)", v)
		}
		c.dates = append(c.dates, t)
	case familyIP:
		p, ok := parsePrefix(v)
		if !ok {
			return fmt.Errorf("bad CIDR %.64q", v)
		}
		c.prefixes = append(c.prefixes, p)
	default: // Bool and Null
		b, ok := parseBool(v)
		if !ok {
			return fmt.Errorf("bad boolean %.64q (want \"true\" or \"false\")", v)
		}
		c.flags = append(c.flags, b)
	}
	return nil
}

// eval applies IAM's rules: the key's request values are compared with the policy values, a
// value matching any policy value (OR); a negated operator holds when no value matches (NOR).
// An absent key fails positive operators and satisfies negated ones, except that IfExists
// makes it pass, ForAllValues holds on it (an empty set) and ForAnyValue does not.
func (c *condition) eval(f *Facts) bool {
	vs := c.key.lookup(f)
	if c.base == opNull {
		for _, absent := range c.flags {
			if absent != vs.present {
				return true
			}
		}
		return false
	}
	if !vs.present {
		switch {
		case c.ifExists, c.set == setAllValues:
			return true
		case c.set == setAnyValue:
			return false
		}
		return c.negated
	}
	n := vs.len()
	switch c.set {
	case setAnyValue:
		for i := range n {
			v := vs.at(i)
			if c.matchAny(&v, f) != c.negated {
				return true
			}
		}
		return false
	case setAllValues:
		for i := range n {
			v := vs.at(i)
			if c.matchAny(&v, f) == c.negated {
				return false
			}
		}
		return true
	}
	for i := range n {
		v := vs.at(i)
		if c.matchAny(&v, f) {
			return !c.negated
		}
	}
	return c.negated
}

// matchAny reports whether one request value matches any of the policy values under the
// operator without its negation. A value the operator cannot read matches nothing.
func (c *condition) matchAny(v *value, f *Facts) bool {
	switch c.base.family() {
	case familyString:
		return c.matchString(v, f)
	case familyNumeric:
		n, ok := v.number()
		return ok && c.matchNumber(n)
	case familyDate:
		t, ok := v.date()
		return ok && c.matchDate(t)
	case familyBool:
		b, ok := v.boolean()
		return ok && hasFlag(c.flags, b)
	case familyIP:
		a, ok := v.ip()
		return ok && c.matchIP(a)
	}
	return false
}

func (c *condition) matchString(v *value, f *Facts) bool {
	if v.kind == kindString {
		return c.matchText(v.s, f)
	}
	var buf [48]byte
	b, ok := v.appendText(buf[:0])
	return ok && c.matchText(string(b), f)
}

func (c *condition) matchText(s string, f *Facts) bool {
	for i := range c.strs {
		if c.strs[i].match(c.base, s, f) {
			return true
		}
	}
	return false
}

func (sv *strValue) match(op baseOp, s string, f *Facts) bool {
	if op == opStringLike {
		return sv.like.match(s, f)
	}
	if sv.tmpl == nil {
		if op == opStringEqualsIgnoreCase {
			return strings.EqualFold(s, sv.text)
		}
		return s == sv.text
	}
	var buf [256]byte
	b, ok := sv.tmpl.expandText(buf[:0], f)
	if !ok {
		return false
	}
	if op == opStringEqualsIgnoreCase {
		return strings.EqualFold(string(b), s)
	}
	return string(b) == s
}

func (c *condition) matchNumber(n float64) bool {
	for _, x := range c.nums {
		if compare(c.base, cmpFloat(n, x)) {
			return true
		}
	}
	return false
}

func (c *condition) matchDate(t time.Time) bool {
	for _, x := range c.dates {
		if compare(c.base, t.Compare(x)) {
			return true
		}
	}
	return false
}

func (c *condition) matchIP(a netip.Addr) bool {
	for _, p := range c.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func hasFlag(flags []bool, want bool) bool {
	for _, b := range flags {
		if b == want {
			return true
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare turns a three-way comparison of request value against policy value into the
// operator's answer.
func compare(op baseOp, c int) bool {
	switch op {
	case opNumericEquals, opDateEquals:
		return c == 0
	case opNumericLessThan, opDateLessThan:
		return c < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return c <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return c > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return c >= 0
	}
	return false
}

func (c *condition) size() int {
	n := conditionSize + len(c.key.name) + len(c.nums)*8 + len(c.dates)*timeSize +
		len(c.flags) + len(c.prefixes)*prefixSize
	for i := range c.strs {
		sv := &c.strs[i]
		n += strValueSize + len(sv.text) + sv.like.size()
		if sv.tmpl != nil {
			n += sv.tmpl.size()
		}
	}
	return n
}
