// Package hardening is Portcullis's attack and fault suite. Every test drives the real pipeline
// (config.Build, engine.New, extauthz.New) over real gRPC on 127.0.0.1:0, with real HTTP
// authorizer servers and real JWTs signed with keys made in the test, and checks each answer
// against the status and body the SPEC demands. docs/security.md lists every case.
//
// The suite counts what it does and prints the totals when it ends: attacks tried, faults
// injected, decisions checked and wrong decisions, which must be 0. Long variants (more tokens,
// more random paths, more concurrency) run with -long or PORTCULLIS_LONG=1.
package hardening

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz"
)

var longFlag = flag.Bool("long", false, "run the long variants (also PORTCULLIS_LONG=1)")

// long reports whether the long variants run.
func long() bool { return *longFlag || os.Getenv("PORTCULLIS_LONG") == "1" }

// tally is what the suite did. It is shared by every test of the package so TestMain can print
// the totals; only atomics are touched.
type tally struct {
	attacks   atomic.Int64 // hostile inputs sent (paths, headers, tokens, answers)
	faults    atomic.Int64 // backend faults injected
	decisions atomic.Int64 // answers compared with the expected one
	wrong     atomic.Int64 // answers that differed
}

var counts tally

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	fmt.Printf("hardening counts: attacks tried %d, faults injected %d, decisions checked %d, wrong decisions %d\n",
		counts.attacks.Load(), counts.faults.Load(), counts.decisions.Load(), counts.wrong.Load())
	if counts.wrong.Load() != 0 && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// service is one Portcullis pipeline served over gRPC on loopback.
type service struct {
	client authv3.AuthorizationClient
	conn   *grpc.ClientConn
	log    *decisionLog
	seq    atomic.Int64 // numbers request IDs so decisions can be found in the log
}

// startService builds yamlText into a snapshot, waits until its key sets are fetched, and serves
// it. Everything stops when the test ends.
func startService(t testing.TB, yamlText string, opts engine.Options) *service {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portcullis.yaml")
	if err := os.WriteFile(path, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	snap, err := config.Build(ctx, config.BuildOptions{Paths: []string{path}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	t.Cleanup(snap.Close)
	if err := config.WaitReady(ctx, snap, 10*time.Second); err != nil {
		t.Fatalf("config not ready: %v", err)
	}
	log := &decisionLog{byID: map[string]decisionRecord{}}
	t.Cleanup(func() {
		if n := log.panics.Load(); n != 0 {
			wrongDecision(t, "%d Checks panicked", n)
		}
	})
	opts.Logger = log.logger()
	opts.AllowLogRate = 1
	eng, err := engine.New(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	conn := serveGRPC(t, extauthz.New(eng, extauthz.Options{MaxInflight: 10000, Logger: log.logger()}))
	return &service{client: authv3.NewAuthorizationClient(conn), conn: conn, log: log}
}

// serveGRPC serves srv on 127.0.0.1:0 as cmd/portcullis does and returns a connection to it.
func serveGRPC(t testing.TB, srv *extauthz.Server) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := extauthz.NewGRPCServer(srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// httpReq is the HTTP request under authorization, as Envoy would describe it.
type httpReq struct {
	method, host, path string
	headers            map[string]string // lower-case names, as Envoy sends them
	headerMap          []*corev3.HeaderValue
	contextExtensions  map[string]string
}

// checkRequest builds Envoy's CheckRequest. Pseudo-headers agree with the attributes unless the
// caller set them in headers; x-request-id is set to id.
func (r httpReq) checkRequest(id string) *authv3.CheckRequest {
	h := map[string]string{":method": r.method, ":path": r.path, ":authority": r.host, "x-request-id": id}
	for k, v := range r.headers {
		h[k] = v
	}
	hr := &authv3.AttributeContext_HttpRequest{
		Method: r.method, Host: r.host, Path: r.path, Scheme: "https", Protocol: "HTTP/1.1", Headers: h,
	}
	if r.headerMap != nil {
		hr.Headers = nil
		hr.HeaderMap = &corev3.HeaderMap{Headers: r.headerMap}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "198.51.100.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}}}}},
		Request:           &authv3.AttributeContext_Request{Http: hr},
		ContextExtensions: r.contextExtensions,
	}}
}

// check sends r and returns Portcullis's answer with the decision it logged. A gRPC error fails
// the test: Portcullis must always answer with a CheckResponse.
func (s *service) check(t testing.TB, r httpReq) result {
	t.Helper()
	res, err := s.try(r)
	if err != nil {
		t.Fatalf("%s %.80q: %v", r.method, r.path, err)
	}
	return res
}

// try is check for goroutines other than the test's: it returns the error instead.
func (s *service) try(r httpReq) (result, error) {
	id := "hardening-" + strconv.FormatInt(s.seq.Add(1), 10)
	resp, err := s.client.Check(context.Background(), r.checkRequest(id))
	if err != nil {
		return result{}, fmt.Errorf("gRPC error %w: Portcullis must always answer with a CheckResponse", err)
	}
	rec, _ := s.log.get(id)
	return result{verdict: readVerdict(resp), logged: rec, resp: resp}, nil
}

// result is one answer and what Portcullis logged about it.
type result struct {
	verdict
	logged decisionRecord
	resp   *authv3.CheckResponse
}
