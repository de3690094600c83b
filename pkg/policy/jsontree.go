package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDepth bounds JSON nesting; a policy needs five levels.
const maxDepth = 16

type nodeKind uint8

const (
	nodeNull nodeKind = iota
	nodeObject
	nodeArray
	nodeString
	nodeNumber
	nodeBool
)

// node is a JSON value read in one pass. Objects keep their members in document order and note
// a repeated member name, which the reader of the object refuses: decoding into a struct or map
// would match "effect" to Effect and keep the last of two "Effect" members, and a policy must
// mean exactly one thing.
type node struct {
	kind      nodeKind
	text      string // string value, number text, or "true"/"false"
	members   []member
	elems     []node
	duplicate string // the first member name an object repeats
}

// object checks that n is an object without repeated member names.
func (n *node) object() error {
	switch {
	case n.kind != nodeObject:
		return errors.New("want an object")
	case n.duplicate != "":
		return fmt.Errorf("duplicate field %.64q", n.duplicate)
	}
	return nil
}

type member struct {
	name  string
	value node
}

func parseJSON(doc []byte) (node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return node{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return node{}, errors.New("data after the top-level value")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return node{}, io.ErrUnexpectedEOF
	}
	if err != nil {
		return node{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return readObject(dec, depth)
		}
		return readArray(dec, depth)
	case string:
		return node{kind: nodeString, text: t}, nil
	case json.Number:
		return node{kind: nodeNumber, text: string(t)}, nil
	case bool:
		return node{kind: nodeBool, text: fmt.Sprint(t)}, nil
	}
	return node{kind: nodeNull}, nil
}

func readObject(dec *json.Decoder, depth int) (node, error) {
	n := node{kind: nodeObject}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return node{}, err
		}
		name, _ := tok.(string) // the decoder only yields strings for member names
		v, err := readNode(dec, depth+1)
		if err != nil {
			return node{}, err
		}
		if seen[name] {
			if n.duplicate == "" {
				n.duplicate = name
			}
			continue
		}
		seen[name] = true
		n.members = append(n.members, member{name: name, value: v})
	}
	_, err := dec.Token() // '}'
	return n, err
}

func readArray(dec *json.Decoder, depth int) (node, error) {
	n := node{kind: nodeArray}
	for dec.More() {
		v, err := readNode(dec, depth+1)
		if err != nil {
			return node{}, err
		}
		n.elems = append(n.elems, v)
	}
	_, err := dec.Token() // ']'
	return n, err
}
