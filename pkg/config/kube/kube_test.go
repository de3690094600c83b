package kube

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionstesting "k8s.io/apiextensions-apiserver/pkg/cmd/server/testing"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	etcdtesting "k8s.io/apiserver/pkg/storage/etcd3/testing"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// startAPIServer runs a real apiextensions-apiserver with an embedded etcd inside the test
// process, installs the project's CRDs and returns a client configuration for it.
func startAPIServer(tb testing.TB) *rest.Config {
	tb.Helper()
	etcd, _ := etcdtesting.NewUnsecuredEtcd3TestClientServer(tb)
	kc := filepath.Join(tb.TempDir(), "kubeconfig")
	// The flags must name a kubeconfig; it is never dialled.
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'http://127.0.0.1:1'}}]\n"+
		"contexts: [{name: x, context: {cluster: x, user: x}}]\ncurrent-context: x\nusers: [{name: x, user: {}}]\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	srv := apiextensionstesting.StartTestServerOrDie(tb, nil, []string{
		"--etcd-servers", strings.Join(etcd.V3Client.Endpoints(), ","),
		"--authentication-skip-lookup", "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc, "--kubeconfig", kc,
		"--enable-priority-and-fairness=false",
		"--disable-admission-plugins", "NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
	}, nil)
	tb.Cleanup(srv.TearDownFn)
	installCRDs(tb, srv.ClientConfig)
	return srv.ClientConfig
}

func installCRDs(tb testing.TB, cfg *rest.Config) {
	tb.Helper()
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	files, _ := filepath.Glob("../../../deploy/crds/*.yaml")
	if len(files) != 2 {
		tb.Fatalf("want two CRDs in deploy/crds, found %v", files)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(raw, &crd); err != nil {
			tb.Fatal(err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), &crd, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
		waitFor(tb, 30*time.Second, crd.Name+" established", func() bool {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), crd.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return true
				}
			}
			return false
		})
	}
}

func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// target holds the snapshot in force, as the engine does.
type target struct {
	snap atomic.Pointer[config.Snapshot]
}

func (t *target) Snapshot() *config.Snapshot { return t.snap.Load() }
func (t *target) Swap(s *config.Snapshot) *config.Snapshot {
	return t.snap.Swap(s)
}

// replica is one running Source with its own metrics.
type replica struct {
	src *Source
	tgt *target
	reg *prometheus.Registry
}

func startReplica(tb testing.TB, cfg *rest.Config, namespace string) *replica {
	tb.Helper()
	r := &replica{tgt: &target{}, reg: prometheus.NewRegistry()}
	src, err := New(Options{Config: rest.CopyConfig(cfg), Namespace: namespace, Registerer: r.reg})
	if err != nil {
		tb.Fatal(err)
	}
	empty, err := src.Empty(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	r.tgt.snap.Store(empty)
	r.src = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, r.tgt); close(done) }()
	tb.Cleanup(func() { cancel(); <-done; r.tgt.Snapshot().Close() })
	waitFor(tb, 30*time.Second, "first sync", func() bool { return src.Ready() == nil })
	return r
}

func (r *replica) writes() float64 {
	return testutil.ToFloat64(r.src.metrics.statusWrites.WithLabelValues("written"))
}

// client wraps a dynamic client with apply for YAML documents.
type client struct{ dyn dynamic.Interface }

func newClient(tb testing.TB, cfg *rest.Config) *client {
	tb.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &client{dyn: dyn}
}

func (c *client) apply(tb testing.TB, doc string) *unstructured.Unstructured {
	tb.Helper()
	u := &unstructured.Unstructured{}
	if err := sigsyaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		tb.Fatal(err)
	}
	gvr := AuthorizersGVR
	if u.GetKind() == "Api" {
		gvr = ApisGVR
	}
	ri := c.dyn.Resource(gvr).Namespace(u.GetNamespace())
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		var out *unstructured.Unstructured
		if err == nil {
			u.SetResourceVersion(cur.GetResourceVersion())
			out, err = ri.Update(ctx, u, metav1.UpdateOptions{})
		} else if apierrors.IsNotFound(err) {
			out, err = ri.Create(ctx, u, metav1.CreateOptions{})
		}
		if err == nil {
			return out
		}
		// A CRD just established can answer 404 for a moment; a status write can come between
		// our read and our update.
		if (apierrors.IsNotFound(err) || apierrors.IsConflict(err)) && time.Now().Before(deadline) {
			continue
		}
		tb.Fatalf("apply: %v", err)
	}
}

// accepted returns the Accepted condition's status, its message and status.observedGeneration,
// and the resource's generation.
func (c *client) accepted(tb testing.TB, gvrKind, ns, name string) (string, string, int64, int64) {
	tb.Helper()
	gvr := AuthorizersGVR
	if gvrKind == "Api" {
		gvr = ApisGVR
	}
	u, err := c.dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := readStatus(u)
	if err != nil {
		tb.Fatal(err)
	}
	for _, cond := range st.Conditions {
		if cond.Type == "Accepted" {
			return string(cond.Status), cond.Message, st.ObservedGeneration, u.GetGeneration()
		}
	}
	return "", "", st.ObservedGeneration, u.GetGeneration()
}

