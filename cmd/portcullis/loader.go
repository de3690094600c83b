package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// loader builds snapshots from the --config paths, or from the embedded demo when there are none.
type loader struct {
	paths   []string
	log     *slog.Logger
	reloads *prometheus.CounterVec
}

func newLoader(paths []string, log *slog.Logger, reg prometheus.Registerer) *loader {
	l := &loader{paths: paths, log: log}
	l.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_config_reloads_total", Help: "Configuration reloads, by result.",
	}, []string{"result"})
	reg.MustRegister(l.reloads)
	return l
}

func (l *loader) build(ctx context.Context) (*config.Snapshot, error) {
	snap, err := config.Build(ctx, config.BuildOptions{Paths: l.paths, Logger: l.log, Getenv: os.Getenv})
	if err != nil {
		return nil, err
	}
	if snap.Demo {
		l.log.Warn("NO --config GIVEN: SERVING THE EMBEDDED DEMO CONFIG. Its HS256 secret is public; " +
			"anyone can mint tokens for it (portcullis token). Never run it in production.")
	}
	l.log.Info("config loaded", "sources", snap.Sources, "apis", len(snap.Apis()), "authorizers", len(snap.Authorizers()))
	return snap, nil
}

// reload builds a new snapshot and puts it in force; on any error the old one keeps serving.
func (l *loader) reload(ctx context.Context, eng *engine.Engine) {
	snap, err := l.build(ctx)
	if err != nil {
		l.reloads.WithLabelValues("error").Inc()
		l.log.Error("config reload rejected; the previous config keeps serving", "error", err.Error())
		return
	}
	old := eng.Swap(snap)
	l.reloads.WithLabelValues("success").Inc()
	old.Close()
}
