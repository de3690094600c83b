package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
	"github.com/portcullis-dev/portcullis/test/testenv"
)

// A proxy that asks Portcullis over HTTP, as the test runs it: the forward-auth mode it needs,
// how it is started in front of an upstream, and what it makes of Portcullis's denials.
type proxy struct {
	name string
	mode string
	// start runs the proxy asking Portcullis at authAddr, in front of upstream; it returns the
	// proxy's address.
	start func(t *testing.T, authAddr, upstream string) string
	// status is what the client gets when Portcullis answers status.
	status func(status int) int
	// passesBody: the client gets Portcullis's body for a denial with this status.
	passesBody func(status int) bool
}

var proxies = []proxy{
	{
		name: "nginx", mode: "x-original", start: startNginx, passesBody: func(int) bool { return false },
		// auth_request passes 401 and 403 on (with nginx's own error page) and turns anything
		// else into a bodyless 500.
		status: func(s int) int {
			if s == 401 || s == 403 {
				return s
			}
			return 500
		},
	},
	{
		name: "caddy", mode: "x-forwarded", start: startCaddy, passesBody: func(int) bool { return true },
		status: func(s int) int { return s },
	},
	{
		name: "envoy-http-service", mode: "request", start: startEnvoyHTTP,
		// status_on_error (500 in envoy/envoy-http.yaml) replaces every 5xx, body and all.
		status:     func(s int) int { return s },
		passesBody: func(s int) bool { return s < 500 },
	},
}

// The client's own address: loopback, but not the proxies' (127.0.0.1), which alone is trusted.
const clientIP = "127.0.0.2"

func TestBehindRealProxies(t *testing.T) {
	for _, px := range proxies {
		t.Run(px.name, func(t *testing.T) {
			backend := fat.NewBackend(t)
			up := newEchoUpstream(t)
			args := []string{"--config", fat.WriteConfig(t, backend.URL), "--forward-auth-addr", "127.0.0.1:0",
				"--forward-auth-mode", px.mode, "--forward-auth-trusted-proxies", "127.0.0.1/32"}
			if px.mode == "request" {
				args = append(args, "--forward-auth-path-prefix", envoyHTTP(t).prefix)
			}
			inst := start(t, args...)
			addr := px.start(t, inst.forwardAuthAddr, up.addr())
			behindProxy(t, px, addr, backend, up)
		})
	}
}

