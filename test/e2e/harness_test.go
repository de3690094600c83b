// Package e2e drives the built portcullis binary from outside: a real gRPC client built from
// go-control-plane's protos, a real HTTP authorizer on 127.0.0.1:0, real config files.
package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/portcullis-dev/portcullis/test/testenv"
)

var binary string

func TestMain(m *testing.M) { testenv.RunWithPortcullis(m, &binary) }

// instance is one running portcullis process.
type instance struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	conn     *grpc.ClientConn
	client   authv3.AuthorizationClient
	logs     *logBuffer
	exited   chan error    // receives the exit once
	done     chan struct{} // closed when the process has exited

	// forwardAuthAddr is the HTTP forward-auth front's address, when serve was given one.
	forwardAuthAddr string
}

// logBuffer keeps the process's stderr for assertions and failure reports.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// start runs portcullis serve with args on free loopback ports and waits until it serves.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	all := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "debug"}, args...)
	cmd := exec.Command(binary, all...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inst := &instance{cmd: cmd, logs: &logBuffer{}, exited: make(chan error, 1), done: make(chan struct{})}
	addrs := make(chan [3]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			inst.logs.add(line)
			if s, ok := testenv.ParseServing(line); ok {
				addrs <- [3]string{s.GRPCAddr, s.HTTPAddr, s.ForwardAuthAddr}
			}
		}
	}()
	go func() { inst.exited <- cmd.Wait(); close(inst.done) }()
	t.Cleanup(func() {
		if inst.conn != nil {
			inst.conn.Close()
		}
		select {
		case <-inst.done:
		default:
			cmd.Process.Kill()
			<-inst.done
		}
		if t.Failed() {
			t.Logf("portcullis log:\n%s", inst.logs)
		}
	})
	select {
	case a := <-addrs:
		inst.grpcAddr, inst.httpAddr, inst.forwardAuthAddr = a[0], a[1], a[2]
	case err := <-inst.exited:
		t.Fatalf("portcullis exited before serving: %v\n%s", err, inst.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("portcullis did not start serving in 30s\n%s", inst.logs)
	}
	conn, err := grpc.NewClient(inst.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	inst.conn, inst.client = conn, authv3.NewAuthorizationClient(conn)
	return inst
}

// check sends one Check for method and path (with query) on host with headers.
func (i *instance) check(t *testing.T, method, host, path string, headers map[string]string) *authv3.CheckResponse {
	t.Helper()
	resp, err := i.client.Check(context.Background(), checkRequest(method, host, path, headers))
	if err != nil {
		t.Fatalf("Check %s %s: gRPC error %v", method, path, err)
	}
	return resp
}

func checkRequest(method, host, path string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":authority": host, ":method": method, ":path": path}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 50123}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "req-1", Method: method, Host: host, Path: path, Scheme: "https", Protocol: "HTTP/1.1", Headers: h,
		}},
	}}
}

// get fetches an admin endpoint.
func (i *instance) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + i.httpAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// writeConfig writes a config file into a temp dir and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// denied returns the HTTP status and body of a denied response, or 200 and "" for an allow.
func denied(resp *authv3.CheckResponse) (int, string) {
	if d := resp.GetDeniedResponse(); d != nil {
		return int(d.GetStatus().GetCode()), d.GetBody()
	}
	return 200, ""
}

func upstreamHeaders(resp *authv3.CheckResponse) map[string]string {
	out := map[string]string{}
	for _, h := range resp.GetOkResponse().GetHeaders() {
		out[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return out
}

func deniedHeaders(resp *authv3.CheckResponse) map[string]string {
	out := map[string]string{}
	for _, h := range resp.GetDeniedResponse().GetHeaders() {
		out[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return out
}
