package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/config/kube"
)

// Config sources.
const (
	sourceFiles      = "files"
	sourceKubernetes = "kubernetes"
)

// kubeFlags choose the config source and, for Kubernetes, where to read resources.
type kubeFlags struct {
	source     string
	namespace  string
	kubeconfig string
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.source, "config-source", sourceFiles, "where the config comes from: files (--config) or kubernetes (Authorizer and Api custom resources)")
	fs.StringVar(&k.namespace, "namespace", "", "with --config-source kubernetes: the namespace to read resources from (default: all)")
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "with --config-source kubernetes: kubeconfig file (default: $KUBECONFIG, else the pod's service account)")
}

func (k *kubeFlags) validate(configs []string) error {
	switch k.source {
	case sourceFiles:
		if k.namespace != "" || k.kubeconfig != "" {
			return errors.New("--namespace and --kubeconfig need --config-source kubernetes")
		}
	case sourceKubernetes:
		if len(configs) > 0 {
			return errors.New("--config reads files: not with --config-source kubernetes")
		}
	default:
		return fmt.Errorf("--config-source: %q: want files or kubernetes", k.source)
	}
	return nil
}

func (k *kubeFlags) enabled() bool { return k.source == sourceKubernetes }

// newSource makes the Kubernetes source and the empty snapshot served until its first sync.
func (k *kubeFlags) newSource(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, reloads *prometheus.CounterVec) (*kube.Source, *config.Snapshot, error) {
	// client-go logs through klog: keep every line JSON.
	klog.SetSlogLogger(log.With("component", "client-go"))
	cfg, err := kube.RESTConfig(k.kubeconfig, "portcullis/"+version)
	if err != nil {
		return nil, nil, err
	}
	src, err := kube.New(kube.Options{
		Config:     cfg,
		Namespace:  k.namespace,
		Build:      config.BuildOptions{Logger: log, Getenv: os.Getenv},
		Logger:     log,
		Registerer: reg,
		Reloads:    reloads,
	})
	if err != nil {
		return nil, nil, err
	}
	snap, err := src.Empty(ctx)
	if err != nil {
		return nil, nil, err
	}
	return src, snap, nil
}
