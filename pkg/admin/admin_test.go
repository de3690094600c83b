package admin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	var ready atomic.Bool
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "portcullis_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(Handler(Options{
		Ready: func() error {
			if !ready.Load() {
				return errors.New("jwks for authorizer \"corp\" not fetched yet")
			}
			return nil
		},
		Gatherer: reg,
	}))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, path string
		before     func()
		status     int
		contains   string
	}{
		{"healthz is live while not ready", "/healthz", nil, 200, "ok"},
		{"readyz says why it is not ready", "/readyz", nil, 503, "jwks for authorizer"},
		{"readyz turns ready", "/readyz", func() { ready.Store(true) }, 200, "ready"},
		{"metrics are exposed", "/metrics", nil, 200, "portcullis_test_total 3"},
		{"unknown path is 404", "/nope", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			status, body := get(tt.path)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestProfilingOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(Handler(Options{Profiling: on}))
		for path, want := range map[string]string{"/debug/pprof/": "goroutine", "/debug/pprof/heap?debug=1": "heap profile"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if served := resp.StatusCode == 200 && strings.Contains(string(b), want); served != on {
				t.Errorf("profiling %v: GET %s = %d, served %v", on, path, resp.StatusCode, served)
			}
		}
		srv.Close()
	}
}
