package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSharedFlagsRefuseWhatCannotWork(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("only-31-bytes-of-secret-here-!!\n"), 0o600)
	long := filepath.Join(dir, "long")
	os.WriteFile(long, []byte(strings.Repeat("s", 32)+"\n"), 0o600)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name  string
		flags sharedFlags
		env   map[string]string
		want  string // in the error; "" for none
	}{
		{"no URL: no tier", sharedFlags{timeout: 50e6}, nil, ""},
		{"secret file without a URL", sharedFlags{secretFile: long, timeout: 50e6}, nil, "without --shared-cache-url"},
		{"URL without a secret", sharedFlags{url: "redis://127.0.0.1:1", timeout: 50e6}, nil, "needs a secret"},
		{"secret under 32 bytes (its newline not counted)", sharedFlags{url: "redis://127.0.0.1:1", secretFile: short, timeout: 50e6}, nil, "at least 32"},
		{"missing secret file", sharedFlags{url: "redis://127.0.0.1:1", secretFile: filepath.Join(dir, "none"), timeout: 50e6}, nil, "--shared-cache-secret-file"},
		{"not a redis URL", sharedFlags{url: "http://127.0.0.1:1", timeout: 50e6}, map[string]string{"PORTCULLIS_SHARED_CACHE_SECRET": strings.Repeat("s", 32)}, "--shared-cache-url"},
		{"zero timeout", sharedFlags{url: "redis://127.0.0.1:1", secretFile: long}, nil, "--shared-cache-timeout"},
		{"secret from the file", sharedFlags{url: "redis://127.0.0.1:1", secretFile: long, timeout: 50e6}, nil, ""},
		{"secret from the environment", sharedFlags{url: "rediss://127.0.0.1:1/2", timeout: 50e6}, map[string]string{"PORTCULLIS_SHARED_CACHE_SECRET": strings.Repeat("s", 40)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tier, err := tt.flags.tier(env(tt.env), slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			if tier != nil {
				tier.Close()
			}
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAdminURL(t *testing.T) {
	for in, want := range map[string]string{
		":8181":                  "http://127.0.0.1:8181",
		"0.0.0.0:8181":           "http://127.0.0.1:8181",
		"portcullis-0.svc:8181":  "http://portcullis-0.svc:8181",
		"https://admin.example/": "https://admin.example",
	} {
		if got := adminURL(in); got != want {
			t.Errorf("adminURL(%q) = %q, want %q", in, got, want)
		}
	}
}