func behindProxy(t *testing.T, px proxy, addr string, backend *fat.Backend, up *echoUpstream) {
	rest := "Host: " + fat.RESTHost
	spoofs := []string{"X-Authorizer-Principal-Id: admin", "X-Authorizer-Role: admin"}
	t.Run("allow reaches the upstream with the authorizer's principal", func(t *testing.T) {
		got := clientSend(t, addr, "GET /pets?limit=2 HTTP/1.1", append([]string{rest, "Authorization: " + fat.Allow}, spoofs...)...)
		hit := up.expectHit(t, got, "/pets?limit=2")
		wantHeaders(t, hit, map[string]string{"X-Authorizer-Principal-Id": fat.Principal, "X-Authorizer-Role": "reader"})
	})
	t.Run("a key the answer lacks never reaches the upstream from the client", func(t *testing.T) {
		got := clientSend(t, addr, "GET /other HTTP/1.1", append([]string{rest, "Authorization: " + fat.OtherRoute}, spoofs...)...)
		hit := up.expectHit(t, got, "/other")
		wantHeaders(t, hit, map[string]string{"X-Authorizer-Principal-Id": "user-other", "X-Authorizer-Role": ""})
	})
	t.Run("a spoof spelt with underscores is refused or dropped", func(t *testing.T) {
		before := up.count()
		got := clientSend(t, addr, "GET /other HTTP/1.1", rest, "Authorization: "+fat.OtherRoute,
			"X_Authorizer_Role: admin", "X_Authorizer_Principal_Id: admin")
		if got.status != 200 {
			if up.count() != before {
				t.Errorf("refused with %d, yet the upstream was reached", got.status)
			}
			return
		}
		hit := up.expectHit(t, got, "/other")
		wantHeaders(t, hit, map[string]string{"X-Authorizer-Principal-Id": "user-other", "X-Authorizer-Role": ""})
		if v := hit.Header.Values("X_Authorizer_Principal_Id"); len(v) != 0 {
			t.Errorf("upstream got X_Authorizer_Principal_Id: %q", v)
		}
	})
	t.Run("NONE route without a token, spoofed principal dropped", func(t *testing.T) {
		got := clientSend(t, addr, "GET /open HTTP/1.1", append([]string{rest}, spoofs...)...)
		hit := up.expectHit(t, got, "/open")
		wantHeaders(t, hit, map[string]string{"X-Authorizer-Principal-Id": "", "X-Authorizer-Role": ""})
	})
	denials := []struct {
		name    string
		line    string
		headers []string
		status  int
		body    string
	}{
		{"explicit deny", "GET /pets HTTP/1.1", []string{rest, "Authorization: " + fat.Deny}, 403, "explicit_deny"},
		{"implicit deny", "GET /pets HTTP/1.1", []string{rest, "Authorization: " + fat.OtherRoute}, 403, "implicit_deny"},
		{"missing token", "GET /pets HTTP/1.1", []string{rest}, 401, "unauthorized"},
		{"backend says Unauthorized", "GET /pets HTTP/1.1", []string{rest, "Authorization: " + fat.Unauthorized}, 401, "unauthorized"},
		{"backend fails", "GET /pets HTTP/1.1", []string{rest, "Authorization: " + fat.Failing}, 500, "authorizer_failure"},
		{"unknown route", "GET /nowhere HTTP/1.1", []string{rest, "Authorization: " + fat.Allow}, 403, "missing_token"},
		{"a client cannot claim https", "GET /pets HTTP/1.1", []string{rest, "Authorization: " + fat.TLSOnly, "X-Forwarded-Proto: https"}, 403, "implicit_deny"},
		{"HTTP API unknown route", "GET /nowhere HTTP/1.1", []string{"Host: " + fat.HTTPHost, "Authorization: " + fat.Allow}, 404, "http_not_found"},
	}
	for _, d := range denials {
		t.Run(d.name, func(t *testing.T) {
			before := up.count()
			got := clientSend(t, addr, d.line, d.headers...)
			if want := px.status(d.status); got.status != want {
				t.Errorf("status %d, want %d (Portcullis answers %d): %s", got.status, want, d.status, got)
			}
			if px.passesBody(d.status) && got.body != fat.Body[d.body] {
				t.Errorf("body %q, want %q", got.body, fat.Body[d.body])
			}
			if up.count() != before {
				t.Errorf("a denied request reached the upstream")
			}
		})
	}
	t.Run("path confusion never reaches the upstream", func(t *testing.T) {
		before := up.count()
		for _, p := range confusingPaths {
			got := clientSend(t, addr, "GET "+p+" HTTP/1.1", rest, "Authorization: "+fat.Allow)
			if got.status < 400 {
				t.Errorf("%s: %s", p, got)
			}
		}
		if n := up.count() - before; n != 0 {
			t.Errorf("%d confusing paths reached the upstream: %v", n, up.uris()[before:])
		}
	})
	t.Run("client address: X-Forwarded-For believed only from trusted proxies", func(t *testing.T) {
		got := clientSend(t, addr, "GET /whoami HTTP/1.1", rest, "x-who: someone", "X-Forwarded-For: 198.51.100.66")
		up.expectHit(t, got, "/whoami")
		if ips := backend.SourceIPs(); len(ips) != 1 || ips[0] != clientIP {
			t.Errorf("backend saw sourceIp %v, want the client's %s", ips, clientIP)
		}
	})
	t.Run("backend called once per token across many requests", func(t *testing.T) {
		paths := []string{"/pets", "/pets/1", "/pets/2?x=1", "/admin/a/b"}
		for i := range 40 {
			got := clientSend(t, addr, "GET "+paths[i%len(paths)]+" HTTP/1.1", rest, "Authorization: "+fat.Allow)
			if got.status != 200 {
				t.Fatalf("request %d: %s", i, got)
			}
		}
		if n := backend.Calls(fat.Allow); n != 1 {
			t.Errorf("backend asked %d times about one token, want 1", n)
		}
	})
	t.Run("backend down", func(t *testing.T) {
		backend.Stop()
		before := up.count()
		got := clientSend(t, addr, "GET /pets HTTP/1.1", rest, "Authorization: Bearer never-seen")
		if want := px.status(500); got.status != want {
			t.Errorf("status %d, want %d: %s", got.status, want, got)
		}
		if up.count() != before {
			t.Error("a request reached the upstream with the backend down")
		}
	})
}

// Paths an upstream could read otherwise than Portcullis.
var confusingPaths = []string{
	"/pets/../admin/x", "/pets/%2e%2e/admin/x", "/admin%2Fx", "/pets/%00", "/pets/a%5C..%5Cadmin",
	"/..;/admin/x", "/pets/%252e%252e/admin", "/open/../pets", "/open/%2e%2e/pets", "/open%2F..%2Fpets",
}

