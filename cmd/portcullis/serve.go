package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/portcullis-dev/portcullis/pkg/admin"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/config/kube"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
)

type serveFlags struct {
	configs         listFlag
	grpcAddr        string
	httpAddr        string
	cacheMaxBytes   int64
	headerPrefix    string
	shutdownTimeout time.Duration
	logLevel        string
	decisionLogRate float64
	otlpEndpoint    string
	traceRatio      float64
	maxInflight     int64
	backendInflight int
	pprof           bool
	grpc            grpcFlags
	shared          sharedFlags
	forwardAuth     forwardAuthFlags
	kube            kubeFlags
}

func runServe(ctx context.Context, args []string, io stdio) int {
	var f serveFlags
	fs := newFlagSet("serve", io)
	fs.Var(&f.configs, "config", "config file or directory (repeatable); none: the embedded demo")
	fs.StringVar(&f.grpcAddr, "grpc-addr", ":50051", "gRPC listen address (ext_authz, health, reflection)")
	fs.StringVar(&f.httpAddr, "http-addr", ":8181", "admin HTTP listen address (/healthz, /readyz, /metrics)")
	fs.Int64Var(&f.cacheMaxBytes, "cache-max-bytes", 64<<20, "decision cache bound in bytes")
	fs.StringVar(&f.headerPrefix, "header-prefix", engine.DefaultHeaderPrefix, "prefix of the headers passed upstream")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight Checks may take to finish on SIGTERM")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Float64Var(&f.decisionLogRate, "decision-log-rate", 0, "share of allows written to the decision log, 0..1 (denials and errors always are)")
	fs.Int64Var(&f.maxInflight, "max-inflight", 10000, "Checks decided at once; more are answered 429 at once (0: no bound)")
	fs.IntVar(&f.backendInflight, "backend-max-inflight", 512, "calls in flight to one authorizer's backend; a call that waits over 1s for a slot fails closed (500)")
	fs.StringVar(&f.otlpEndpoint, "trace-otlp-endpoint", "", "OpenTelemetry collector base URL (OTLP/HTTP), e.g. http://otel-collector:4318; empty: no tracing")
	fs.BoolVar(&f.pprof, "pprof", false, "serve Go's CPU, heap and goroutine profiles under /debug/pprof/ on the admin port")
	fs.Float64Var(&f.traceRatio, "trace-sample-ratio", 1, "share of traces sampled when Envoy sent no sampling decision")
	f.grpc.register(fs)
	f.shared.register(fs)
	f.forwardAuth.register(fs)
	f.kube.register(fs)
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return flagsExit(err)
	}
	if err := f.validate(); err != nil {
		fmt.Fprintln(io.err, "portcullis serve:", err)
		return 2
	}
	log, err := newLogger(io, f.logLevel)
	if err != nil {
		fmt.Fprintln(io.err, "portcullis serve:", err)
		return 2
	}
	if err := serve(ctx, f, log); err != nil {
		log.Error("serve failed", "error", err.Error())
		return 1
	}
	return 0
}

// validate refuses flag values out of their range, which the flag package cannot say.
func (f *serveFlags) validate() error {
	for _, r := range []struct {
		name  string
		value float64
	}{{"--decision-log-rate", f.decisionLogRate}, {"--trace-sample-ratio", f.traceRatio}} {
		if !(r.value >= 0 && r.value <= 1) { // NaN too
			return fmt.Errorf("%s: a share from 0 to 1, got %v", r.name, r.value)
		}
	}
	return errors.Join(f.kube.validate(f.configs), f.grpc.validate(), f.forwardAuth.validate())
}

func newLogger(io stdio, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(io.err, &slog.HandlerOptions{Level: l})), nil
}

