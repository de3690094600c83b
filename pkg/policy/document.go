package policy

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Limits on what Compile accepts.
const (
	MaxDocumentSize = 64 << 10
	MaxStatements   = 1000
)

// Policy language versions. 2008-10-17 is IAM's default when Version is absent; it has no
// policy variables.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// document is a policy as written, checked for shape but not yet compiled.
type document struct {
	version    string
	statements []rawStatement
}

type rawStatement struct {
	sid                                      string
	effect                                   *string
	action, notAction, resource, notResource []string
	conditions                               []rawCondition
}

type rawCondition struct {
	operator, key string
	values        []string
}

func parseDocument(doc []byte) (*document, error) {
	if len(doc) > MaxDocumentSize {
		return nil, docError("", "document is %d bytes, over the limit of %d", len(doc), MaxDocumentSize)
	}
	// encoding/json's scanner gives the clearest syntax errors; the tree is built from valid input.
	if err := json.Unmarshal(doc, new(json.RawMessage)); err != nil {
		return nil, &Error{Statement: -1, Reason: "invalid JSON: " + err.Error(), Err: err}
	}
	root, err := parseJSON(doc)
	if err != nil {
		return nil, &Error{Statement: -1, Reason: err.Error(), Err: err}
	}
	if err := root.object(); err != nil {
		return nil, docError("", "%v", err)
	}
	d := &document{version: Version2008}
	var stmts *node
	for i := range root.members {
		m := &root.members[i]
		switch m.name {
		case "Version":
			if m.value.kind != nodeString {
				return nil, docError("Version", "want a string")
			}
			d.version = m.value.text
			if d.version != Version2012 && d.version != Version2008 {
				return nil, docError("Version", "unsupported version %.32q (want %q or %q)", d.version, Version2012, Version2008)
			}
		case "Id":
			if m.value.kind != nodeString {
				return nil, docError("Id", "want a string")
			}
		case "Statement":
			stmts = &m.value
		default:
			return nil, docError("", "unknown field %.64q", m.name)
		}
	}
	if stmts == nil {
		return nil, docError("Statement", "missing")
	}
	list, err := statementList(stmts)
	if err != nil {
		return nil, err
	}
	d.statements = make([]rawStatement, len(list))
	for i := range list {
		if err := parseStatement(&list[i], &d.statements[i]); err != nil {
			err.Statement = i
			return nil, err
		}
	}
	return d, nil
}

// statementList accepts Statement as one object or as a list of objects.
func statementList(n *node) ([]node, error) {
	switch n.kind {
	case nodeObject:
		return []node{*n}, nil
	case nodeArray:
		if len(n.elems) > MaxStatements {
			return nil, docError("Statement", "%d statements, over the limit of %d", len(n.elems), MaxStatements)
		}
		return n.elems, nil
	}
	return nil, docError("Statement", "want an object or a list of objects")
}

func parseStatement(n *node, st *rawStatement) *Error {
	if err := n.object(); err != nil {
		return stmtError(0, "", "%v", err)
	}
	for i := range n.members {
		m := &n.members[i]
		var err error
		switch m.name {
		case "Sid":
			st.sid, err = jsonString(&m.value)
		case "Effect":
			var effect string
			effect, err = jsonString(&m.value)
			st.effect = &effect
		case "Action":
			st.action, err = stringOrList(&m.value)
		case "NotAction":
			st.notAction, err = stringOrList(&m.value)
		case "Resource":
			st.resource, err = stringOrList(&m.value)
		case "NotResource":
			st.notResource, err = stringOrList(&m.value)
		case "Condition":
			st.conditions, err = parseConditionBlock(&m.value)
		default:
			return stmtError(0, "", "unknown field %.64q", m.name)
		}
		if err != nil {
			return stmtError(0, m.name, "%v", err)
		}
	}
	return nil
}

// stringOrList reads Action, NotAction, Resource or NotResource: a string or a non-empty list
// of non-empty strings.
func stringOrList(n *node) ([]string, error) {
	var list []string
	switch n.kind {
	case nodeString:
		list = []string{n.text}
	case nodeArray:
		if len(n.elems) == 0 {
			return nil, errors.New("empty list")
		}
		list = make([]string, len(n.elems))
		for i := range n.elems {
			if n.elems[i].kind != nodeString {
				return nil, errors.New("want a string or a list of strings")
			}
			list[i] = n.elems[i].text
		}
	default:
		return nil, errors.New("want a string or a list of strings")
	}
	for i, s := range list {
		if s == "" {
			return nil, fmt.Errorf("entry %d is empty", i)
		}
	}
	return list, nil
}

// parseConditionBlock reads {"Operator": {"key": value or [values]}, ...}, keeping document
// order so that errors name the first fault.
func parseConditionBlock(n *node) ([]rawCondition, error) {
	if err := n.object(); err != nil {
		return nil, err
	}
	var out []rawCondition
	for i := range n.members {
		op := &n.members[i]
		// The operator is checked first, so that a misspelt one is what the error names.
		if _, err := parseOperator(op.name); err != nil {
			return nil, err
		}
		if err := op.value.object(); err != nil {
			return nil, fmt.Errorf("%s: %w", op.name, err)
		}
		if len(op.value.members) == 0 {
			return nil, fmt.Errorf("%s: no condition keys", op.name)
		}
		for j := range op.value.members {
			k := &op.value.members[j]
			vals, err := conditionValues(&k.value)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", op.name, k.name, err)
			}
			out = append(out, rawCondition{operator: op.name, key: k.name, values: vals})
		}
	}
	return out, nil
}

// conditionValues reads a condition value: a string, number or boolean, or a non-empty list of
// them. Numbers keep their JSON text.
func conditionValues(n *node) ([]string, error) {
	if n.kind != nodeArray {
		if !isScalar(n) {
			return nil, errors.New("want a string, number or boolean")
		}
		return []string{n.text}, nil
	}
	if len(n.elems) == 0 {
		return nil, errors.New("empty list of values")
	}
	out := make([]string, len(n.elems))
	for i := range n.elems {
		if !isScalar(&n.elems[i]) {
			return nil, fmt.Errorf("value %d: want a string, number or boolean", i)
		}
		out[i] = n.elems[i].text
	}
	return out, nil
}

func isScalar(n *node) bool {
	return n.kind == nodeString || n.kind == nodeNumber || n.kind == nodeBool
}

// jsonString reads a JSON string; null and other types are refused.
func jsonString(n *node) (string, error) {
	if n.kind != nodeString {
		return "", errors.New("want a string")
	}
	return n.text, nil
}
