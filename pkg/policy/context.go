package policy

import (
	"sort"
	"strings"
	"unique"
)

// Context is an authorizer's context as conditions read it (context:<key>): its entries sorted
// by key. A slice rather than a map: a cache holds one per identity, and a map of one key costs
// about ten times its entry.
type Context []ContextValue

// ContextValue is one context entry.
type ContextValue struct {
	Key   string
	Value any
}

// NewContext sorts m's entries into a Context; nil for an empty map. Keys are interned: a
// million answers with the same context keys share one copy of each.
func NewContext(m map[string]any) Context {
	if len(m) == 0 {
		return nil
	}
	c := make(Context, 0, len(m))
	for k, v := range m {
		c = append(c, ContextValue{unique.Make(k).Value(), v})
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Key < c[j].Key })
	return c
}

// Lookup finds an entry by name, ignoring case as IAM does for key names. An exact match wins;
// among entries differing only in case, the first in sorted order.
func (c Context) Lookup(name string) any {
	i := sort.Search(len(c), func(i int) bool { return c[i].Key >= name })
	if i < len(c) && c[i].Key == name {
		return c[i].Value
	}
	for _, e := range c {
		if strings.EqualFold(e.Key, name) {
			return e.Value
		}
	}
	return nil
}

// Map returns the entries as a new map.
func (c Context) Map() map[string]any {
	m := make(map[string]any, len(c))
	for _, e := range c {
		m[e.Key] = e.Value
	}
	return m
}
