package kube

import (
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig reaches the API server: through the kubeconfig file named (or by $KUBECONFIG),
// else with the pod's service account (in-cluster).
func RESTConfig(kubeconfig, userAgent string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" && os.Getenv("KUBECONFIG") == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = kubeconfig
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes API configuration: %w", err)
	}
	cfg.UserAgent = userAgent
	// Watches hold one connection per kind; the budget is for the initial lists and the
	// status writes after a large apply.
	cfg.QPS, cfg.Burst = 20, 50
	return cfg, nil
}
