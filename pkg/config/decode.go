package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// Bounds on one document. A few lines of nested anchors can stand for billions of nodes, and an
// alias can name its own parent; both stop at these bounds instead of exhausting memory.
const (
	maxNodes = 1 << 18
	maxDepth = 64
)

var (
	unmarshalerType  = reflect.TypeFor[json.Unmarshaler]()
	stringOrListType = reflect.TypeFor[v1alpha1.StringOrList]()
	durationType     = reflect.TypeFor[metav1.Duration]()
	stringSliceType  = reflect.TypeFor[[]string]()
)

// decoder turns a YAML node tree into plain values (maps, lists, scalars) ready for
// encoding/json, checking it against the Go type it will be decoded into. Every field the type
// does not have and every value of the wrong type is reported with its path and line.
type decoder struct {
	doc    *document
	errs   []*Error
	nodes  int
	tooBig bool
}

// fail reports a value that cannot be decoded, and marks its field as lost.
func (d *decoder) fail(n *yaml.Node, p *field.Path, format string, args ...any) {
	d.doc.lost = append(d.doc.lost, p.String())
	d.report(n, p, format, args...)
}

// report reports a problem that leaves the decoded object intact, e.g. an unknown field.
func (d *decoder) report(n *yaml.Node, p *field.Path, format string, args ...any) {
	d.errs = append(d.errs, d.doc.errorAt(n.Line, p.String(), format, args...))
}

// enter follows an alias and counts the node against the document's bounds.
func (d *decoder) enter(n *yaml.Node, p *field.Path, depth int) (*yaml.Node, bool) {
	if d.tooBig {
		return nil, false
	}
	d.nodes++
	if d.nodes > maxNodes || depth > maxDepth {
		d.tooBig = true
		d.fail(n, p, "document too large: more than %d nodes once aliases are expanded, or nested deeper than %d", maxNodes, maxDepth)
		return nil, false
	}
	return resolve(n), true
}

// value converts n for a Go value of type t; nil when n is null or wrong.
func (d *decoder) value(n *yaml.Node, t reflect.Type, p *field.Path, depth int) any {
	n, ok := d.enter(n, p, depth)
	if !ok || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == stringOrListType:
		return d.stringOrList(n, p, depth)
	case t == durationType:
		return d.duration(n, p)
	case reflect.PointerTo(t).Implements(unmarshalerType):
		return d.plain(n, p, depth) // a type that checks its own JSON, e.g. metav1.Time
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.object(n, t, p, depth)
	case reflect.Map:
		return d.mapping(n, t, p, depth)
	case reflect.Slice:
		return d.list(n, t, p, depth)
	case reflect.Interface:
		return d.plain(n, p, depth)
	}
	return d.scalar(n, t, p)
}

// object converts a mapping for a struct, field names being the json tag names.
func (d *decoder) object(n *yaml.Node, t reflect.Type, p *field.Path, depth int) any {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "want a mapping, got %s", describe(n))
		return nil
	}
	fields := map[string]reflect.Type{}
	jsonFields(t, fields)
	if p == nil {
		// Portcullis writes status in the Kubernetes API; a configuration never sets it.
		delete(fields, "status")
	}
	out := map[string]any{}
	for _, kv := range d.pairs(n, p, depth) {
		name := kv.key.Value
		ft, ok := fields[name]
		if !ok {
			d.report(kv.key, p.Child(name), "unknown field%s", suggest(name, fields))
			continue
		}
		if v := d.value(kv.value, ft, p.Child(name), depth+1); v != nil {
			out[name] = v
		}
	}
	return out
}

// jsonFields maps the JSON names of t's fields to their types, embedded structs inlined as
// encoding/json does (metav1.TypeMeta gives apiVersion and kind).
func jsonFields(t reflect.Type, into map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, into)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = f.Type
	}
}

// suggest hints at the field a mistyped name was meant to be (encoding/json would accept it
// case-insensitively, which hides typos in configurations that work by accident).
func suggest(name string, fields map[string]reflect.Type) string {
	for known := range fields {
		if strings.EqualFold(known, name) {
			return fmt.Sprintf(" (did you mean %q?)", known)
		}
	}
	return ""
}

func (d *decoder) mapping(n *yaml.Node, t reflect.Type, p *field.Path, depth int) any {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "want a mapping, got %s", describe(n))
		return nil
	}
	out := map[string]any{}
	for _, kv := range d.pairs(n, p, depth) {
		out[kv.key.Value] = d.value(kv.value, t.Elem(), p.Key(kv.key.Value), depth+1)
	}
	return out
}

