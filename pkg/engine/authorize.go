package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// authorize returns the identity's answer, from the cache or from one backend call.
func (e *Engine) authorize(ctx context.Context, req *request.Request, t *target, id *identified, d *Decision) (*Answer, bool) {
	// d.key stays the identity's key: the shared tier's, and the log's token hash.
	mixGeneration(&id.key, e.generation(t.authorizer.Name))
	key := (*cache.Key)(&id.key)
	if entry, ok := e.cache.Get(key); ok {
		if e.metrics != nil {
			e.metrics.observeCache(true)
		}
		d.Cached, d.Answer, d.PrincipalID = true, &entry.Value, entry.Value.PrincipalID
		return &entry.Value, true
	}
	// A miss: the call works from its own copies, since it may run on after this caller gave up
	// waiting, and this request's state goes back to the pool at Release.
	call := e.newBackendCall(req, t, id, &d.key)
	fetch := call.fetch
	if e.shared != nil {
		fetch = call.sharedFetch
	}
	entry, cached, err := e.cache.GetOrFetch(ctx, &call.key, fetch)
	if !cached && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// Written by the fetch before it returned its result, which this caller received.
		d.Backend = call.latency
	}
	if e.metrics != nil {
		e.metrics.observeCache(cached && err == nil)
	}
	if err != nil {
		d.Err = err
		switch {
		case errors.Is(err, authorizer.ErrUnauthorized):
			d.Outcome = Unauthorized
		case errors.Is(err, authorizer.ErrConfiguration):
			d.Outcome = AuthorizerConfig
		default:
			d.Outcome = AuthorizerFailure
		}
		return nil, false
	}
	d.Cached = cached
	d.Answer = &entry.Value
	d.PrincipalID = entry.Value.PrincipalID
	return &entry.Value, true
}

// backendCall is one cache-miss backend call with copies of all it reads: the cache key, the
// authorizer and the backend's request, the request facts included (the fronts reuse their
// Request structs, and forward auth its header map). A singleflight call outlives the request
// that started it when that request's caller gives up waiting; it must then neither read the
// request's pooled state nor store its answer under whatever key the state holds by then.
type backendCall struct {
	e       *Engine
	key     cache.Key // the local cache key (generation mixed in)
	base    [32]byte  // the identity's key, the shared tier's
	a       *config.Authorizer
	req     authorizer.Request
	http    request.Request
	latency time.Duration // written by the call, read only by the caller that received its result
}

// newBackendCall copies what the call reads; key is the local cache key, base the identity's.
func (e *Engine) newBackendCall(req *request.Request, t *target, id *identified, base *[32]byte) *backendCall {
	api, a := t.api, t.authorizer
	c := &backendCall{e: e, key: cache.Key(id.key), base: *base, a: a, http: *req}
	c.http.Headers = maps.Clone(req.Headers)
	c.http.ContextExtensions = nil // read by resolve only, never by an event
	c.req = authorizer.Request{
		Type:           a.Type.String(),
		PayloadVersion: a.EffectivePayloadVersion(api),
		MethodArn:      strings.Clone(t.methodArn), // its bytes are the pooled state's
		Token:          id.token,
		IdentitySource: append([]string(nil), id.values...),
		HTTP:           &c.http,
		Resource:       t.route.Template,
		Path:           t.path,
		PathParameters: t.match.ParamMap(),
		StageVariables: api.StageVariables,
		Region:         api.Region,
		AccountID:      api.AccountID,
		APIID:          api.APIID,
		Stage:          api.Stage,
		RouteKey:       t.routeKey,
		RequestID:      req.RequestID,
	}
	return c
}

// fetch is the cache-miss path without a shared tier: the backend's answer.
func (c *backendCall) fetch(ctx context.Context, ans *Answer) (int64, time.Duration, error) {
	return c.e.callBackend(ctx, c.a, &c.req, ans, &c.latency)
}

// sharedFetch is the cache-miss path with a shared tier (Engine.sharedFetch).
func (c *backendCall) sharedFetch(ctx context.Context, ans *Answer) (int64, time.Duration, error) {
	return c.e.sharedFetch(ctx, &c.base, ans, c.a, c.fetch)
}

