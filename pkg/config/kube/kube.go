// Package kube is the Kubernetes config source: it watches Authorizer and Api custom resources
// (portcullis.dev/v1alpha1) through informers, builds a snapshot off the hot path on every
// change with the same builder as files (config.BuildResources), and writes each resource's
// status: Accepted=True, or Accepted=False with the problems "validate" would report.
//
// It uses fixed GroupVersionResources, never discovery: less API traffic, less RBAC, and it
// works against API servers that serve only custom resources.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/config"
)

// The resources read, by kind.
var (
	AuthorizersGVR = schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: "authorizers"}
	ApisGVR        = schema.GroupVersionResource{Group: v1alpha1.Group, Version: v1alpha1.Version, Resource: "apis"}
)

// kinds pairs each kind with its resource, Authorizers first.
var kinds = []struct {
	kind string
	gvr  schema.GroupVersionResource
}{
	{v1alpha1.KindAuthorizer, AuthorizersGVR},
	{v1alpha1.KindApi, ApisGVR},
}

// Target is what snapshots are put in force in: the engine.
type Target interface {
	Snapshot() *config.Snapshot
	Swap(*config.Snapshot) *config.Snapshot
}

// Options configure a Source.
type Options struct {
	// Config reaches the API server.
	Config *rest.Config
	// Namespace to watch; "" for all.
	Namespace string
	// Build says how backends are made (Logger, Getenv, HTTPClient...); Previous, Generation
	// and Source are set by the Source.
	Build config.BuildOptions
	// Logger for changes, problems and the API server's reachability.
	Logger *slog.Logger
	// Registerer takes the source's metrics; nil: none.
	Registerer prometheus.Registerer
	// Reloads, when set, counts each rebuild by result ("success", "error"), like file reloads.
	Reloads *prometheus.CounterVec
	// Fold is how long changes are gathered after the first before a rebuild (default 50ms):
	// a `kubectl apply` of several resources makes one snapshot, well within the second a
	// change may take.
	Fold time.Duration
	// Probe is how often the API server's /healthz is asked (default 2s): a watch that cannot
	// reconnect is retried quietly, so this is how an outage shows.
	Probe time.Duration
}

// Source keeps snapshots in step with the resources in the API server.
type Source struct {
	opts      Options
	log       *slog.Logger
	client    dynamic.Interface
	factory   dynamicinformer.DynamicSharedInformerFactory
	informers map[string]cache.SharedIndexInformer // by kind
	status    *statusWriter
	health    *health
	metrics   *metrics

	kick  chan struct{}
	ready atomic.Bool

	mu       sync.Mutex // one rebuild at a time; guards what follows
	gen      uint64
	accepted map[string]acceptedVersion // by resource UID
	problems map[string]string          // by kind/namespace/name: the last problems logged
}

// acceptedVersion is the last version of a resource that went into a snapshot.
type acceptedVersion struct {
	json       []byte
	generation int64
}

// New makes a Source. Nothing runs until Run.
func New(opts Options) (*Source, error) {
	if opts.Config == nil {
		return nil, errors.New("kube: no API server configuration")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Fold <= 0 {
		opts.Fold = 50 * time.Millisecond
	}
	if opts.Probe <= 0 {
		opts.Probe = 2 * time.Second
	}
	client, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	s := &Source{
		opts:      opts,
		log:       opts.Logger,
		client:    client,
		factory:   dynamicinformer.NewFilteredDynamicSharedInformerFactory(client, 0, opts.Namespace, nil),
		informers: map[string]cache.SharedIndexInformer{},
		metrics:   newMetrics(opts.Registerer),
		kick:      make(chan struct{}, 1),
		accepted:  map[string]acceptedVersion{},
		problems:  map[string]string{},
	}
	if s.health, err = newHealth(s, opts.Config); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	s.status = newStatusWriter(s)
	for _, k := range kinds {
		inf := s.factory.ForResource(k.gvr).Informer()
		if err := inf.SetWatchErrorHandlerWithContext(s.health.watchError(k.kind)); err != nil {
			return nil, fmt.Errorf("kube: %w", err)
		}
		if _, err := inf.AddEventHandler(s.handler()); err != nil {
			return nil, fmt.Errorf("kube: %w", err)
		}
		s.informers[k.kind] = inf
	}
	return s, nil
}

// Name says what the source reads, for logs and snapshots.
func (s *Source) Name() string {
	if s.opts.Namespace == "" {
		return "kubernetes (all namespaces)"
	}
	return "kubernetes (namespace " + s.opts.Namespace + ")"
}

// Empty is the snapshot to serve until the first full sync: no Api, so every Check is denied.
func (s *Source) Empty(ctx context.Context) (*config.Snapshot, error) {
	opts := s.opts.Build
	opts.Source = s.Name()
	snap, _, err := config.BuildResources(ctx, nil, opts)
	return snap, err
}

// Ready reports nil once the first full sync of both kinds is in force.
func (s *Source) Ready() error {
	if !s.ready.Load() {
		return errors.New("waiting for the first sync of Authorizers and Apis from the Kubernetes API")
	}
	return nil
}

// Trigger asks for a rebuild (SIGHUP): a secret file or variable may have changed.
func (s *Source) Trigger() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run syncs, puts the first snapshot in force, then rebuilds on every change until ctx ends.
// Losing the API server never stops it: the snapshot in force keeps serving.
func (s *Source) Run(ctx context.Context, target Target) error {
	s.factory.Start(ctx.Done())
	defer s.factory.Shutdown()
	go s.health.run(ctx)
	go s.status.run(ctx)
	synced := make([]cache.InformerSynced, 0, len(s.informers))
	for _, inf := range s.informers {
		synced = append(synced, inf.HasSynced)
	}
	s.log.Info("waiting for the first sync from the Kubernetes API", "source", s.Name())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil // ctx ended
	}
	s.health.up()
	s.rebuild(ctx, target)
	s.ready.Store(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
		// Gather the rest of a burst of changes into the same rebuild.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opts.Fold):
		}
		select {
		case <-s.kick:
		default:
		}
		s.rebuild(ctx, target)
	}
}

// handler asks for a rebuild on every change that can change a snapshot: adds, deletes and
// spec changes. Status writes (ours included) and metadata edits keep metadata.generation and
// are ignored, as are the updates a relist delivers for unchanged objects.
func (s *Source) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.Trigger() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*unstructured.Unstructured)
			n, ok2 := newObj.(*unstructured.Unstructured)
			if ok1 && ok2 && o.GetGeneration() == n.GetGeneration() && o.GetUID() == n.GetUID() {
				return
			}
			s.Trigger()
		},
		DeleteFunc: func(any) { s.Trigger() },
	}
}
