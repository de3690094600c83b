package forwardauth

import (
	"context"
	"net/http"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	fat "github.com/portcullis-dev/portcullis/pkg/forwardauth/forwardauthtest"
)

// nullWriter is the least a ResponseWriter can be, so that the benchmark measures the front.
type nullWriter struct {
	h      http.Header
	status int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(s int)           { w.status = s }

// BenchmarkServeHTTPCachedAllow is the front's own work for a cached allow, as nginx asks (mode
// x-original), from a parsed request to the written answer: net/http's parsing and writing are
// measured by `make bench`'s load comparison instead.
func BenchmarkServeHTTPCachedAllow(b *testing.B) {
	backend := fat.NewBackend(b)
	snap, err := config.Build(context.Background(), config.BuildOptions{Paths: []string{fat.WriteConfig(b, backend.URL)}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(snap, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	h, err := New(e, Options{Mode: ModeXOriginal})
	if err != nil {
		b.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "http://"+fat.RESTHost+"/auth", nil)
	r.RequestURI, r.RemoteAddr = "/auth", "127.0.0.1:40000"
	r.Header = http.Header{
		"X-Original-Method": {"GET"}, "X-Original-Uri": {"/pets/42?limit=10"}, "Authorization": {fat.Allow},
		"User-Agent": {"load"}, "X-Forwarded-For": {"203.0.113.7"}, "X-Request-Id": {"7f0c1e9e-1c1b-4a43-9a8e-2f6b8f1f2a11"},
	}
	w := &nullWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // the backend call; every later one is cached
	if w.status != 200 || backend.Calls(fat.Allow) != 1 {
		b.Fatalf("status %d, %d backend calls", w.status, backend.Calls(fat.Allow))
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if w.status != 200 || backend.Calls(fat.Allow) != 1 {
		b.Fatalf("status %d, %d backend calls", w.status, backend.Calls(fat.Allow))
	}
}