func (d *decoder) list(n *yaml.Node, t reflect.Type, p *field.Path, depth int) any {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, p, "want a list, got %s", describe(n))
		return nil
	}
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		out = append(out, d.value(item, t.Elem(), p.Index(i), depth+1))
	}
	return out
}

func (d *decoder) stringOrList(n *yaml.Node, p *field.Path, depth int) any {
	if n.Kind == yaml.SequenceNode {
		return d.list(n, stringSliceType, p, depth)
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, p, "want a string or a list of strings, got %s", describe(n))
		return nil
	}
	d.checkResolved(n, p)
	return n.Value
}

// unresolvedMark is how `portcullis import` writes a value it could not resolve.
const unresolvedMark = "<unresolved: "

// checkResolved reports a value that `portcullis import` left unresolved, naming the flag that
// resolves it.
func (d *decoder) checkResolved(n *yaml.Node, p *field.Path) {
	if i := strings.Index(n.Value, unresolvedMark); i >= 0 {
		expr, _, _ := strings.Cut(n.Value[i+len(unresolvedMark):], ">")
		fix := "--set " + expr + "=VALUE"
		if strings.HasPrefix(expr, "--") {
			fix = expr + " VALUE" // a value the source does not hold at all, such as the stage
		}
		d.report(n, p, "unresolved value %q left by portcullis import: import again with %s, or write the value here", expr, fix)
	}
}

func (d *decoder) duration(n *yaml.Node, p *field.Path) any {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if _, err := time.ParseDuration(n.Value); err == nil {
			return n.Value
		}
	}
	d.fail(n, p, "want a duration such as 5s or 1m30s, got %s", describe(n))
	return nil
}

// scalar converts a scalar for a string, boolean or number. Mismatches name what was found,
// never the value itself, which may be a secret.
func (d *decoder) scalar(n *yaml.Node, t reflect.Type, p *field.Path) any {
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode {
		tag = ""
	}
	switch t.Kind() {
	case reflect.String:
		if tag == "!!str" {
			d.checkResolved(n, p)
			return n.Value
		}
		if tag != "" {
			d.fail(n, p, "want a string, got %s (quote it)", describe(n))
			return nil
		}
		d.fail(n, p, "want a string, got %s", describe(n))
	case reflect.Bool:
		var b bool
		if tag == "!!bool" && n.Decode(&b) == nil {
			return b
		}
		d.fail(n, p, "want true or false, got %s", describe(n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if tag == "!!int" && n.Decode(&i) == nil && !reflect.Zero(t).OverflowInt(i) {
			return i
		}
		d.fail(n, p, "want an integer that fits in %d bits, got %s", t.Bits(), describe(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if tag == "!!int" && n.Decode(&u) == nil && !reflect.Zero(t).OverflowUint(u) {
			return u
		}
		d.fail(n, p, "want a non-negative integer that fits in %d bits, got %s", t.Bits(), describe(n))
	case reflect.Float32, reflect.Float64:
		var f float64
		if (tag == "!!int" || tag == "!!float") && n.Decode(&f) == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
		d.fail(n, p, "want a number, got %s", describe(n))
	default:
		d.fail(n, p, "cannot hold a %s value", t.Kind())
	}
	return nil
}

// plain converts any node to maps, lists and scalars, for fields typed any or with their own
// UnmarshalJSON.
func (d *decoder) plain(n *yaml.Node, p *field.Path, depth int) any {
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for _, kv := range d.pairs(n, p, depth) {
			out[kv.key.Value] = d.value(kv.value, reflect.TypeFor[any](), p.Child(kv.key.Value), depth+1)
		}
		return out
	case yaml.SequenceNode:
		return d.list(n, reflect.TypeFor[[]any](), p, depth)
	}
	if n.ShortTag() == "!!str" {
		return n.Value // the common case, without the cost of a yaml decoder per scalar
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.fail(n, p, "unreadable %s", describe(n))
		return nil
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		d.fail(n, p, "%s has no JSON form", describe(n))
		return nil
	}
	return v
}

// describe names what a node is, for type mismatch errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!timestamp":
		return "a date"
	case "!!null":
		return "null"
	}
	return "a " + n.ShortTag() + " value"
}
