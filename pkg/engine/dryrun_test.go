package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// newDryRunEngine is newTestEngine with the petstore Api in dry run.
func newDryRunEngine(t *testing.T, fb *fakeBackend, m *Metrics) *Engine {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	cfg := strings.Replace(testConfig, "  cors: {allowPreflight: true}\n", "  cors: {allowPreflight: true}\n  dryRun: true\n", 1)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Build(context.Background(), config.BuildOptions{
		Paths: []string{p}, WrapBackend: func(string, authorizer.Backend) authorizer.Backend { return fb },
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(snap, Options{Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// TestDryRunOutcomes: in dry run, every would-be 401, 403 and 500 is an allow that remembers what
// it would have been; 414 is still enforced, and a request outside the Api's base path is no
// request of the Api.
func TestDryRunOutcomes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	e := newDryRunEngine(t, newFake(), m)
	auth := func(tok string) map[string]string { return map[string]string{"authorization": tok} }
	tests := []struct {
		name      string
		req       func() *request.Request
		outcome   Outcome
		dryRun    Outcome
		hasAnswer bool
	}{
		{"explicit deny", func() *request.Request { return req("GET", "api.example.com", "/v1/pets", auth("deny")) }, Allow, ExplicitDeny, true},
		{"implicit deny", func() *request.Request { return req("DELETE", "api.example.com", "/v1/pets/1", auth("alice")) }, Allow, ImplicitDeny, true},
		{"missing token", func() *request.Request { return req("GET", "api.example.com", "/v1/pets", nil) }, Allow, Unauthorized, false},
		{"backend down", func() *request.Request { return req("GET", "api.example.com", "/v1/pets", auth("down")) }, Allow, AuthorizerFailure, false},
		{"bad policy", func() *request.Request { return req("GET", "api.example.com", "/v1/pets", auth("badpolicy")) }, Allow, AuthorizerConfig, false},
		{"unmatched route", func() *request.Request { return req("GET", "api.example.com", "/v1/owners", auth("alice")) }, Allow, MissingToken, false},
		{"allowed is not marked", func() *request.Request { return req("GET", "api.example.com", "/v1/pets", auth("alice")) }, Allow, Allow, true},
		{"methodArn over 1,600 bytes is enforced", func() *request.Request {
			return req("GET", "api.example.com", "/v1/pets/"+strings.Repeat("a", 1600), auth("alice"))
		}, URITooLong, Allow, false},
		{"outside the base path is no request of the Api", func() *request.Request { return req("GET", "api.example.com", "/pets", auth("alice")) }, MissingToken, Allow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(context.Background(), tt.req())
			if d.Outcome != tt.outcome || d.DryRun != tt.dryRun || (d.Answer != nil) != tt.hasAnswer {
				t.Fatalf("outcome %s, dry run %s, answer %v; want %s, %s, %v", d.Outcome, d.DryRun, d.Answer != nil, tt.outcome, tt.dryRun, tt.hasAnswer)
			}
		})
	}
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "portcullis_dry_run_total" {
			continue
		}
		for _, metric := range f.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			got[strings.Join(labels, ",")] = metric.GetCounter().GetValue()
		}
	}
	want := map[string]float64{ // api, authorizer, decision
		"petstore,,missing_authentication_token":         1,
		"petstore,tokens,explicit_deny":                  1,
		"petstore,tokens,implicit_deny":                  1,
		"petstore,tokens,unauthorized":                   1,
		"petstore,tokens,authorizer_failure":             1,
		"petstore,tokens,authorizer_configuration_error": 1,
	}
	if len(got) != len(want) {
		t.Fatalf("portcullis_dry_run_total = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("portcullis_dry_run_total = %v, want %v", got, want)
		}
	}
}

// TestMethodArnLimit: API Gateway refuses a methodArn over 1,600 bytes; one at the limit is
// decided.
func TestMethodArnLimit(t *testing.T) {
	e := newTestEngine(t, newFake())
	prefix := len("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/")
	auth := map[string]string{"authorization": "alice"}
	if d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets/"+strings.Repeat("a", 1600-prefix), auth)); d.Outcome != Allow || len(d.MethodArn) != 1600 {
		t.Fatalf("at the limit: %s, methodArn of %d bytes", d.Outcome, len(d.MethodArn))
	}
	if d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets/"+strings.Repeat("a", 1601-prefix), auth)); d.Outcome != URITooLong {
		t.Fatalf("one byte over: %s", d.Outcome)
	}
}
