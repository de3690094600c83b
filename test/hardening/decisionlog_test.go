package hardening

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// decisionRecord is one line of Portcullis's decision log: where it decided a request to go.
type decisionRecord struct {
	Decision  string
	Status    int64
	Route     string
	MethodArn string
	Error     string
	Cached    bool
}

// decisionLog keeps the decision log by request ID, so a test can see the methodArn and route a
// decision was made on: the proof that Portcullis decided on the path the upstream routes.
type decisionLog struct {
	mu     sync.Mutex
	byID   map[string]decisionRecord
	panics atomic.Int64 // "check panicked" lines of the gRPC front
}

func (l *decisionLog) logger() *slog.Logger { return slog.New(&logHandler{log: l}) }

func (l *decisionLog) get(id string) (decisionRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.byID[id]
	delete(l.byID, id) // each request is looked up once; large runs must not keep them all
	return r, ok
}

// logHandler is a slog.Handler that files "decision" records, counts panics, and drops
// everything else.
type logHandler struct {
	log *decisionLog
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logHandler) WithGroup(string) slog.Handler            { return h }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "check panicked" {
		h.log.panics.Add(1)
	}
	if r.Message != "decision" {
		return nil
	}
	var id string
	var rec decisionRecord
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "request_id":
			id = a.Value.String()
		case "decision":
			rec.Decision = a.Value.String()
		case "status":
			rec.Status = a.Value.Int64()
		case "route":
			rec.Route = a.Value.String()
		case "method_arn":
			rec.MethodArn = a.Value.String()
		case "error":
			rec.Error = a.Value.String()
		case "cached":
			rec.Cached = a.Value.Bool()
		}
		return true
	})
	h.log.mu.Lock()
	h.log.byID[id] = rec
	h.log.mu.Unlock()
	return nil
}
