// Package forwardauth is the HTTP front: an authorization request from a proxy (Envoy's ext_authz
// http_service, nginx auth_request, Caddy forward_auth, Traefik ForwardAuth) in, the engine's
// Decision out as an HTTP answer. Where the original request's method and URI come from is set by
// the Mode, never guessed; the facts then go through pkg/request's checks, the same as the gRPC
// front's, and the same Engine decides them (cache, metrics and decision log included).
package forwardauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// Mode says which part of an authorization request carries the original method and URI.
type Mode uint8

const (
	// ModeRequest (Envoy http_service): the request's own method and path, less the path prefix.
	ModeRequest Mode = iota
	// ModeXForwarded (Caddy, Traefik): X-Forwarded-Method and X-Forwarded-Uri; the host from
	// X-Forwarded-Host, else Host.
	ModeXForwarded
	// ModeXOriginal (nginx): X-Original-Method and X-Original-URI; the host from Host.
	ModeXOriginal
)

var modeNames = [...]string{ModeRequest: "request", ModeXForwarded: "x-forwarded", ModeXOriginal: "x-original"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// ParseMode reads a --forward-auth-mode value.
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q: want request, x-forwarded or x-original", s)
}

// Options configure a Handler.
type Options struct {
	Mode Mode
	// PathPrefix is what Envoy's http_service path_prefix puts before the original path
	// (ModeRequest only): "" or an absolute path without a trailing "/".
	PathPrefix string
	// TrustedProxies are the peers whose X-Forwarded-For is believed; nil: loopback only.
	TrustedProxies *Proxies
	Logger         *slog.Logger
	Registry       prometheus.Registerer // nil: no metrics of the front's own
	Now            func() time.Time
	// MaxInflight bounds the requests decided at once; more are answered 429 at once. 0: none.
	MaxInflight int64
	// Propagator, when set, reads the trace context the proxy sends (traceparent).
	Propagator propagation.TextMapPropagator
}

// Handler answers authorization requests. It is an http.Handler; NewServer serves it.
type Handler struct {
	engine  *engine.Engine
	mode    Mode
	prefix  string
	proxies *Proxies
	log     *slog.Logger
	now     func() time.Time
	prop    propagation.TextMapPropagator
	panics  prometheus.Counter

	// the mode's method and URI headers, canonical as net/http keys them
	methodHeader, uriHeader string

	maxInflight int64
	inflight    atomic.Int64

	states   sync.Pool // *reqState, reused once the Decision is released
	upstream upstreamCache
}

// reqState is one request's reusable memory: the facts and the header map they point at.
type reqState struct {
	req     request.Request
	parts   request.Parts
	headers map[string]string
	// prefixed: the request has a header with the upstream prefix, which the answer must name
	// for removal.
	prefixed bool
}

// New makes a Handler deciding with e.
func New(e *engine.Engine, opts Options) (*Handler, error) {
	if opts.Mode > ModeXOriginal {
		return nil, fmt.Errorf("forward auth: %v", opts.Mode)
	}
	if p := opts.PathPrefix; p != "" {
		if opts.Mode != ModeRequest {
			return nil, fmt.Errorf("forward auth: a path prefix is read only in mode request, not %s", opts.Mode)
		}
		if p[0] != '/' || strings.HasSuffix(p, "/") {
			return nil, fmt.Errorf("forward auth: path prefix %q must start with / and not end with /", p)
		}
		if _, err := request.CleanPath(p); err != nil || strings.ContainsAny(p, "?#%") {
			return nil, fmt.Errorf("forward auth: path prefix %q is not a plain path", p)
		}
	}
	if opts.TrustedProxies == nil {
		opts.TrustedProxies = Loopback()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{
		engine: e, mode: opts.Mode, prefix: opts.PathPrefix, proxies: opts.TrustedProxies,
		log: opts.Logger, now: opts.Now, prop: opts.Propagator, maxInflight: opts.MaxInflight,
	}
	switch opts.Mode {
	case ModeXForwarded:
		h.methodHeader, h.uriHeader = "X-Forwarded-Method", "X-Forwarded-Uri"
	case ModeXOriginal:
		h.methodHeader, h.uriHeader = "X-Original-Method", "X-Original-Uri"
	}
	h.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portcullis_forward_auth_panics_total", Help: "Forward-auth requests that panicked and were answered 500.",
	})
	if opts.Registry != nil {
		if err := opts.Registry.Register(h.panics); err != nil {
			return nil, fmt.Errorf("forward auth metrics: %w", err)
		}
	}
	return h, nil
}

