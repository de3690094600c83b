package config

import (
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs lists the entries of a mapping with merge keys ("<<: *base") applied: keys written in
// the mapping win over merged ones, earlier merges over later ones. A key written twice is an
// error (YAML forbids it; yaml.v3 only says so when decoding into Go values).
func (d *decoder) pairs(n *yaml.Node, p *field.Path, depth int) []pair {
	var out []pair
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case isMergeKey(k):
			merges = append(merges, v)
			continue
		case k.Kind != yaml.ScalarNode:
			d.fail(k, p, "want a plain key, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.report(k, p.Child(k.Value), "duplicate field (first at line %d)", first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, v})
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, p, depth) {
			for _, kv := range d.pairs(src, p, depth+1) {
				if _, dup := seen[kv.key.Value]; !dup {
					seen[kv.key.Value] = kv.key
					out = append(out, kv)
				}
			}
		}
	}
	return out
}

// mergeSources returns the mappings a merge key names, reporting anything else.
func (d *decoder) mergeSources(v *yaml.Node, p *field.Path, depth int) []*yaml.Node {
	var out []*yaml.Node
	for _, src := range mergeSources(v) {
		src, ok := d.enter(src, p, depth+1)
		if !ok {
			return nil
		}
		if src.Kind != yaml.MappingNode {
			d.fail(src, p, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(src))
			continue
		}
		out = append(out, src)
	}
	return out
}
