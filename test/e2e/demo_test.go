package e2e

import (
	"strings"
	"testing"
)

// TestDemoQuickStart is the README's quick start: serve with no config, mint a token, ask.
func TestDemoQuickStart(t *testing.T) {
	p := start(t)
	if !strings.Contains(p.logs.String(), "EMBEDDED DEMO CONFIG") {
		t.Errorf("the demo is not announced loudly:\n%s", p.logs)
	}
	stdout, stderr, code := runCLI(t, "", "token", "--sub", "alice")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	alice := map[string]string{"authorization": "Bearer " + strings.TrimSpace(stdout)}

	resp := p.check(t, "GET", "localhost:8080", "/pets/1", alice)
	if status, body := denied(resp); status != 200 || upstreamHeaders(resp)["x-authorizer-principal-id"] != "alice" {
		t.Fatalf("GET: %d %s %v", status, body, upstreamHeaders(resp))
	}
	if status, body := denied(p.check(t, "DELETE", "localhost:8080", "/pets/1", alice)); status != 403 || body != msgImplicit {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	resp = p.check(t, "GET", "localhost:8080", "/pets/1", map[string]string{"authorization": "Bearer forged.token.here"})
	if status, _ := denied(resp); status != 401 || deniedHeaders(resp)["www-authenticate"] != "Bearer" {
		t.Fatalf("forged token: %d %v", status, deniedHeaders(resp))
	}
	if status, body := p.get(t, "/readyz"); status != 200 {
		t.Fatalf("readyz %d %s", status, body)
	}
}
