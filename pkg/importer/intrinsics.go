package importer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// unresolvedMark starts a value the import could not resolve; `portcullis validate` rejects it.
const unresolvedMark = "<unresolved: "

// unresolved is how a value the import could not resolve is written: NAME is what --set takes.
func unresolved(name string) string { return unresolvedMark + name + ">" }

// resolver evaluates CloudFormation's intrinsic functions (short !Ref and long Ref / Fn::* forms)
// in the parts of a template the import reads. Names come from --set first, then template
// parameters' defaults, then the pseudo-parameters the flags give; what is left is written as
// <unresolved: NAME> and reported once.
type resolver struct {
	file       string
	opts       Options
	rep        *reporter
	params     *yaml.Node
	resources  *yaml.Node
	conditions *yaml.Node
	mappings   *yaml.Node
	evaluating map[string]bool // conditions being evaluated, to stop a loop
}

// skipKeys are OpenAPI fields the import never reads; their intrinsics (integration URIs naming
// backend functions, titles naming the stack) are dropped instead of being reported.
var skipKeys = map[string]bool{
	"x-amazon-apigateway-integration":        true,
	"x-amazon-apigateway-integrations":       true,
	"x-amazon-apigateway-policy":             true,
	"x-amazon-apigateway-request-validators": true,
	"info":                                   true,
	"description":                            true,
	"summary":                                true,
	"tags":                                   true,
	"x-amazon-apigateway-cors":               true,
	"responses":                              true,
	"parameters":                             true,
	"requestBody":                            true,
	"schemas":                                true,
	"definitions":                            true,
}

// resolve returns a copy of n with every intrinsic evaluated; nil for AWS::NoValue.
func (r *resolver) resolve(n *yaml.Node) *yaml.Node { return r.node(n, false, 0) }

// resolveBody is resolve for an OpenAPI body: fields in skipKeys are left out.
func (r *resolver) resolveBody(n *yaml.Node) *yaml.Node { return r.node(n, true, 0) }

const maxResolveDepth = 100

func (r *resolver) node(n *yaml.Node, body bool, depth int) *yaml.Node {
	if n == nil || depth > maxResolveDepth {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return r.node(n.Alias, body, depth+1)
	}
	if fn, arg, ok := intrinsic(n); ok {
		return r.call(fn, arg, n, body, depth)
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if body && skipKeys[k.Value] {
				continue
			}
			v := r.node(n.Content[i+1], body, depth+1)
			if v == nil {
				continue
			}
			out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value, Line: k.Line, Column: k.Column}, v)
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		for _, item := range n.Content {
			if v := r.node(item, body, depth+1); v != nil {
				out.Content = append(out.Content, v)
			}
		}
		return out
	case yaml.ScalarNode:
		c := *n
		if strings.HasPrefix(c.Tag, "!") && !strings.HasPrefix(c.Tag, "!!") {
			c.Tag = "!!str" // an unknown custom tag: keep the text
		}
		return &c
	}
	return nil
}

// intrinsic recognises !Fn short forms and {Fn::X: arg} / {Ref: arg} long forms.
func intrinsic(n *yaml.Node) (string, *yaml.Node, bool) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		arg := *n
		arg.Tag = ""
		switch n.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return name, &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

func scalar(value string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Line: line}
}

func (r *resolver) unresolvedNode(name string, line int, why string) *yaml.Node {
	r.rep.add(r.file, line, "unresolved "+name, "%s; give --set %s=VALUE", why, name)
	return scalar(unresolved(name), line)
}

// call evaluates one intrinsic function.
func (r *resolver) call(fn string, arg, at *yaml.Node, body bool, depth int) *yaml.Node {
	line := at.Line
	switch fn {
	case "Ref":
		return r.ref(r.text(arg, depth), line)
	case "Fn::GetAtt":
		return r.getAtt(r.getAttName(arg, depth), line)
	case "Fn::Sub":
		return r.sub(arg, line, depth)
	case "Fn::Join":
		return r.join(arg, line, depth)
	case "Fn::Select":
		return r.selectFn(arg, line, depth)
	case "Fn::Split":
		return r.split(arg, line, depth)
	case "Fn::If":
		return r.ifFn(arg, line, body, depth)
	case "Fn::FindInMap":
		return r.findInMap(arg, line, depth)
	case "Fn::ImportValue":
		name := r.text(arg, depth)
		if v, ok := r.opts.Set[name]; ok {
			return scalar(v, line)
		}
		return r.unresolvedNode(name, line, "Fn::ImportValue reads another stack's export")
	}
	return r.unresolvedNode(fn, line, "the import does not evaluate "+fn)
}

