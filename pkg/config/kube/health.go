package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Reachability of the API server.
const (
	stateUnknown int32 = iota
	stateUp
	stateDown
)

// health tracks whether the API server answers. The informers retry on their own; this only
// makes an outage visible (a log line when it starts and when it ends, a gauge) while the
// snapshot in force keeps serving.
type health struct {
	s        *Source
	mu       sync.Mutex
	refusals map[string]string // by kind: the last refusal logged
	state    atomic.Int32
	poke     chan struct{}
	client   *http.Client
	url      string // the API server's /healthz
}

func newHealth(s *Source, cfg *rest.Config) (*health, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	base, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, err
	}
	return &health{s: s, poke: make(chan struct{}, 1), client: client, url: base.JoinPath("healthz").String(),
		refusals: map[string]string{}}, nil
}

// watchError is the informers' watch error handler. A watch that ends (EOF, expired resource
// version) is routine, but is also what an API server going away looks like first: both make
// the API server be probed at once.
func (h *health) watchError(kind string) cache.WatchErrorHandlerWithContext {
	return func(_ context.Context, _ *cache.Reflector, err error) {
		h.s.metrics.watchErrors.WithLabelValues(kind).Inc()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
			// The API server answers, but not with these resources: say why, once per cause.
			h.refused(kind, err)
		default:
			h.down(err)
		}
		select {
		case h.poke <- struct{}{}:
		default:
		}
	}
}

// refused logs why the API server does not serve a kind, when the reason changes.
func (h *health) refused(kind string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refusals[kind] == err.Error() {
		return
	}
	h.refusals[kind] = err.Error()
	hint := "are the CRDs installed?"
	if !apierrors.IsNotFound(err) {
		hint = "does the service account have the RBAC of docs/kubernetes.md?"
	}
	h.s.log.Error("the Kubernetes API server refuses to list "+kind+"s; "+hint, "source", h.s.Name(), "error", err.Error())
}

func (h *health) down(err error) {
	if h.state.Swap(stateDown) != stateDown {
		h.s.log.Error("lost the Kubernetes API server; the config in force keeps serving", "source", h.s.Name(), "error", err.Error())
	}
	h.s.metrics.connected.Set(0)
}

func (h *health) up() {
	h.s.metrics.connected.Set(1)
	if h.state.Swap(stateUp) == stateDown {
		h.s.log.Info("reached the Kubernetes API server again", "source", h.s.Name())
		// Status writes given up on during the outage are due again.
		h.s.status.requeue()
	}
}

// run probes the API server when poked and every Probe interval. The informers retry a lost
// watch on their own without telling anyone, so an outage is only seen by asking.
func (h *health) run(ctx context.Context) {
	ticker := time.NewTicker(h.s.opts.Probe)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.poke:
		case <-ticker.C:
		}
		h.probe(ctx)
	}
}

// probe asks the API server's /healthz, which every client may read (system:public-info-viewer).
func (h *health) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := h.healthz(ctx)
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
	case err != nil:
		h.down(err)
	default:
		h.up()
	}
}

func (h *health) healthz(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) // drained for reuse; what it held does not matter
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return nil
}
