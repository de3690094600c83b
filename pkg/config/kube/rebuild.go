package kube

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/portcullis-dev/portcullis/pkg/config"
)

// item is one resource of the informers' caches, as the builder takes it.
type item struct {
	obj      *unstructured.Unstructured
	resource config.Resource
}

// key names a resource in logs and the status queue: Kind/namespace/name.
func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

// rebuild builds a snapshot from the informers' caches and puts it in force, then queues the
// status of every resource whose reported status is not what this build says.
func (s *Source) rebuild(ctx context.Context, target Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	items := s.items()
	resources := make([]config.Resource, len(items))
	for i := range items {
		resources[i] = items[i].resource
	}
	s.gen++
	opts := s.opts.Build
	opts.Logger = s.log
	opts.Previous = target.Snapshot()
	opts.Generation = s.gen
	opts.Source = s.Name()
	snap, results, err := config.BuildResources(ctx, resources, opts)
	if err != nil {
		s.count("error")
		s.log.Error("config rebuild failed; the previous config keeps serving", "source", s.Name(), "error", err.Error())
		return
	}
	old := target.Swap(snap)
	old.CloseExcept(snap)
	s.count("success")

	live := map[string]bool{}
	desired := make(map[string]desiredStatus, len(items))
	counts := map[string]map[string]int{}
	for i, it := range items {
		r, res := &it.resource, &results[i]
		uid := string(it.obj.GetUID())
		live[uid] = true
		if res.Serving == config.ServingCurrent {
			s.accepted[uid] = acceptedVersion{json: r.Current, generation: it.obj.GetGeneration()}
		}
		state := s.logProblems(r, res)
		if counts[r.Kind] == nil {
			counts[r.Kind] = map[string]int{}
		}
		counts[r.Kind][state]++
		desired[key(r.Kind, r.Namespace, r.Name)] = statusFor(it.obj, *res)
	}
	for uid := range s.accepted {
		if !live[uid] {
			delete(s.accepted, uid)
		}
	}
	for k := range s.problems {
		if _, ok := desired[k]; !ok {
			delete(s.problems, k)
		}
	}
	s.metrics.setResources(counts)
	s.log.Info("config loaded", "generation", snap.Generation, "sources", snap.Sources,
		"apis", len(snap.Apis()), "authorizers", len(snap.Authorizers()),
		"duration_ms", float64(time.Since(start).Microseconds())/1000)
	s.status.set(desired)
}

// items lists the cached resources oldest first (then by namespace and name), the order in
// which they claim hosts, each with its JSON for the builder and its last accepted version.
func (s *Source) items() []item {
	var items []item
	for _, k := range kinds {
		for _, o := range s.informers[k.kind].GetStore().List() {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			r := config.Resource{Kind: k.kind, Namespace: u.GetNamespace(), Name: u.GetName(), Current: resourceJSON(k.kind, u)}
			if prev, ok := s.accepted[string(u.GetUID())]; ok {
				r.Previous = prev.json
			}
			items = append(items, item{obj: u, resource: r})
		}
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(
			a.obj.GetCreationTimestamp().Compare(b.obj.GetCreationTimestamp().Time),
			strings.Compare(a.obj.GetNamespace(), b.obj.GetNamespace()),
			strings.Compare(a.obj.GetName(), b.obj.GetName()),
			strings.Compare(a.resource.Kind, b.resource.Kind))
	})
	return items
}

// resourceJSON is what the builder reads of a resource: kind, name, namespace and spec. The
// rest of metadata and the status are the API server's and ours.
func resourceJSON(kind string, u *unstructured.Unstructured) []byte {
	doc := map[string]any{
		"apiVersion": u.GetAPIVersion(),
		"kind":       kind,
		"metadata":   map[string]any{"name": u.GetName(), "namespace": u.GetNamespace()},
	}
	if spec, ok := u.Object["spec"]; ok {
		doc["spec"] = spec
	}
	// Marshal cannot fail: the object came from JSON.
	b, _ := json.Marshal(doc)
	return b
}

// logProblems logs a resource's problems when they change (not on every rebuild) and returns
// its state for the metrics: accepted, previous (its last accepted version serves) or invalid.
func (s *Source) logProblems(r *config.Resource, res *config.ResourceResult) string {
	k := key(r.Kind, r.Namespace, r.Name)
	if res.Serving == config.ServingCurrent {
		if _, had := s.problems[k]; had {
			delete(s.problems, k)
			s.log.Info("resource accepted", "kind", r.Kind, "resource", r.ID())
		}
		return "accepted"
	}
	text := res.Problems.Error()
	state, msg := "invalid", "resource rejected; it is left out"
	if res.Serving == config.ServingPrevious {
		state, msg = "previous", "resource rejected; its last accepted version keeps serving"
	}
	if s.problems[k] != text {
		s.problems[k] = text
		s.log.Warn(msg, "kind", r.Kind, "resource", r.ID(), "error", text)
	}
	return state
}

func (s *Source) count(result string) {
	if s.opts.Reloads != nil {
		s.opts.Reloads.WithLabelValues(result).Inc()
	}
}
