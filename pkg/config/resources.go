package config

import (
	"context"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Resource is one Authorizer or Api read from the Kubernetes API: the JSON of its current
// version and of the last version that was accepted. Each JSON holds apiVersion, kind, metadata
// (name and namespace) and spec.
type Resource struct {
	Kind      string // v1alpha1.KindAuthorizer or v1alpha1.KindApi
	Namespace string
	Name      string
	Current   []byte
	Previous  []byte // nil: no version of it was accepted yet
}

// ID is the name the resource goes by in snapshots, metrics and logs: namespace/name.
func (r *Resource) ID() string { return qualify(r.Namespace, r.Name) }

// Serving says which version of a resource a snapshot holds.
type Serving int

// Versions of a resource.
const (
	ServingCurrent  Serving = iota // the current version: accepted
	ServingPrevious                // the current version has problems; the last accepted one serves
	ServingNone                    // left out
)

// ResourceResult is what became of one resource in BuildResources.
type ResourceResult struct {
	Serving Serving
	// Problems of the current version, each "spec.field: reason" with Kind and Name set; empty
	// when it is accepted.
	Problems ErrorList
}

// BuildResources builds a Snapshot from resources, unlike Build never failing as a whole: a
// resource with a problem is left out on its own, and its last accepted version serves in its
// place when it still fits with the others. Resources come in order of precedence (oldest
// first): when two claim the same host, the later one is refused. Problems an accepted
// resource causes another (a missing Authorizer, a host claimed twice) are the other's.
//
// results holds one entry per resource, in the same order. err is set only when a problem
// could not be tied to a resource, which the callers' input (one object per kind and
// namespace/name, names set) never causes.
func BuildResources(ctx context.Context, resources []Resource, opts BuildOptions) (snap *Snapshot, results []ResourceResult, err error) {
	opts.defaults()
	results = make([]ResourceResult, len(resources))
	known := map[objectKey]bool{}
	index := map[objectKey]int{}
	for i := range resources {
		key := objectKey{resources[i].Kind, resources[i].ID()}
		known[key] = true
		index[key] = i
	}
	sources := []string{opts.Source}
	// Each round drops or falls back at least one resource, so it ends within 2n+1 rounds.
	for round := 0; round <= 2*len(resources)+1; round++ {
		set, errs := checkResources(resources, results, known)
		if len(errs) == 0 {
			validateOnly := opts
			validateOnly.ValidateOnly = true
			if _, errs = compile(ctx, set, validateOnly, sources); len(errs) == 0 {
				if snap, errs = compile(ctx, set, opts, sources); len(errs) == 0 {
					return snap, results, nil
				}
			}
		}
		failed := map[int]ErrorList{}
		for _, e := range errs {
			i, ok := index[objectKey{e.Kind, e.Name}]
			if !ok {
				return nil, nil, fmt.Errorf("config: a problem not tied to a resource: %w", e)
			}
			failed[i] = append(failed[i], e)
		}
		for i, problems := range failed {
			r := &results[i]
			if r.Serving == ServingCurrent {
				r.Problems = problems
				r.Serving = ServingPrevious
				if resources[i].Previous == nil {
					r.Serving = ServingNone
				}
				continue
			}
			r.Serving = ServingNone
		}
	}
	return nil, nil, fmt.Errorf("config: resources did not settle")
}

// checkResources decodes, defaults and checks the chosen version of every resource, as Load
// does for files.
func checkResources(resources []Resource, results []ResourceResult, known map[objectKey]bool) (*Set, ErrorList) {
	l := &loader{known: known}
	for i := range resources {
		r := &resources[i]
		data := r.Current
		switch results[i].Serving {
		case ServingPrevious:
			data = r.Previous
		case ServingNone:
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
			// The API server stores JSON; this is not reached but must not be silent.
			l.errs = append(l.errs, &Error{Kind: r.Kind, Name: r.ID(), Reason: fmt.Sprintf("invalid JSON: %v", err)})
			continue
		}
		l.ns = r.Namespace
		if d := l.parseDocument("", doc.Content[0]); d != nil {
			l.docs = append(l.docs, d)
		}
	}
	set := l.index()
	l.validateObjects()
	l.checkReferences(set)
	l.checkHosts()
	return set, l.errs
}