// text resolves arg to a string (an unresolved mark when it cannot be).
func (r *resolver) text(arg *yaml.Node, depth int) string {
	v := r.node(arg, false, depth+1)
	if v == nil || v.Kind != yaml.ScalarNode {
		return unresolved("non-scalar value")
	}
	return v.Value
}

func (r *resolver) ref(name string, line int) *yaml.Node {
	if v, ok := r.opts.Set[name]; ok {
		return scalar(v, line)
	}
	switch name {
	case "AWS::NoValue":
		return nil
	case "AWS::Partition":
		return scalar("aws", line)
	case "AWS::URLSuffix":
		return scalar("amazonaws.com", line)
	case "AWS::Region":
		if r.opts.Region != "" {
			return scalar(r.opts.Region, line)
		}
	case "AWS::AccountId":
		if r.opts.AccountID != "" {
			return scalar(r.opts.AccountID, line)
		}
	}
	if p := child(r.params, name); p != nil {
		if d := child(p, "Default"); d != nil {
			return r.node(d, false, 0)
		}
		return r.unresolvedNode(name, line, "template parameter without a Default")
	}
	if res := child(r.resources, name); res != nil {
		return r.unresolvedNode(name, line, "!Ref of resource "+name+" is its physical ID, known only once deployed")
	}
	if strings.HasPrefix(name, "AWS::") {
		return r.unresolvedNode(name, line, "pseudo-parameter "+name+" is known only once deployed")
	}
	return r.unresolvedNode(name, line, "neither a parameter nor a resource of this template")
}

func (r *resolver) getAttName(arg *yaml.Node, depth int) string {
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		return r.text(arg.Content[0], depth) + "." + r.text(arg.Content[1], depth)
	}
	return r.text(arg, depth)
}

func (r *resolver) getAtt(name string, line int) *yaml.Node {
	if v, ok := r.opts.Set[name]; ok {
		return scalar(v, line)
	}
	return r.unresolvedNode(name, line, "!GetAtt "+name+" is known only once deployed")
}

// sub replaces ${NAME} (a variable of the second form, a parameter or resource, or
// Logical.Attr) and turns ${!Literal} into ${Literal}.
func (r *resolver) sub(arg *yaml.Node, line, depth int) *yaml.Node {
	tmpl := arg
	var vars *yaml.Node
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		tmpl, vars = arg.Content[0], arg.Content[1]
	}
	s := r.text(tmpl, depth)
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		s = s[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v *yaml.Node
		switch {
		case child(vars, name) != nil:
			v = r.node(child(vars, name), false, depth+1)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			v = r.getAtt(name, line)
		default:
			v = r.ref(name, line)
		}
		if v != nil && v.Kind == yaml.ScalarNode {
			b.WriteString(v.Value)
		}
	}
	return scalar(b.String(), line)
}

func (r *resolver) join(arg *yaml.Node, line, depth int) *yaml.Node {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return r.unresolvedNode("Fn::Join", line, "Fn::Join takes [delimiter, [values]]")
	}
	list := r.node(arg.Content[1], false, depth+1)
	if list == nil || list.Kind != yaml.SequenceNode {
		return r.unresolvedNode("Fn::Join", line, "Fn::Join's values are not a list")
	}
	parts := make([]string, 0, len(list.Content))
	for _, it := range list.Content {
		parts = append(parts, it.Value)
	}
	return scalar(strings.Join(parts, r.text(arg.Content[0], depth)), line)
}

func (r *resolver) selectFn(arg *yaml.Node, line, depth int) *yaml.Node {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return r.unresolvedNode("Fn::Select", line, "Fn::Select takes [index, list]")
	}
	i, err := strconv.Atoi(r.text(arg.Content[0], depth))
	list := r.node(arg.Content[1], false, depth+1)
	if err != nil || list == nil || list.Kind != yaml.SequenceNode || i < 0 || i >= len(list.Content) {
		return r.unresolvedNode("Fn::Select", line, "Fn::Select's index is not in its list")
	}
	return list.Content[i]
}

