package policy

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unsafe"
)

// invokeAction is the one action API Gateway authorizes, lower-cased for matching.
const invokeAction = "execute-api:invoke"

// Policy is a compiled policy document: immutable and safe for concurrent use.
type Policy struct {
	hash       [32]byte
	size       int
	statements []statement
	// denies and allows index the statements that can apply to execute-api:Invoke, by effect,
	// so Evaluate checks every Deny first and stops at the first matching Allow.
	denies []int32
	allows []int32
}

type statement struct {
	sid         string
	deny        bool
	invokes     bool // Action/NotAction covers execute-api:Invoke, decided at compile time
	notResource bool
	resources   []pattern
	conditions  []condition
}

// Approximate sizes of the compiled parts, for Size.
const (
	policySize    = int(unsafe.Sizeof(Policy{}))
	statementSize = int(unsafe.Sizeof(statement{}))
	patternSize   = int(unsafe.Sizeof(pattern{}))
	conditionSize = int(unsafe.Sizeof(condition{}))
	strValueSize  = int(unsafe.Sizeof(strValue{}))
	condKeySize   = int(unsafe.Sizeof(condKey{}))
	timeSize      = int(unsafe.Sizeof(time.Time{}))
	prefixSize    = int(unsafe.Sizeof(netip.Prefix{}))
)

// Compile parses and compiles a policy document. A malformed document is an *Error naming the
// statement and field at fault.
func Compile(doc []byte) (*Policy, error) {
	return compile(doc, sha256.Sum256(doc))
}

func compile(doc []byte, hash [32]byte) (*Policy, error) {
	d, err := parseDocument(doc)
	if err != nil {
		return nil, err
	}
	p := &Policy{hash: hash, statements: make([]statement, len(d.statements))}
	variables := d.version == Version2012
	for i := range d.statements {
		if err := compileStatement(&d.statements[i], variables, &p.statements[i]); err != nil {
			err.Statement = i
			return nil, err
		}
		st := &p.statements[i]
		switch {
		case !st.invokes:
		case st.deny:
			p.denies = append(p.denies, int32(i))
		default:
			p.allows = append(p.allows, int32(i))
		}
	}
	p.size = p.estimateSize()
	return p, nil
}

func compileStatement(raw *rawStatement, variables bool, st *statement) *Error {
	st.sid = raw.sid
	switch {
	case raw.effect == nil:
		return stmtError(0, "Effect", "missing")
	case *raw.effect == "Allow":
	case *raw.effect == "Deny":
		st.deny = true
	default:
		return stmtError(0, "Effect", "must be \"Allow\" or \"Deny\", not %.32q", *raw.effect)
	}
	actions, field, err := exactlyOne(raw.action, raw.notAction, "Action", "NotAction")
	if err != nil {
		return err
	}
	if st.invokes, err = coversInvoke(actions, field); err != nil {
		return err
	}
	st.invokes = st.invokes != (field == "NotAction")
	resources, field, err := exactlyOne(raw.resource, raw.notResource, "Resource", "NotResource")
	if err != nil {
		return err
	}
	st.notResource = field == "NotResource"
	if st.resources, err = compileResources(resources, field, variables); err != nil {
		return err
	}
	st.conditions = make([]condition, 0, len(raw.conditions))
	for _, rc := range raw.conditions {
		c, cerr := compileCondition(rc.operator, rc.key, rc.values, variables)
		if cerr != nil {
			return &Error{Field: "Condition", Reason: cerr.Error(), Err: cerr}
		}
		st.conditions = append(st.conditions, c)
	}
	return nil
}

// exactlyOne picks the element a statement uses out of a pair like Action/NotAction.
func exactlyOne(a, notA []string, name, notName string) ([]string, string, *Error) {
	switch {
	case a != nil && notA != nil:
		return nil, "", stmtError(0, name, "a statement takes %s or %s, not both", name, notName)
	case a != nil:
		return a, name, nil
	case notA != nil:
		return notA, notName, nil
	}
	return nil, "", stmtError(0, name, "missing (a statement needs %s or %s)", name, notName)
}

// coversInvoke reports whether any action pattern matches execute-api:Invoke. It is the only
// action a request ever asks for, so the answer is fixed at compile time.
func coversInvoke(actions []string, field string) (bool, *Error) {
	covers := false
	for _, a := range actions {
		vendor, _, ok := strings.Cut(a, ":")
		if a != "*" && (!ok || vendor == "" || strings.HasSuffix(a, ":")) {
			return false, stmtError(0, field, "%.64q is not \"*\" or service:action", a)
		}
		atoms, _, err := parseValue(strings.ToLower(a), valueSyntax{wildcards: true})
		if err != nil {
			return false, stmtError(0, field, "%v", err)
		}
		g := newGlob(atoms)
		covers = covers || g.match(invokeAction)
	}
	return covers, nil
}

func compileResources(list []string, field string, variables bool) ([]pattern, *Error) {
	out := make([]pattern, 0, len(list))
	for _, r := range list {
		if !strings.HasPrefix(r, "arn:") && !strings.HasPrefix(r, "*") && !(variables && strings.HasPrefix(r, "${")) {
			return nil, stmtError(0, field, "%.64q is not \"*\" or an ARN", r)
		}
		atoms, vars, err := parseValue(r, valueSyntax{wildcards: true, variables: variables})
		if err != nil {
			return nil, stmtError(0, field, "%v", err)
		}
		out = append(out, newPattern(atoms, vars))
	}
	return out, nil
}

// Hash is the sha256 of the document bytes the policy was compiled from.
func (p *Policy) Hash() [32]byte { return p.hash }

// Size is the approximate number of bytes the compiled policy holds, for cache cost accounting.
func (p *Policy) Size() int { return p.size }

func (p *Policy) estimateSize() int {
	n := policySize + 4*(len(p.denies)+len(p.allows))
	for i := range p.statements {
		st := &p.statements[i]
		n += statementSize + len(st.sid)
		for j := range st.resources {
			n += st.resources[j].size()
		}
		for j := range st.conditions {
			n += st.conditions[j].size()
		}
	}
	return n
}

// String identifies the policy by a short hash prefix, for logs.
func (p *Policy) String() string {
	return fmt.Sprintf("policy %x (%d statements)", p.hash[:6], len(p.statements))
}
