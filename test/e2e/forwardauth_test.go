package e2e

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
)

// TestForwardAuthDemo is docs/forward-auth.md's worked example: the demo config asked over HTTP
// as nginx asks, one engine behind both fronts (its metrics count HTTP decisions too).
func TestForwardAuthDemo(t *testing.T) {
	p := start(t, "--forward-auth-addr", "127.0.0.1:0", "--forward-auth-mode", "x-original")
	if p.forwardAuthAddr == "" {
		t.Fatalf("no forward_auth_addr in the serving log:\n%s", p.logs)
	}
	stdout, stderr, code := runCLI(t, "", "token", "--sub", "alice")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	ask := func(method, uri string, headers ...string) *httpAnswer {
		t.Helper()
		got, err := rawRoundTrip(p.forwardAuthAddr, "GET /", "localhost:8080",
			append([]string{"X-Original-Method: " + method, "X-Original-URI: " + uri}, headers...))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	bearer := "Authorization: Bearer " + strings.TrimSpace(stdout)
	if got := ask("GET", "/pets", bearer); got.status != 200 || got.header.Get("x-authorizer-principal-id") != "alice" || got.body != "" {
		t.Fatalf("GET /pets: %s", got)
	}
	if got := ask("DELETE", "/pets/1", bearer); got.status != 403 || got.body != msgImplicit {
		t.Fatalf("DELETE /pets/1: %s", got)
	}
	if got := ask("GET", "/pets"); got.status != 401 || got.header.Get("www-authenticate") != "Bearer" {
		t.Fatalf("no token: %s", got)
	}
	if got := ask("GET", "/pets/..%2Fadmin", bearer); got.status != 400 {
		t.Fatalf("encoded slash: %s", got)
	}
	if got := ask("GET", "/pets", bearer, "X-Original-URI: /admin"); got.status != 400 {
		t.Fatalf("two X-Original-URI headers: %s", got)
	}
	_, metrics := p.get(t, "/metrics")
	if !regexp.MustCompile(`portcullis_check_total\{[^}]*decision="allow"[^}]*\} 1\b`).MatchString(metrics) {
		t.Errorf("the HTTP front's allow is not counted in portcullis_check_total:\n%s", grepLines(metrics, "portcullis_check_total"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// SIGTERM lets a forward-auth request in flight finish with its answer, then exits 0.
func TestForwardAuthDrainsOnSIGTERM(t *testing.T) {
	backend := fat.NewBackend(t)
	p := start(t, "--config", fat.WriteConfig(t, backend.URL), "--forward-auth-addr", "127.0.0.1:0",
		"--forward-auth-mode", "x-original")
	answered := make(chan *httpAnswer, 1)
	go func() {
		got, err := rawRoundTrip(p.forwardAuthAddr, "GET /", fat.RESTHost,
			[]string{"X-Original-Method: GET", "X-Original-URI: /pets", "Authorization: " + fat.Slow})
		if err != nil {
			got = &httpAnswer{body: err.Error()}
		}
		answered <- got
	}()
	eventually(t, "the slow request reached the backend", func() bool { return backend.Calls(fat.Slow) == 1 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-answered:
		if got.status != 200 || got.header.Get("x-authorizer-principal-id") != "user-slow" {
			t.Errorf("in-flight request: %s", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no answer 20s after SIGTERM")
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
}