// callBackend asks the backend and compiles its answer into ans, which is what gets cached.
func (e *Engine) callBackend(ctx context.Context, a *config.Authorizer, breq *authorizer.Request, ans *Answer, latency *time.Duration) (int64, time.Duration, error) {
	// Errors do not name the authorizer: the backends' own errors do, and the decision log
	// carries it as a field.
	release, err := e.backendSlot(ctx, a.UID)
	if err != nil {
		return 0, 0, err
	}
	defer release()
	start := e.now()
	ctx, end := e.backendSpan(ctx, a.Name)
	resp, err := a.Backend.Authorize(ctx, breq)
	end(err)
	*latency = e.now().Sub(start)
	if e.metrics != nil {
		e.metrics.observeBackend(a.Name, err, *latency)
	}
	if err != nil {
		return 0, 0, err
	}
	if err := e.compileAnswer(resp, ans); err != nil {
		return 0, 0, fmt.Errorf("answer: %w", err)
	}
	keepResponse(ctx, resp)
	ttl := a.TTL
	if !resp.ExpiresAt.IsZero() {
		if left := resp.ExpiresAt.Sub(e.now()); left < ttl {
			ttl = left
		}
	}
	return ans.cost(), ttl, nil
}

// compileAnswer turns a backend response into the cached Answer, in place: the policy compiled
// and interned, the upstream headers checked.
func (e *Engine) compileAnswer(resp *authorizer.Response, ans *Answer) error {
	ans.PrincipalID = resp.PrincipalID
	if err := ans.setContext(policy.NewContext(resp.Context)); err != nil {
		return fmt.Errorf("%w: %w", authorizer.ErrConfiguration, err)
	}
	if len(resp.Scopes) > 0 || resp.UsageIdentifierKey != "" {
		ans.extra = &answerExtra{scopes: resp.Scopes, usageIdentifierKey: resp.UsageIdentifierKey}
	}
	switch {
	case len(resp.PolicyDocument) > 0:
		p, fresh, err := e.interner.Intern(resp.PolicyDocument)
		if err != nil {
			return fmt.Errorf("%w: policyDocument: %w", authorizer.ErrConfiguration, err)
		}
		ans.Policy = p
		if fresh {
			ans.policyBytes = int32(min(p.Size(), math.MaxInt32))
		}
	case resp.IsAuthorized != nil:
		ans.Authorized = *resp.IsAuthorized
	default:
		return fmt.Errorf("%w: no policyDocument", authorizer.ErrConfiguration)
	}
	// Built here only to refuse an answer whose headers could not be sent; a front builds them
	// again when it encodes the answer.
	if _, err := e.names.headers(resp.PrincipalID, ans.Context()); err != nil {
		return fmt.Errorf("%w: %w", authorizer.ErrConfiguration, err)
	}
	return nil
}

// cost approximates the bytes an Answer holds, for the cache's byte bound. A compiled policy is
// interned and shared: it is charged to the answer that brought it in (policyBytes), not to the
// answers that found it already compiled, so a backend that returns a policy per user is bounded
// too.
func (a *Answer) cost() int64 {
	// The entry holding the Answer (80 B), ristretto's map and admission entries for it and the
	// allocator's rounding: 360-377 B with one context key in BenchmarkMillionIdentities.
	n := 314 + len(a.PrincipalID) + int(a.policyBytes)
	if a.extra != nil {
		n += 64 + len(a.extra.usageIdentifierKey)
		for _, s := range a.extra.scopes {
			n += 16 + len(s)
		}
	}
	// A front's encoded response parts, kept once the answer is in use: 396 B with two context
	// keys in extauthz's BenchmarkIdentityMemory.
	rendered := 320 + 2*(len(a.PrincipalID)+24)
	for _, c := range a.Context() {
		// The entry, its boxed value and the value's text, its name shared.
		n += 48 + contextValueBytes(c.Value)
		rendered += 2 * (24 + len(c.Key) + contextValueBytes(c.Value))
	}
	return int64(n + rendered)
}

// contextValueBytes approximates what a context value decoded from JSON holds beyond its
// interface: a string's or number's text; a map or array, its decoded parts.
func contextValueBytes(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case json.Number:
		return len(v)
	case bool, nil:
		return 0
	}
	b, _ := json.Marshal(v)
	return 64 + 4*len(b)
}

// jsonValue renders a context value for a header: strings as they are, everything else as JSON.
func jsonValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

var errBackendBusy = errors.New("too many calls in flight to this authorizer's backend")

// backendSlot takes one of the authorizer's call slots, waiting at most the queue wait.
func (e *Engine) backendSlot(ctx context.Context, uid string) (func(), error) {
	v, ok := e.backendSlots.Load(uid)
	if !ok {
		v, _ = e.backendSlots.LoadOrStore(uid, make(chan struct{}, e.maxBackend))
		// A request that began before a Swap dropped its authorizer may get here after Swap
		// cleared the slots: its entry would then stay until the next Swap. Swap stores the
		// snapshot before it clears, so either this load sees the new snapshot, or Swap's
		// clearing comes after the store above and removes the entry itself.
		if !e.snap.Load().HasAuthorizerUID(uid) {
			e.backendSlots.CompareAndDelete(uid, v)
		}
	}
	slots := v.(chan struct{})
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	default:
	}
	timer := time.NewTimer(e.queueWait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-timer.C:
		return nil, errBackendBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