// clientSend sends one request from clientIP to addr, exactly as written, and reads the answer.
func clientSend(t *testing.T, addr, line string, headers ...string) *httpAnswer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(clientIP)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	var b strings.Builder
	b.WriteString(line + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &httpAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

type httpAnswer struct {
	status int
	header http.Header
	body   string
}

func (a *httpAnswer) String() string {
	return fmt.Sprintf("%d %v %.200s", a.status, a.header, a.body)
}

// echoUpstream is the service behind the proxy: it answers 200 with what it got, as JSON.
type echoUpstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []echoHit
}

type echoHit struct {
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

func newEchoUpstream(t *testing.T) *echoUpstream {
	u := &echoUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := echoHit{URI: r.RequestURI, Header: r.Header}
		u.mu.Lock()
		u.hits = append(u.hits, h)
		u.mu.Unlock()
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(h)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *echoUpstream) addr() string { return u.srv.Listener.Addr().String() }

func (u *echoUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.hits)
}

func (u *echoUpstream) uris() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, h := range u.hits {
		out = append(out, h.URI)
	}
	return out
}

// expectHit checks that got is the upstream's own answer for uri and returns what it got.
func (u *echoUpstream) expectHit(t *testing.T, got *httpAnswer, uri string) echoHit {
	t.Helper()
	if got.status != 200 {
		t.Fatalf("status %d, want the upstream's 200: %s", got.status, got)
	}
	var hit echoHit
	if err := json.Unmarshal([]byte(got.body), &hit); err != nil {
		t.Fatalf("not the upstream's answer: %v: %s", err, got)
	}
	if hit.URI != uri {
		t.Errorf("upstream got %q, want %q", hit.URI, uri)
	}
	return hit
}

// wantHeaders checks the headers the upstream got; "" means absent, under any spelling.
func wantHeaders(t *testing.T, hit echoHit, want map[string]string) {
	t.Helper()
	for name, v := range want {
		got := hit.Header.Values(name)
		if v == "" {
			if len(got) != 0 {
				t.Errorf("upstream got %s: %q, want none", name, got)
			}
			if alt := hit.Header.Values(strings.ReplaceAll(name, "-", "_")); len(alt) != 0 {
				t.Errorf("upstream got %s spelt with _: %q", name, alt)
			}
			continue
		}
		if len(got) != 1 || got[0] != v {
			t.Errorf("upstream got %s: %q, want %q", name, got, v)
		}
	}
}

// render reads a shipped configuration and makes each replacement, which must be found: the
// test runs the file users copy, with only its addresses changed.
func render(t *testing.T, file string, replace ...string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("%s no longer holds %q: update the test with the file", file, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return s
}

// runProxy starts cmd, stops it when the test ends and waits until addr accepts connections.
func runProxy(t *testing.T, cmd *exec.Cmd, addr string) {
	t.Helper()
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logWriter{logs}, logWriter{logs}
	// Its own process group, so that stopping it stops nginx's workers too; and Wait does not
	// wait for the output of a process left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", filepath.Base(cmd.Path), logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("%s exited before serving:\n%s", cmd.Path, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not serving on %s after 30s:\n%s", cmd.Path, addr, logs)
		}
	}
}

type logWriter struct{ l *logBuffer }

func (w logWriter) Write(p []byte) (int, error) { w.l.add(string(p)); return len(p), nil }

func startNginx(t *testing.T, authAddr, upstream string) string {
	bin := testenv.Binary(t, "nginx", "NGINX", "apt-get install -y nginx-light (make system-deps)")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	site := render(t, "../../deploy/proxies/nginx/portcullis.conf",
		"server 127.0.0.1:9191;", "server "+authAddr+";",
		"server 127.0.0.1:8081;", "server "+upstream+";",
		"listen 8080;", "listen "+addr+";")
	if err := os.WriteFile(filepath.Join(dir, "portcullis.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would otherwise run as nobody, who cannot enter dir
	}
	main := fmt.Sprintf(`%[2]s
pid %[1]s/nginx.pid;
error_log stderr notice;
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/portcullis.conf;
}
`, dir, user)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	runProxy(t, exec.Command(bin, "-p", dir, "-c", conf, "-g", "daemon off;"), addr)
	return addr
}

func startCaddy(t *testing.T, authAddr, upstream string) string {
	bin := testenv.Binary(t, "caddy", "CADDY", "make bin/caddy")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	caddyfile := render(t, "../../deploy/proxies/caddy/Caddyfile",
		"forward_auth 127.0.0.1:9191", "forward_auth "+authAddr,
		"reverse_proxy 127.0.0.1:8081", "reverse_proxy "+upstream,
		// Any Host, as in the file, on loopback alone.
		"http://:8080 {", "http://"+strings.Replace(addr, "127.0.0.1", "", 1)+" {\n\tbind 127.0.0.1")
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	runProxy(t, cmd, addr)
	return addr
}
