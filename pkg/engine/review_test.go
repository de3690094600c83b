package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/config"
)

// buildSnapshot builds a snapshot of the config text, backends and all.
func buildSnapshot(t *testing.T, text string) *config.Snapshot {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// A backend's error names its authorizer once: the engine does not name it again.
func TestBackendErrorNamesTheAuthorizerOnce(t *testing.T) {
	// testConfig's HTTP backends point at 127.0.0.1:1, where nothing listens.
	e, err := New(buildSnapshot(t, testConfig), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "Bearer t"}))
	if d.Outcome != AuthorizerFailure || d.Err == nil {
		t.Fatalf("outcome %v, error %v: want a backend failure", d.Outcome, d.Err)
	}
	if n := strings.Count(d.Err.Error(), `authorizer "tokens"`); n != 1 {
		t.Fatalf("error names the authorizer %d times, want 1: %v", n, d.Err)
	}
}

// A denial for scopes decided no statement: the decision log names none.
func TestScopeDenialLogsNoStatement(t *testing.T) {
	var buf bytes.Buffer
	snap := buildSnapshot(t, jwtConfig)
	e, err := New(snap, Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	d := e.Decide(context.Background(), req("GET", "any.host", "/admin/users", map[string]string{"authorization": hs256(t, "read")}))
	if d.Outcome != ImplicitDeny {
		t.Fatalf("outcome %v, want an implicit deny for scopes", d.Outcome)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("decision log %q: %v", buf.String(), err)
	}
	if st, ok := line["statement"]; ok {
		t.Fatalf("decision log names statement %v for a scope denial: %s", st, buf.String())
	}
}

// A call that starts after a Swap dropped its authorizer leaves no slot entry behind.
func TestSwapLeavesNoSlotOfADroppedAuthorizer(t *testing.T) {
	e, err := New(buildSnapshot(t, testConfig), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	old := e.Snapshot().Authorizer("tokens").UID
	e.Swap(buildSnapshot(t, jwtConfig)) // no authorizer "tokens" any more
	release, err := e.backendSlot(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, ok := e.backendSlots.Load(old); ok {
		t.Fatal("a slot entry of an authorizer the snapshot no longer has stays behind")
	}
}