func (c *client) waitAccepted(tb testing.TB, kind, ns, name, want string) string {
	tb.Helper()
	var msg string
	waitFor(tb, 10*time.Second, fmt.Sprintf("%s %s/%s Accepted=%s", kind, ns, name, want), func() bool {
		status, m, observed, generation := c.accepted(tb, kind, ns, name)
		msg = m
		return status == want && observed == generation
	})
	return msg
}

const authorizerYAML = `apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: tokens, namespace: team}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  http: {url: "http://authz.example/"}
`

func apiYAML(name, host string, paths ...string) string {
	var routes strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&routes, "    - {path: %q, methods: [GET], authorizer: NONE}\n", p)
	}
	return fmt.Sprintf(`apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: %s, namespace: team}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: %s
  stage: prod
  hosts: [%s]
  defaultAuthorizer: tokens
  routes:
%s`, name, name, host, routes.String())
}

// TestReplicasDoNotFightOverStatus runs two Sources on one API server, as two replicas do:
// every status is written once, the racing replica's conflict is absorbed, and later rebuilds
// write nothing for resources whose status is already right.
func TestReplicasDoNotFightOverStatus(t *testing.T) {
	cfg := startAPIServer(t)
	c := newClient(t, cfg)
	a, b := startReplica(t, cfg, ""), startReplica(t, cfg, "")
	writes := func() float64 { return a.writes() + b.writes() }
	// barrier applies one more Api and waits until both replicas serve it and its status is
	// written: every rebuild before it is done, and so are the status writes it caused.
	marker := 0
	barrier := func() {
		marker++
		name := fmt.Sprintf("marker%d", marker)
		before := writes()
		c.apply(t, apiYAML(name, name+".example", "/m"))
		for _, r := range []*replica{a, b} {
			waitFor(t, 5*time.Second, "both replicas serve "+name, func() bool { return r.tgt.Snapshot().ApiByName("team/"+name) != nil })
		}
		c.waitAccepted(t, "Api", "team", name, "True")
		waitFor(t, 5*time.Second, "the marker's status write counted", func() bool { return writes() > before })
	}

	c.apply(t, authorizerYAML)
	c.apply(t, apiYAML("pets", "pets.example", "/pets", "vets"))
	c.waitAccepted(t, "Authorizer", "team", "tokens", "True")
	msg := c.waitAccepted(t, "Api", "team", "pets", "False")
	if msg != `spec.routes[1].path: "vets": must start with "/" (or be $default)` {
		t.Errorf("Accepted=False message %q", msg)
	}
	barrier()
	// Three resources (two and the marker), one status write each, however many replicas.
	if got := writes(); got != 3 {
		t.Errorf("%v status writes for three resources by two replicas, want 3", got)
	}

	// Fixing the Api: Accepted=True for the new generation, written once.
	c.apply(t, apiYAML("pets", "pets.example", "/pets", "/vets"))
	c.waitAccepted(t, "Api", "team", "pets", "True")
	barrier()
	if got := writes(); got != 5 {
		t.Errorf("%v status writes after the fix and a marker, want 5", got)
	}
	t.Logf("status writes: %v; conflicts absorbed: %v", writes(),
		testutil.ToFloat64(a.src.metrics.statusWrites.WithLabelValues("conflict"))+testutil.ToFloat64(b.src.metrics.statusWrites.WithLabelValues("conflict")))
}

// TestReadinessWaitsForFirstSync: a Source is not ready before its first full sync, and its
// first snapshot already holds what was there before it started.
func TestReadinessWaitsForFirstSync(t *testing.T) {
	cfg := startAPIServer(t)
	c := newClient(t, cfg)
	c.apply(t, authorizerYAML)
	c.apply(t, apiYAML("pets", "pets.example", "/pets"))
	src, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if src.Ready() == nil {
		t.Fatal("ready before running")
	}
	tgt := &target{}
	empty, _ := src.Empty(context.Background())
	tgt.snap.Store(empty)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, tgt); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 30*time.Second, "ready", func() bool { return src.Ready() == nil })
	if tgt.Snapshot().ApiByName("team/pets") == nil {
		t.Fatal("ready, but the first snapshot lacks the Api that existed before the start")
	}
}

// BenchmarkChangeToDecision measures the time from a resource change accepted by the API server
// to the first Check decided by it: each round adds a route to an Api and decides requests for
// it until one is allowed.
func BenchmarkChangeToDecision(b *testing.B) {
	cfg := startAPIServer(b)
	c := newClient(b, cfg)
	src, err := New(Options{Config: cfg, Namespace: "team"})
	if err != nil {
		b.Fatal(err)
	}
	empty, err := src.Empty(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(empty, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, eng); close(done) }()
	defer func() { cancel(); <-done }()
	c.apply(b, authorizerYAML)
	allowed := func(path string) bool {
		d := eng.Decide(context.Background(), &request.Request{Method: "GET", Host: "pets.example", Path: path, Scheme: "https", Time: time.Now()})
		defer eng.Release(d)
		return d.Outcome == engine.Allow
	}
	c.apply(b, apiYAML("pets", "pets.example", "/r0"))
	waitFor(b, 10*time.Second, "the first route", func() bool { return allowed("/r0") })
	var worst time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		path := fmt.Sprintf("/r%d", i)
		start := time.Now()
		c.apply(b, apiYAML("pets", "pets.example", "/r0", path))
		for !allowed(path) {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s not allowed after 10s", path)
			}
			time.Sleep(100 * time.Microsecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
