// Package admin serves the operator's HTTP endpoints: /healthz (the process is alive), /readyz
// (a configuration is loaded and every remote key set was fetched) and /metrics (Prometheus).
package admin

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the admin handler.
type Options struct {
	// Ready reports why the service is not ready yet, or nil when it is.
	Ready    func() error
	Gatherer prometheus.Gatherer
	// Extra handlers mounted beside the built-in ones (e.g. a forward-auth front).
	Extra map[string]http.Handler
}

// Handler returns the admin HTTP handler.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain; charset=utf-8")
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		fmt.Fprintln(w, "ready")
	})
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	for path, h := range opts.Extra {
		mux.Handle(path, h)
	}
	return mux
}
