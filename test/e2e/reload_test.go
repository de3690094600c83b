package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// replaceFile swaps in new content with a rename, as editors and ConfigMap updates do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing after a generous bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// load keeps Checks that must always be allowed running until stop, counting answers.
type load struct {
	sent, wrong atomic.Int64
	stop        chan struct{}
	wg          sync.WaitGroup
	firstWrong  atomic.Value
}

func startLoad(p *instance, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := p.client.Check(context.Background(), checkRequest("GET", host, "/pets", bearer("steady")))
				l.sent.Add(1)
				if err != nil {
					l.wrong.Add(1)
					l.firstWrong.CompareAndSwap(nil, err.Error())
					continue
				}
				if status, body := denied(resp); status != 200 {
					l.wrong.Add(1)
					l.firstWrong.CompareAndSwap(nil, body)
				}
			}
		}()
	}
	return l
}

func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.wrong.Load() > 0 {
		t.Fatalf("%d of %d steady Checks failed or were decided wrongly; first: %v", l.wrong.Load(), l.sent.Load(), l.firstWrong.Load())
	}
	t.Logf("%d steady Checks, all allowed", l.sent.Load())
}

func TestHotReloadUnderLoad(t *testing.T) {
	authz := newFakeAuthorizer(t)
	base := strings.ReplaceAll(petstoreConfig, "AUTHZ_URL", authz.URL())
	withOpen := base + "    - {path: /open, methods: [GET], authorizer: NONE}\n"
	invalid := strings.Replace(withOpen, "resultTtlInSeconds: 300", "resultTtlInSeconds: 99999", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "petstore.yaml")
	replaceFile(t, path, base)
	p := start(t, "--config", dir)
	openStatus := func() int { s, _ := denied(p.check(t, "GET", host, "/open", nil)); return s }
	if s := openStatus(); s != 403 {
		t.Fatalf("/open before the change = %d, want 403", s)
	}

	l := startLoad(p, 8)
	replaceFile(t, path, withOpen)
	eventually(t, "the new route in force", func() bool { return openStatus() == 200 })

	replaceFile(t, path, invalid)
	eventually(t, "the invalid config rejected", func() bool {
		_, m := p.get(t, "/metrics")
		return strings.Contains(m, `portcullis_config_reloads_total{result="error"} 1`)
	})
	if s := openStatus(); s != 200 {
		t.Fatalf("/open after the invalid config = %d, want 200: the previous config must keep serving", s)
	}
	if status, body := p.get(t, "/readyz"); status != 200 {
		t.Fatalf("readyz after the invalid config = %d %s", status, body)
	}
	if !strings.Contains(p.logs.String(), "resultTtlInSeconds") {
		t.Errorf("the rejection was not logged with its field:\n%s", p.logs)
	}

	replaceFile(t, path, base)
	eventually(t, "the route removed again", func() bool { return openStatus() == 403 })
	l.finish(t)
	if n := authz.Calls("steady"); n != 1 {
		t.Errorf("backend calls for the steady token = %d, want 1: unchanged authorizers keep their cache", n)
	}
}

func TestSIGHUPReloads(t *testing.T) {
	authz := newFakeAuthorizer(t)
	path := petstore(t, authz.URL())
	p := start(t, "--config", path)
	content := strings.ReplaceAll(petstoreConfig, "AUTHZ_URL", authz.URL()) + "    - {path: /open, methods: [GET], authorizer: NONE}\n"
	// Written in place: the watcher may or may not see it first; SIGHUP must reload either way.
	os.WriteFile(path, []byte(content), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the new route in force", func() bool { s, _ := denied(p.check(t, "GET", host, "/open", nil)); return s == 200 })
}

func TestSIGTERMLosesNoInFlightCheck(t *testing.T) {
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()))
	// Slow cold Checks are in flight at the moment of SIGTERM: each must still get its answer.
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := p.client.Check(context.Background(), checkRequest("GET", host, "/pets", bearer("slow")))
			if err == nil {
				if status, _ := denied(resp); status == 200 {
					return
				}
			}
			failed.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprint(err))
		}()
	}
	eventually(t, "the backend call in flight", func() bool { return authz.Calls("slow") == 1 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d in-flight Checks lost at SIGTERM (first error %v)", failed.Load(), firstErr.Load())
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func TestTracesAreExportedOverOTLP(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Method == http.MethodPost {
			posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	authz := newFakeAuthorizer(t)
	p := start(t, "--config", petstore(t, authz.URL()), "--trace-otlp-endpoint", collector.URL)
	p.check(t, "GET", host, "/pets", map[string]string{"authorization": "Bearer tracy",
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	// Spans are batched; shutting down flushes them.
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if posts.Load() == 0 {
		t.Fatal("no span reached the OTLP collector")
	}
	if !strings.Contains(p.logs.String(), `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"`) {
		t.Errorf("decision log lacks Envoy's trace id:\n%s", p.logs)
	}
}
