package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// lineOf returns the line of the field at a path such as spec.routes[2].path (the line of its
// key), or of its nearest parent present in the YAML (a defaulted field has no node of its own).
func lineOf(root *yaml.Node, path string) int {
	n, line := root, root.Line
	for _, seg := range splitPath(path) {
		key, value := step(n, seg)
		if value == nil {
			break
		}
		n, line = value, key.Line
	}
	return line
}

// scalarAt returns the value of the scalar at a path, or "" when there is none.
func scalarAt(root *yaml.Node, path string) string {
	n := root
	for _, seg := range splitPath(path) {
		if _, n = step(n, seg); n == nil {
			return ""
		}
	}
	if n = resolve(n); n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// segment is one step of a field path: a field name, or what stood in brackets (a list index
// or a map key).
type segment struct {
	name      string
	bracketed bool
}

// splitPath splits a field path in the format of k8s.io/apimachinery's field.Path:
// spec.routes[2].path, spec.http.headers[x-api-key].
func splitPath(path string) []segment {
	var segs []segment
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, segment{name: path[1:end], bracketed: true})
			path = path[min(end+1, len(path)):]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, segment{name: path[:end]})
			path = path[end:]
		}
	}
	return segs
}

// step moves from a node to its child named by seg. It returns the child and the node that
// names it (its key in a mapping, itself in a list), or nils.
func step(n *yaml.Node, seg segment) (key, value *yaml.Node) {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode && seg.bracketed {
		i, err := strconv.Atoi(seg.name)
		if err != nil || i < 0 || i >= len(n.Content) {
			return nil, nil
		}
		return n.Content[i], n.Content[i]
	}
	return lookup(n, seg.name, 0)
}

// child returns the value of key in a mapping, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	_, v := lookup(n, key, 0)
	return v
}

// lookup finds key in a mapping, looking through merge keys ("<<: *base") the way YAML does:
// keys written in the mapping win over merged ones, earlier merges over later ones.
func lookup(n *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode || depth > maxDepth {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if isMergeKey(k) {
			merges = append(merges, mergeSources(n.Content[i+1])...)
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == key {
			return k, n.Content[i+1]
		}
	}
	for _, m := range merges {
		if k, v := lookup(m, key, depth+1); v != nil {
			return k, v
		}
	}
	return nil, nil
}

func isMergeKey(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// mergeSources lists the mappings a merge key's value names: one mapping or a list of them.
func mergeSources(v *yaml.Node) []*yaml.Node {
	v = resolve(v)
	if v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return []*yaml.Node{v}
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}
