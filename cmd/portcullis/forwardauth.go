package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/forwardauth"
)

// forwardAuthFlags configure the HTTP authorization front (SPEC section 15).
type forwardAuthFlags struct {
	addr       string
	mode       string
	pathPrefix string
	trusted    string
}

func (f *forwardAuthFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "forward-auth-addr", "", "HTTP forward-auth listen address (Envoy http_service, nginx auth_request, Caddy forward_auth, Traefik ForwardAuth); empty: off")
	fs.StringVar(&f.mode, "forward-auth-mode", "request", "where the original method and URI come from: request (Envoy http_service), x-forwarded (Caddy, Traefik) or x-original (nginx)")
	fs.StringVar(&f.pathPrefix, "forward-auth-path-prefix", "", "mode request: the path prefix the proxy puts before the original path (Envoy's path_prefix)")
	fs.StringVar(&f.trusted, "forward-auth-trusted-proxies", "127.0.0.0/8,::1", "CIDRs of the proxies whose X-Forwarded-For is believed for the client address; empty: none")
}

// validate checks the flags before anything starts, so that a mistake is a usage error.
func (f *forwardAuthFlags) validate() error {
	_, _, err := f.parse()
	if err == nil && f.pathPrefix != "" && f.mode != "request" {
		err = fmt.Errorf("--forward-auth-path-prefix is read in --forward-auth-mode request only, not %s", f.mode)
	}
	return err
}

func (f *forwardAuthFlags) parse() (forwardauth.Mode, *forwardauth.Proxies, error) {
	mode, err := forwardauth.ParseMode(f.mode)
	if err != nil {
		return 0, nil, fmt.Errorf("--forward-auth-mode: %w", err)
	}
	proxies, err := forwardauth.ParseProxies(f.trusted)
	if err != nil {
		return 0, nil, fmt.Errorf("--forward-auth-trusted-proxies: %w", err)
	}
	return mode, proxies, nil
}

// server makes the forward-auth server and its listener; nil, nil when --forward-auth-addr is
// not set.
func (f *forwardAuthFlags) server(e *engine.Engine, log *slog.Logger, reg prometheus.Registerer,
	prop propagation.TextMapPropagator, maxInflight int64) (*http.Server, net.Listener, error) {
	if f.addr == "" {
		return nil, nil, nil
	}
	mode, proxies, err := f.parse()
	if err != nil {
		return nil, nil, err
	}
	h, err := forwardauth.New(e, forwardauth.Options{
		Mode: mode, PathPrefix: f.pathPrefix, TrustedProxies: proxies,
		Logger: log, Registry: reg, Propagator: prop, MaxInflight: maxInflight,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--forward-auth-path-prefix: %w", err)
	}
	lis, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--forward-auth-addr: %w", err)
	}
	srv := forwardauth.NewServer(h)
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	return srv, lis, nil
}
