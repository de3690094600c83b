// Package engine is the decision pipeline: request facts in, a Decision out. Each step has its
// own file: resolve (Api, route, methodArn), identify (identity sources), authorize (cache and
// backend), evaluate (policy). It knows nothing of gRPC or HTTP; the fronts translate.
package engine

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// DefaultHeaderPrefix starts the names of the headers passed upstream.
const DefaultHeaderPrefix = "x-authorizer-"

// Options configure an Engine.
type Options struct {
	CacheMaxBytes int64
	HeaderPrefix  string
	Logger        *slog.Logger
	Metrics       *Metrics // nil: not recorded
	Now           func() time.Time
	// BackendMaxInflight bounds the calls in flight to one authorizer's backend (default 512), so a
	// slow backend facing many distinct identities cannot pile up goroutines and connections.
	// A call that finds no slot within BackendQueueWait (default 1s) fails closed (500).
	BackendMaxInflight int
	BackendQueueWait   time.Duration
	// Tracer, when set, records a span per decision with the backend call as its child.
	Tracer trace.Tracer
	// AllowLogRate is the share of allows written to the decision log (0..1); denials and
	// errors are always written.
	AllowLogRate float64
	// Shared, when set, is the tier under the engine's own cache that replicas share.
	Shared SharedCache
}

// Engine decides requests against the current Snapshot.
type Engine struct {
	snap     atomic.Pointer[config.Snapshot]
	cache    *cache.Cache[Answer]
	interner *policy.Interner
	names    upstreamNames
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time

	allowLogRate float64
	tracer       trace.Tracer

	backendSlots sync.Map // authorizer UID -> chan struct{}
	maxBackend   int
	queueWait    time.Duration

	states sync.Pool // *state: requests' allocations given back by Release

	shared SharedCache                       // nil: no shared tier
	gens   atomic.Pointer[map[string]uint64] // see generation; copied on write under gensMu
	gensMu sync.Mutex
}

