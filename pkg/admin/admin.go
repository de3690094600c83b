// Package admin serves the operator's HTTP endpoints: /healthz (the process is alive), /readyz
// (a configuration is loaded and every remote key set was fetched), /metrics (Prometheus),
// cache invalidation when an admin token is set (POST /cache/invalidate) and, when asked for,
// Go's profiles under /debug/pprof/.
package admin

import (
	"fmt"
	"net/http"
	"net/http/pprof"

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
	// Profiling mounts net/http/pprof under /debug/pprof/. Off by default: a profile shows
	// the process's internals to whoever can reach the admin port.
	Profiling bool
	// AdminToken guards POST /cache/invalidate (Authorization: Bearer <token>). Empty, or
	// Invalidate nil: the endpoint does not exist.
	AdminToken string
	Invalidate Invalidator
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
	if opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	if opts.AdminToken != "" && opts.Invalidate != nil {
		mux.Handle("POST /cache/invalidate", invalidateHandler(opts.AdminToken, opts.Invalidate))
	}
	for path, h := range opts.Extra {
		mux.Handle(path, h)
	}
	return mux
}