func (r *resolver) split(arg *yaml.Node, line, depth int) *yaml.Node {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
		return r.unresolvedNode("Fn::Split", line, "Fn::Split takes [delimiter, text]")
	}
	out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
	for _, part := range strings.Split(r.text(arg.Content[1], depth), r.text(arg.Content[0], depth)) {
		out.Content = append(out.Content, scalar(part, line))
	}
	return out
}

func (r *resolver) findInMap(arg *yaml.Node, line, depth int) *yaml.Node {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
		return r.unresolvedNode("Fn::FindInMap", line, "Fn::FindInMap takes [map, key, key]")
	}
	m := child(child(child(r.mappings, r.text(arg.Content[0], depth)), r.text(arg.Content[1], depth)), r.text(arg.Content[2], depth))
	if m == nil {
		return r.unresolvedNode("Fn::FindInMap", line, "no such entry in Mappings")
	}
	return r.node(m, false, depth+1)
}

func (r *resolver) ifFn(arg *yaml.Node, line int, body bool, depth int) *yaml.Node {
	if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
		return r.unresolvedNode("Fn::If", line, "Fn::If takes [condition, then, else]")
	}
	name := arg.Content[0].Value
	v, ok := r.condition(name, depth)
	if !ok {
		return r.unresolvedNode(name, line, "condition "+name+" cannot be evaluated (give true or false)")
	}
	if v {
		return r.node(arg.Content[1], body, depth+1)
	}
	return r.node(arg.Content[2], body, depth+1)
}

// condition evaluates a named condition: --set NAME=true|false first, then the template's
// Conditions section.
func (r *resolver) condition(name string, depth int) (bool, bool) {
	if v, ok := r.opts.Set[name]; ok {
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	n := child(r.conditions, name)
	if n == nil || r.evaluating[name] {
		return false, false
	}
	if r.evaluating == nil {
		r.evaluating = map[string]bool{}
	}
	r.evaluating[name] = true
	defer delete(r.evaluating, name)
	return r.boolExpr(n, depth)
}

func (r *resolver) boolExpr(n *yaml.Node, depth int) (bool, bool) {
	fn, arg, ok := intrinsic(n)
	if !ok && n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Condition" {
		fn, arg, ok = "Condition", n.Content[1], true // {Condition: Name} inside a condition
	}
	if !ok || depth > maxResolveDepth {
		return false, false
	}
	switch fn {
	case "Condition":
		return r.condition(arg.Value, depth+1)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return false, false
		}
		a, b := r.text(arg.Content[0], depth), r.text(arg.Content[1], depth)
		if strings.Contains(a, unresolvedMark) || strings.Contains(b, unresolvedMark) {
			return false, false
		}
		return a == b, true
	case "Fn::Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return false, false
		}
		v, ok := r.boolExpr(arg.Content[0], depth+1)
		return !v, ok
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode {
			return false, false
		}
		result := fn == "Fn::And"
		for _, c := range arg.Content {
			v, ok := r.boolExpr(c, depth+1)
			if !ok {
				return false, false
			}
			if fn == "Fn::And" {
				result = result && v
			} else {
				result = result || v
			}
		}
		return result, true
	}
	return false, false
}

// toJSON converts a resolved node tree to JSON, numbers and booleans kept as YAML typed them
// (version fields such as `swagger: 2.0` stay strings).
func toJSON(n *yaml.Node) ([]byte, error) {
	return json.Marshal(toAny(n, ""))
}

func toAny(n *yaml.Node, key string) any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		return toAny(n.Alias, key)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			m[k] = toAny(n.Content[i+1], k)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			l = append(l, toAny(it, ""))
		}
		return l
	}
	if key == "swagger" || key == "openapi" {
		return n.Value
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			if key == "authorizerPayloadFormatVersion" {
				return fmt.Sprintf("%.1f", f) // 1.0 as a number is "1.0", not 1
			}
			return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!null":
		return nil
	}
	return n.Value
}