// New makes an Engine serving snap.
func New(snap *config.Snapshot, opts Options) (*Engine, error) {
	if opts.CacheMaxBytes == 0 {
		opts.CacheMaxBytes = 64 << 20
	}
	if opts.HeaderPrefix == "" {
		opts.HeaderPrefix = DefaultHeaderPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BackendMaxInflight <= 0 {
		opts.BackendMaxInflight = 512
	}
	if opts.BackendQueueWait <= 0 {
		opts.BackendQueueWait = time.Second
	}
	// An answer with one or two context keys is charged 880-1,000 bytes (Answer.cost); ristretto's
	// admission counters are sized from this average, ten per entry that fits the bound.
	c, err := cache.New[Answer](cache.Options{MaxBytes: opts.CacheMaxBytes, AvgEntryBytes: 1024, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cache:    c,
		interner: policy.NewInterner(),
		names:    newUpstreamNames(opts.HeaderPrefix),
		log:      opts.Logger,
		metrics:  opts.Metrics,
		now:      opts.Now,

		allowLogRate: opts.AllowLogRate,
		tracer:       opts.Tracer,
		maxBackend:   opts.BackendMaxInflight,
		queueWait:    opts.BackendQueueWait,
		shared:       opts.Shared,
	}
	e.snap.Store(snap)
	return e, nil
}

// Close releases the cache.
func (e *Engine) Close() { e.cache.Close() }

// Snapshot returns the configuration in force.
func (e *Engine) Snapshot() *config.Snapshot { return e.snap.Load() }

// Swap puts snap in force for every Check that starts after it and returns the previous one.
// Backend call slots of authorizers snap no longer has are dropped.
func (e *Engine) Swap(snap *config.Snapshot) *config.Snapshot {
	old := e.snap.Swap(snap)
	live := map[string]bool{}
	for _, a := range snap.Authorizers() {
		live[a.UID] = true
	}
	e.backendSlots.Range(func(uid, _ any) bool {
		if !live[uid.(string)] {
			e.backendSlots.Delete(uid)
		}
		return true
	})
	return old
}

// HeaderPrefix is the prefix of upstream headers, for a front reading a request (which of its
// headers carry it); answers render from Decision.HeaderPrefix.
func (e *Engine) HeaderPrefix() string { return e.names.prefix }

// Decide runs the whole pipeline for one request.
func (e *Engine) Decide(ctx context.Context, req *request.Request) *Decision {
	// The request's own time stamp, taken as the front read it, starts the clock: one clock read
	// fewer per Check.
	start := req.Time
	if start.IsZero() {
		start = e.now()
	}
	// One allocation holds everything this request needs, the methodArn's bytes among them; the
	// Decision is returned from it, and Release gives it back for the next request.
	st, _ := e.states.Get().(*state)
	if st == nil {
		st = new(state)
	}
	d := &st.d
	d.state, d.names = st, &e.names
	if req.RequestID == "" {
		// A front that read no id: one made here serves the event and the log alike.
		req.RequestID = uuid.NewString()
	}
	d.RequestID = req.RequestID
	var span trace.Span
	if e.tracer != nil {
		ctx, span = e.tracer.Start(ctx, "portcullis.Check", trace.WithSpanKind(trace.SpanKindServer))
		defer func() { endSpan(span, d) }()
	}
	e.decide(ctx, e.snap.Load(), req, st)
	dryRun(st)
	if e.metrics != nil {
		e.metrics.observeCheck(d, e.now().Sub(start))
	}
	e.logDecision(ctx, d)
	return d
}

// Release hands back d, which must not be used afterwards, nor anything of it that the caller
// did not copy: the next request's Decide reuses its memory. Call it once the answer is built;
// the caller may then reuse the Request too. It always takes the state back: a backend call that
// outlives its request (the caller gave up waiting) works from its own copies of the cache key,
// the route target and the request facts (see backendCall), never from this memory. A Decision
// from Reject, or one made by hand, holds no pooled state and is left as it is.
func (e *Engine) Release(d *Decision) {
	st := d.state
	if st == nil {
		return
	}
	*st = state{}
	e.states.Put(st)
}

// Reject records a request answered without a lookup, still counted and logged: BadRequest for
// one that could not be read at all (a hostile path, headers over the limit), Throttled for one
// refused because too many are in flight.
func (e *Engine) Reject(ctx context.Context, outcome Outcome, requestID string, err error) *Decision {
	d := &Decision{Outcome: outcome, RequestID: requestID, Err: err, names: &e.names}
	if e.metrics != nil {
		e.metrics.observeCheck(d, 0)
	}
	e.logDecision(ctx, d)
	return d
}

// state is one request's way through the pipeline.
type state struct {
	d      Decision
	t      target
	id     identified
	values [4]string
}

func (e *Engine) decide(ctx context.Context, snap *config.Snapshot, req *request.Request, st *state) {
	d, t, id := &st.d, &st.t, &st.id
	if !e.resolve(snap, req, t, d) {
		return
	}
	if t.authorizer == nil {
		d.Outcome = Allow
		return
	}
	id.values = st.values[:0]
	if !e.identify(req, t, d, id) {
		return
	}
	ans, ok := e.authorize(ctx, req, t, id, d)
	if !ok {
		return
	}
	e.evaluate(req, t, ans, d)
}

// logDecision writes the decision log: one line per decision, for denials and errors always,
// for allows at the sampled rate (and every allow at debug level).
func (e *Engine) logDecision(ctx context.Context, d *Decision) {
	// A dry-run decision is logged as the denial it would have been: always.
	outcome := d.Outcome
	if d.DryRun != Allow {
		outcome = d.DryRun
	}
	level := slog.LevelInfo
	switch {
	case outcome == Allow && !e.sampleAllow():
		level = slog.LevelDebug
	case outcome >= AuthorizerFailure:
		level = slog.LevelError
	}
	if !e.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("api", d.Api),
		slog.String("route", d.Route),
		slog.String("authorizer", d.Authorizer),
		slog.String("decision", outcome.String()),
		slog.Int("status", d.Outcome.HTTPStatus()),
		slog.String("principal_id", d.PrincipalID),
		slog.String("token_hash", d.TokenHash()),
		slog.Bool("cached", d.Cached),
		slog.String("request_id", d.RequestID),
		// A copy: the methodArn's bytes are reused after Release, and a handler may keep a record.
		slog.String("method_arn", strings.Clone(d.MethodArn)),
	}
	if d.DryRun != Allow {
		attrs = append(attrs, slog.Bool("dry_run", true))
	}
	if d.Backend > 0 {
		attrs = append(attrs, slog.Float64("backend_ms", float64(d.Backend.Microseconds())/1000))
	}
	if d.Policy.Statement >= 0 && d.Answer != nil && d.Answer.Policy != nil {
		attrs = append(attrs, slog.Int("statement", d.Policy.Statement), slog.String("sid", d.Policy.Sid))
	}
	if d.Err != nil {
		attrs = append(attrs, slog.String("error", d.Err.Error()))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	e.log.LogAttrs(ctx, level, "decision", attrs...)
}

func (e *Engine) sampleAllow() bool {
	switch {
	case e.allowLogRate <= 0:
		return false
	case e.allowLogRate >= 1:
		return true
	}
	return rand.Float64() < e.allowLogRate
}
