package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/config"
)

// Status writes and replicas.
//
// Every replica writes statuses; there is no leader. A status is a pure function of the
// resources (the problems validate reports, the generation, the backend kind), so replicas
// compute the same content, and a replica writes only when the stored status differs from it,
// conditions compared without their timestamps. Writes carry the resourceVersion they were
// computed from: when two replicas race, one wins and the other gets a 409, re-reads its cache
// and finds the status already there. So N replicas cost one write per change, not N, and
// nothing fights. Leader election would need a Lease API and its RBAC, and a wedged leader
// would leave every status stale; with equal writers there is nothing to elect.
//
// Writes are made after rebuilds only, never in answer to a status change: replicas that
// disagree (say during a rolling upgrade that rewords a message) then write once per change,
// instead of answering each other's writes forever.

// maxMessage bounds a condition's message, as the API server does.
const maxMessage = 32768

// maxRetries bounds the attempts of one status write that keeps failing.
const maxRetries = 15

// desiredStatus is what a rebuild says of one resource.
type desiredStatus struct {
	kind       string
	namespace  string
	name       string
	uid        types.UID
	generation int64
	accepted   bool
	message    string
	backend    string // Authorizers only
}

// statusFor is the status a build result gives a resource.
func statusFor(u *unstructured.Unstructured, res config.ResourceResult) desiredStatus {
	d := desiredStatus{
		kind: u.GetKind(), namespace: u.GetNamespace(), name: u.GetName(),
		uid: u.GetUID(), generation: u.GetGeneration(),
		accepted: res.Serving == config.ServingCurrent,
		message:  "accepted",
	}
	if d.kind == v1alpha1.KindAuthorizer {
		d.backend = backendOf(u)
	}
	if !d.accepted {
		d.message = problemsMessage(res.Problems)
	}
	return d
}

// problemsMessage lists problems as "spec.field: reason", as `portcullis validate` prints them
// after the resource's name.
func problemsMessage(problems config.ErrorList) string {
	parts := make([]string, len(problems))
	for i, p := range problems {
		parts[i] = p.Reason
		if p.Field != "" {
			parts[i] = p.Field + ": " + p.Reason
		}
	}
	msg := strings.Join(parts, "; ")
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	return msg
}

// backendOf names the backends a spec sets: http, lambda or jwt (the CRD admits exactly one).
func backendOf(u *unstructured.Unstructured) string {
	var names []string
	for _, b := range []string{"http", "lambda", "jwt"} {
		if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", b); ok {
			names = append(names, b)
		}
	}
	return strings.Join(names, ",")
}

func (d desiredStatus) condition() metav1.Condition {
	c := metav1.Condition{
		Type: v1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAccepted,
		Message: d.message, ObservedGeneration: d.generation,
	}
	if !d.accepted {
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalid
	}
	return c
}

// readStatus decodes the status stored in a resource.
func readStatus(u *unstructured.Unstructured) (v1alpha1.AuthorizerStatus, error) {
	var st v1alpha1.AuthorizerStatus
	raw, ok := u.Object["status"].(map[string]any)
	if !ok {
		return st, nil
	}
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st)
	return st, err
}

// matches reports whether u already holds this status.
func (d desiredStatus) matches(u *unstructured.Unstructured) bool {
	st, err := readStatus(u)
	if err != nil || st.ObservedGeneration != d.generation || st.Backend != d.backend {
		return false
	}
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionAccepted)
	want := d.condition()
	return c != nil && c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message &&
		c.ObservedGeneration == want.ObservedGeneration
}

// statusWriter brings stored statuses to what the last rebuild says, through a rate-limited
// queue of resource keys.
type statusWriter struct {
	s     *Source
	queue workqueue.TypedRateLimitingInterface[string]

	mu      sync.Mutex
	desired map[string]desiredStatus
}

func newStatusWriter(s *Source) *statusWriter {
	return &statusWriter{
		s: s,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "portcullis-status"}),
		desired: map[string]desiredStatus{},
	}
}

// set replaces the desired statuses and queues those not stored yet.
func (w *statusWriter) set(desired map[string]desiredStatus) {
	w.mu.Lock()
	w.desired = desired
	w.mu.Unlock()
	for k, d := range desired {
		if u := w.cached(d); u == nil || !d.matches(u) {
			w.queue.Add(k)
		}
	}
}

// requeue queues every desired status again, for those given up on while the API server was away.
func (w *statusWriter) requeue() {
	w.mu.Lock()
	desired := w.desired
	w.mu.Unlock()
	w.set(desired)
}

func (w *statusWriter) get(k string) (desiredStatus, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, ok := w.desired[k]
	return d, ok
}

// cached returns the resource d describes from the informer's cache, or nil.
func (w *statusWriter) cached(d desiredStatus) *unstructured.Unstructured {
	inf := w.s.informers[d.kind]
	if inf == nil {
		return nil
	}
	o, ok, err := inf.GetStore().GetByKey(d.namespace + "/" + d.name)
	if err != nil || !ok {
		return nil
	}
	u, _ := o.(*unstructured.Unstructured)
	return u
}

func (w *statusWriter) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		w.queue.ShutDown()
	}()
	for w.next(ctx) {
	}
}

func (w *statusWriter) next(ctx context.Context) bool {
	k, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(k)
	err := w.write(ctx, k)
	switch {
	case err == nil:
		w.queue.Forget(k)
	case w.queue.NumRequeues(k) < maxRetries:
		w.queue.AddRateLimited(k)
	default:
		w.queue.Forget(k)
		w.s.log.Warn("status not written", "resource", k, "error", err.Error())
	}
	return true
}

// write stores the desired status of k unless the cache shows it there already, or shows a
// newer version of the resource, whose own rebuild will set its status.
func (w *statusWriter) write(ctx context.Context, k string) error {
	d, ok := w.get(k)
	if !ok {
		return nil
	}
	u := w.cached(d)
	if u == nil || u.GetUID() != d.uid || u.GetGeneration() != d.generation || d.matches(u) {
		return nil
	}
	u = u.DeepCopy()
	st, err := readStatus(u)
	if err != nil {
		st = v1alpha1.AuthorizerStatus{} // unreadable: replace it
	}
	st.ObservedGeneration = d.generation
	st.Backend = d.backend
	meta.SetStatusCondition(&st.Conditions, d.condition())
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return fmt.Errorf("status of %s: %w", k, err)
	}
	u.Object["status"] = raw
	gvr := AuthorizersGVR
	if d.kind == v1alpha1.KindApi {
		gvr = ApisGVR
	}
	_, err = w.s.client.Resource(gvr).Namespace(d.namespace).UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: "portcullis"})
	switch {
	case err == nil:
		w.s.metrics.statusWrites.WithLabelValues("written").Inc()
		return nil
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		// Another replica wrote first, or the resource changed: retry from the cache.
		w.s.metrics.statusWrites.WithLabelValues("conflict").Inc()
		return err
	}
	w.s.metrics.statusWrites.WithLabelValues("error").Inc()
	return fmt.Errorf("status of %s: %w", k, err)
}
