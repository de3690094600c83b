package e2e

import (
	"regexp"
	"strings"
	"testing"
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
