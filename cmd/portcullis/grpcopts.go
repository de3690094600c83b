package main

import (
	"flag"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// grpcFlags are the gRPC server's settings. The README's "gRPC server settings" section gives
// what each one was measured to do.
type grpcFlags struct {
	streamWorkers        int
	maxConcurrentStreams uint
	keepaliveMinTime     time.Duration
	keepaliveTime        time.Duration
	maxConnectionAge     time.Duration
	windowSize           int
}

// minWindowSize is HTTP/2's initial window; grpc-go ignores a static window smaller than it.
const minWindowSize = 64 << 10

func (g *grpcFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&g.streamWorkers, "grpc-stream-workers", 0,
		"goroutines kept to serve streams, instead of one new goroutine per stream (0: one per stream)")
	fs.UintVar(&g.maxConcurrentStreams, "grpc-max-concurrent-streams", 0,
		"HTTP/2 streams one client connection may have open (0: no limit; --max-inflight bounds the work)")
	fs.DurationVar(&g.keepaliveMinTime, "grpc-keepalive-min-time", 10*time.Second,
		"shortest interval at which a client (Envoy's connection_keepalive) may ping; faster pings close its connection")
	fs.DurationVar(&g.keepaliveTime, "grpc-keepalive-time", 2*time.Hour,
		"ping a client connection idle this long, to find dead peers")
	fs.DurationVar(&g.maxConnectionAge, "grpc-max-connection-age", 0,
		"close client connections this old, gracefully, so clients rebalance over new replicas (0: never)")
	fs.IntVar(&g.windowSize, "grpc-window-size", 1<<20,
		"HTTP/2 flow-control window per stream in bytes, fixed; a connection's is 16 times it (0: grpc-go's window sized by BDP pings)")
}

func (g *grpcFlags) validate() error {
	switch {
	case g.streamWorkers < 0:
		return fmt.Errorf("--grpc-stream-workers: must be 0 or more, got %d", g.streamWorkers)
	case g.maxConcurrentStreams > 1<<31-1:
		return fmt.Errorf("--grpc-max-concurrent-streams: at most %d, got %d", 1<<31-1, g.maxConcurrentStreams)
	case g.keepaliveMinTime < 0:
		return fmt.Errorf("--grpc-keepalive-min-time: must not be negative, got %s", g.keepaliveMinTime)
	case g.keepaliveTime < time.Second:
		return fmt.Errorf("--grpc-keepalive-time: at least 1s, got %s", g.keepaliveTime)
	case g.windowSize != 0 && (g.windowSize < minWindowSize || g.windowSize > 1<<26):
		return fmt.Errorf("--grpc-window-size: 0, or from %d to %d bytes, got %d", minWindowSize, 1<<26, g.windowSize)
	case g.maxConnectionAge < 0:
		return fmt.Errorf("--grpc-max-connection-age: must not be negative, got %s", g.maxConnectionAge)
	}
	return nil
}

// serverOptions are the gRPC server's settings (extauthz.NewGRPCServer adds the codec).
func (g *grpcFlags) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		// Envoy pings an idle ext_authz connection when its cluster sets connection_keepalive;
		// grpc-go's own minimum (5 minutes) would answer such pings with GOAWAY too_many_pings and
		// drop the connection. Pings are allowed on idle connections too: Envoy keeps them open.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             g.keepaliveMinTime,
			PermitWithoutStream: true,
		}),
	}
	params := keepalive.ServerParameters{Time: g.keepaliveTime, Timeout: 20 * time.Second}
	if g.maxConnectionAge > 0 {
		params.MaxConnectionAge = g.maxConnectionAge
		// In-flight Checks finish before the connection closes.
		params.MaxConnectionAgeGrace = 30 * time.Second
	}
	opts = append(opts, grpc.KeepaliveParams(params))
	if g.streamWorkers > 0 {
		opts = append(opts, grpc.NumStreamWorkers(uint32(g.streamWorkers)))
	}
	if g.windowSize > 0 {
		// A fixed window turns off grpc-go's bandwidth-delay estimation, which otherwise sends the
		// client a WINDOW_UPDATE and a PING, and reads its ack, once per round trip for as long
		// as Checks keep arriving: on a busy connection, work on both ends for every few Checks.
		// A Check's request is small; the window only needs to hold the largest one.
		opts = append(opts, grpc.InitialWindowSize(int32(g.windowSize)), grpc.InitialConnWindowSize(int32(16*g.windowSize)))
	}
	if g.maxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(g.maxConcurrentStreams)))
	}
	return opts
}