// NewServer is an HTTP/1.1 server for h, hardened against slow and oversized requests: headers
// must arrive within 5s and hold at most SPEC section 11's 64 KiB (plus the request line: 431
// beyond), and an idle proxy connection is kept for reuse a minute at most. No read or write
// timeout for the whole exchange: authorization requests have no body to read, a decision may
// wait for a backend for that backend's own timeout, and each costs timer work on every request.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    request.MaxHeaderBytes + request.MaxPathBytes + 1024,
	}
}

// ServeHTTP decides one authorization request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.panics.Inc()
			h.log.ErrorContext(r.Context(), "forward auth panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			writeDeny(w, &engine.Decision{Outcome: engine.AuthorizerFailure}, nil, uuid.NewString())
		}
	}()
	ctx := r.Context()
	if n := h.inflight.Add(1); h.maxInflight > 0 && n > h.maxInflight {
		h.inflight.Add(-1)
		id := requestIDOf(r.Header)
		d := h.engine.Reject(ctx, engine.Throttled, id, errOverloaded)
		d.Responses = h.responsesFor(r)
		writeDeny(w, d, nil, id)
		return
	}
	defer h.inflight.Add(-1)
	if h.prop != nil {
		ctx = h.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	st, _ := h.states.Get().(*reqState)
	if st == nil {
		st = &reqState{}
	}
	if err := h.facts(r, st); err != nil {
		id := st.parts.RequestID
		h.reuse(st)
		d := h.engine.Reject(ctx, engine.BadRequest, id, err)
		d.Responses = h.responsesFor(r)
		writeDeny(w, d, nil, id)
		return
	}
	d := h.engine.Decide(ctx, &st.req)
	// Everything written comes from d (the snapshot's parts, the cached answer, the engine's
	// header names it points at) and the request's own headers, and it is written before d and
	// st go back: a backend call that outlives this request works from its own copies, the
	// header map included.
	if d.Outcome == engine.Allow {
		var sent http.Header
		if st.prefixed {
			sent = r.Header
		}
		if err := h.writeAllow(w, d, sent, st.parts.RequestID); err != nil {
			// Fail closed: the answer cannot be passed upstream as it is.
			h.log.ErrorContext(ctx, "allow not encodable", "api", d.Api, "authorizer", d.Authorizer, "error", err.Error())
			writeDeny(w, &engine.Decision{Outcome: engine.AuthorizerConfig, Protocol: d.Protocol, Responses: d.Responses, RequestID: st.parts.RequestID}, &st.req, st.parts.RequestID)
		}
	} else {
		writeDeny(w, d, &st.req, st.parts.RequestID)
	}
	h.engine.Release(d)
	h.reuse(st)
}

// reuse puts st back for the next request, its header map emptied but kept.
func (h *Handler) reuse(st *reqState) {
	m := st.headers
	clear(m)
	*st = reqState{headers: m}
	h.states.Put(st)
}

var errOverloaded = errors.New("more forward-auth requests in flight than --max-inflight")

// responsesFor finds the gateway responses of the Api a request that could not be decided was
// for, by the host its mode reads.
func (h *Handler) responsesFor(r *http.Request) *gatewayresponse.Set {
	host := r.Host
	if v := r.Header.Get("X-Forwarded-Host"); v != "" && h.mode == ModeXForwarded {
		host = v
	}
	return h.engine.ResponsesFor("", host)
}
