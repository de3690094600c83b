package kube

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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

// portcullis is one running `portcullis serve --config-source kubernetes`.
type portcullis struct {
	*process
	grpcAddr, httpAddr string
	client             authv3.AuthorizationClient
}

// startPortcullis runs the binary against the cluster with extra flags and waits until it
// listens (not until it is ready: that is for the test to see).
func startPortcullis(t *testing.T, c *cluster, args ...string) *portcullis {
	t.Helper()
	all := append([]string{"serve", "--config-source", "kubernetes", "--kubeconfig", c.kubeconfig,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "debug"}, args...)
	p := &portcullis{}
	addrs := make(chan [2]string, 1)
	out := &lines{onLine: func(line string) {
		if s, ok := testenv.ParseServing(line); ok {
			addrs <- [2]string{s.GRPCAddr, s.HTTPAddr}
		}
	}}
	p.process = startProcessWith(t, "portcullis", out, binary, all...)
	select {
	case a := <-addrs:
		p.grpcAddr, p.httpAddr = a[0], a[1]
	case <-p.done:
		t.Fatalf("portcullis exited before serving:\n%s", p.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("portcullis did not serve in 30s:\n%s", p.out)
	}
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p.client = authv3.NewAuthorizationClient(conn)
	return p
}

// ready reports whether /readyz answers 200.
func (p *portcullis) ready() bool {
	code, _ := p.admin("/readyz")
	return code == http.StatusOK
}

func (p *portcullis) admin(path string) (int, string) {
	resp, err := http.Get("http://" + p.httpAddr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the sample whose line starts with prefix (name{labels}), or "".
func (p *portcullis) metric(prefix string) string {
	_, body := p.admin("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return strings.TrimPrefix(line, prefix+" ")
		}
	}
	return ""
}

// status is the HTTP status a Check decides: 200 for an allow.
func (p *portcullis) status(t *testing.T, host, method, path, token string) int {
	t.Helper()
	h := map[string]string{":authority": host, ":method": method, ":path": path}
	if token != "" {
		h["authorization"] = token
	}
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 50123}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "req-1", Method: method, Host: host, Path: path, Scheme: "https", Protocol: "HTTP/1.1", Headers: h,
		}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := p.client.Check(ctx, req)
	if err != nil {
		t.Fatalf("Check %s %s%s: %v", method, host, path, err)
	}
	if d := resp.GetDeniedResponse(); d != nil {
		return int(d.GetStatus().GetCode())
	}
	return http.StatusOK
}

// eventually waits until a Check decides want, at most within, and returns how long it took.
func (p *portcullis) eventually(t *testing.T, within time.Duration, want int, host, method, path, token string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := p.status(t, host, method, path, token)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s %s%s: still %d after %s, want %d", method, host, path, got, within, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startProcessWith is startProcess with a line collector of the caller's.
func startProcessWith(t *testing.T, name string, out *lines, path string, args ...string) *process {
	t.Helper()
	p := startProcess(t, name, path, args...)
	p.out.mu.Lock()
	// Lines already read (none this early, but keep them) move to the caller's collector.
	for _, l := range p.out.l {
		out.add(l)
	}
	p.out.l = nil
	p.out.onLine = out.add
	p.out.mu.Unlock()
	return p
}

// authorizerServer is a real HTTP endpoint speaking the Lambda authorizer JSON: the token
// "good" is allowed everything, any other is denied.
func authorizerServer(t *testing.T) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			AuthorizationToken string `json:"authorizationToken"`
			MethodArn          string `json:"methodArn"`
		}
		mu.Lock()
		defer mu.Unlock()
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		effect := "Deny"
		if ev.AuthorizationToken == "good" {
			effect = "Allow"
		}
		parts := strings.SplitN(ev.MethodArn, "/", 3)
		json.NewEncoder(w).Encode(map[string]any{
			"principalId": "user",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
				{"Effect": effect, "Action": "execute-api:Invoke", "Resource": strings.Join(parts[:2], "/") + "/*"},
			}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
