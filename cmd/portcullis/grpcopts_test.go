package main

import (
	"context"
	"flag"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-dev/portcullis/pkg/extauthz"
	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
)

type okServer struct {
	authv3.UnimplementedAuthorizationServer
}

func (okServer) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return &authv3.CheckResponse{Status: &status.Status{}}, nil
}

// BenchmarkConnectionMemory reports the server heap each client connection holds once it has
// sent one Check and gone idle, as every Envoy sidecar's connection to Portcullis does in a mesh:
// with grpc-go's defaults, with Portcullis's options (grpc-go now shares write buffers between
// connections by default) and with a read buffer of 8 KiB instead of 32. The client
// connections live in the same process, so the figure covers both ends. It runs once whatever b.N
// is.
func BenchmarkConnectionMemory(b *testing.B) {
	const conns = 500
	var f grpcFlags
	f.keepaliveMinTime, f.keepaliveTime = 10*time.Second, 2*time.Hour
	portcullis := func(opts ...grpc.ServerOption) *grpc.Server {
		return extauthz.NewGRPCServer(okServer{}, append(f.serverOptions(), opts...)...)
	}
	for _, v := range []struct {
		name   string
		server func() *grpc.Server
	}{
		{"grpc-go-defaults", func() *grpc.Server {
			gs := grpc.NewServer()
			authv3.RegisterAuthorizationServer(gs, okServer{})
			return gs
		}},
		{"portcullis", func() *grpc.Server { return portcullis() }},
		{"read-buffer-8KiB", func() *grpc.Server { return portcullis(grpc.ReadBufferSize(8 << 10)) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			gs := v.server()
			go gs.Serve(lis)
			defer gs.Stop()
			req := extauthztest.Request("GET", "api.example.com", "/pets/1", map[string]string{"authorization": "Bearer t"})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			clients := make([]*grpc.ClientConn, conns)
			for i := range clients {
				c, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
					grpc.WithReadBufferSize(0), grpc.WithWriteBufferSize(0)) // keep the client side's own buffers out of the figure
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if _, err := authv3.NewAuthorizationClient(c).Check(context.Background(), req); err != nil {
					b.Fatal(err)
				}
				clients[i] = c
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/conns, "B/conn")
			runtime.KeepAlive(clients)
		})
	}
}

func TestGRPCFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" when valid
	}{
		{"defaults", nil, ""},
		{"estimated window", []string{"--grpc-window-size", "0"}, ""},
		{"smallest fixed window", []string{"--grpc-window-size", "65536"}, ""},
		{"largest fixed window", []string{"--grpc-window-size", "67108864"}, ""},
		{"window below HTTP/2's initial", []string{"--grpc-window-size", "65535"}, "--grpc-window-size"},
		{"window past the largest", []string{"--grpc-window-size", "67108865"}, "--grpc-window-size"},
		{"negative window", []string{"--grpc-window-size", "-1"}, "--grpc-window-size"},
		{"negative stream workers", []string{"--grpc-stream-workers", "-1"}, "--grpc-stream-workers"},
		{"keepalive too often", []string{"--grpc-keepalive-time", "500ms"}, "--grpc-keepalive-time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g grpcFlags
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			g.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := g.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid flags refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
