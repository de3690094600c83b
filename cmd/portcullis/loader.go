package main

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// loader builds snapshots from the --config paths, or from the embedded demo when there are none,
// and puts reloaded ones in force.
type loader struct {
	paths   []string
	log     *slog.Logger
	reloads *prometheus.CounterVec
	mu      sync.Mutex // one reload at a time
	gen     uint64
}

func newLoader(paths []string, log *slog.Logger, reg prometheus.Registerer) *loader {
	l := &loader{paths: paths, log: log}
	l.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_config_reloads_total", Help: "Configuration reloads, by result.",
	}, []string{"result"})
	reg.MustRegister(l.reloads)
	return l
}

func (l *loader) build(ctx context.Context, previous *config.Snapshot) (*config.Snapshot, error) {
	l.gen++
	snap, err := config.Build(ctx, config.BuildOptions{
		Paths: l.paths, Logger: l.log, Getenv: os.Getenv, Previous: previous, Generation: l.gen,
	})
	if err != nil {
		return nil, err
	}
	if snap.Demo {
		l.log.Warn("NO --config GIVEN: SERVING THE EMBEDDED DEMO CONFIG. Its HS256 secret is public; " +
			"anyone can mint tokens for it (portcullis token). Never run it in production.")
	}
	l.log.Info("config loaded", "generation", snap.Generation, "sources", snap.Sources,
		"apis", len(snap.Apis()), "authorizers", len(snap.Authorizers()))
	return snap, nil
}

// reload builds a new snapshot off the hot path and swaps it in; on any error the snapshot in
// force keeps serving, and the error names every problem.
func (l *loader) reload(ctx context.Context, eng *engine.Engine, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := eng.Snapshot()
	snap, err := l.build(ctx, old)
	if err != nil {
		l.reloads.WithLabelValues("error").Inc()
		l.log.Error("config reload rejected; the previous config keeps serving", "trigger", why, "error", err.Error())
		return
	}
	eng.Swap(snap)
	l.reloads.WithLabelValues("success").Inc()
	old.CloseExcept(snap)
}