func serve(ctx context.Context, f serveFlags, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	loader := newLoader(f.configs, log, reg)
	var kubeSrc *kube.Source
	var snap *config.Snapshot
	var err error
	if f.kube.enabled() {
		kubeSrc, snap, err = f.kube.newSource(ctx, log, reg, loader.reloads)
	} else {
		snap, err = loader.build(ctx, nil)
	}
	if err != nil {
		return err
	}
	tracer, propagator, stopTracing, err := tracing(ctx, f.otlpEndpoint, f.traceRatio)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
	tier, err := f.shared.tier(os.Getenv, log, reg)
	if err != nil {
		return err
	}
	var sharedTier engine.SharedCache
	if tier != nil {
		defer tier.Close()
		sharedTier = tier
	}
	eng, err := engine.New(snap, engine.Options{
		Shared:        sharedTier,
		Tracer:        tracer,
		CacheMaxBytes: f.cacheMaxBytes,
		HeaderPrefix:  f.headerPrefix,
		Logger:        log,
		Metrics:       engine.NewMetrics(reg),
		AllowLogRate:  f.decisionLogRate,

		BackendMaxInflight: f.backendInflight,
	})
	if err != nil {
		return err
	}
	defer eng.Close()
	if tier != nil {
		tier.Subscribe(ctx, eng.DropLocal)
	}

	grpcLis, err := net.Listen("tcp", f.grpcAddr)
	if err != nil {
		return fmt.Errorf("--grpc-addr: %w", err)
	}
	httpLis, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("--http-addr: %w", err)
	}

	if !wire.GeneratedMarshalers() {
		log.Warn("built without -tags vtprotobuf: CheckResponses are marshaled by reflection, slower than the generated marshalers (BenchmarkCodecMarshal); build with make build")
	}
	gs := extauthz.NewGRPCServer(extauthz.New(eng, extauthz.Options{
		Logger: log, Registry: reg, Propagator: propagator, MaxInflight: f.maxInflight,
	}), f.grpc.serverOptions()...)
	fsrv, faLis, err := f.forwardAuth.server(eng, log, reg, propagator, f.maxInflight)
	if err != nil {
		grpcLis.Close()
		httpLis.Close()
		return err
	}
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	hsrv := &http.Server{
		Handler: admin.Handler(admin.Options{
			Ready: func() error {
				if kubeSrc != nil {
					if err := kubeSrc.Ready(); err != nil {
						return err
					}
				}
				return config.Ready(eng.Snapshot())
			},
			Gatherer:  reg,
			Profiling: f.pprof,

			AdminToken: f.shared.adminToken,
			Invalidate: eng.Invalidate,
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}

	// SIGHUP's default action ends the process: catch it before anyone can learn we serve.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errc := make(chan error, 4)
	go func() { errc <- gs.Serve(grpcLis) }()
	go func() { errc <- hsrv.Serve(httpLis) }()
	if kubeSrc != nil {
		go func() {
			if err := kubeSrc.Run(ctx, eng); err != nil {
				errc <- err
			}
		}()
	}
	serving := []any{"grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String(), "codec", codecName()}
	if fsrv != nil {
		go func() { errc <- fsrv.Serve(faLis) }()
		serving = append(serving, "forward_auth_addr", faLis.Addr().String(), "forward_auth_mode", f.forwardAuth.mode)
	}
	log.Info("serving", serving...)

	changed := make(chan struct{}, 1)
	if len(f.configs) > 0 {
		notify := func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		if err := config.Watch(ctx, f.configs, 250*time.Millisecond, notify); err != nil {
			log.Warn("config files are not watched; reload with SIGHUP", "error", err.Error())
		}
	}
	for {
		select {
		case <-hup:
			if kubeSrc != nil {
				kubeSrc.Trigger() // secrets read from files or the environment may have changed
				continue
			}
			loader.reload(ctx, eng, "SIGHUP")
		case <-changed:
			loader.reload(ctx, eng, "file change")
		case err := <-errc:
			return err
		case <-ctx.Done():
			return shutdown(gs, hs, hsrv, fsrv, f.shutdownTimeout, log)
		}
	}
}

// shutdown stops taking new Checks, lets in-flight ones finish within timeout, then stops.
// fsrv, the forward-auth server, may be nil.
func shutdown(gs *grpc.Server, hs *health.Server, hsrv, fsrv *http.Server, timeout time.Duration, log *slog.Logger) error {
	log.Info("shutting down", "timeout", timeout.String())
	hs.Shutdown()
	done := make(chan struct{})
	go func() {
		if fsrv != nil {
			// In-flight authorization requests finish; idle proxy connections are closed.
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			_ = fsrv.Shutdown(ctx)
			cancel()
		}
		gs.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		log.Warn("shutdown timeout: stopping with Checks in flight")
		gs.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := hsrv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}
