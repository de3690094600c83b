package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/cache"
	"github.com/portcullis-dev/portcullis/pkg/policy"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// authorize returns the identity's answer, from the cache or from one backend call.
func (e *Engine) authorize(ctx context.Context, req *request.Request, t *target, id *identified, d *Decision) (*Answer, bool) {
	key := (*cache.Key)(&id.key)
	if entry, ok := e.cache.Get(key); ok {
		if e.metrics != nil {
			e.metrics.observeCache(true)
		}
		d.Cached, d.Answer, d.PrincipalID = true, entry.Value, entry.Value.PrincipalID
		return entry.Value, true
	}
	// The fetch may run on after this caller gave up waiting, so it writes only latency, which is
	// read only when this caller received the fetch's result.
	var latency time.Duration
	fetch := func(ctx context.Context) (*Answer, int64, time.Duration, error) {
		return e.callBackend(ctx, req, t, id, &latency)
	}
	entry, cached, err := e.cache.GetOrFetch(ctx, key, fetch)
	if !cached && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		d.Backend = latency
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
	d.Answer = entry.Value
	d.PrincipalID = entry.Value.PrincipalID
	return entry.Value, true
}

// callBackend asks the backend and compiles its answer; the result is what gets cached.
func (e *Engine) callBackend(ctx context.Context, req *request.Request, t *target, id *identified, latency *time.Duration) (*Answer, int64, time.Duration, error) {
	a := t.authorizer
	release, err := e.backendSlot(ctx, a.UID)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("authorizer %q: %w", a.Name, err)
	}
	defer release()
	breq := e.backendRequest(req, t, id)
	start := e.now()
	ctx, end := e.backendSpan(ctx, a.Name)
	resp, err := a.Backend.Authorize(ctx, breq)
	end(err)
	*latency = e.now().Sub(start)
	if e.metrics != nil {
		e.metrics.observeBackend(a.Name, err, *latency)
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("authorizer %q: %w", a.Name, err)
	}
	ans, err := e.compileAnswer(resp)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("authorizer %q: %w", a.Name, err)
	}
	ttl := a.TTL
	if !resp.ExpiresAt.IsZero() {
		if left := resp.ExpiresAt.Sub(e.now()); left < ttl {
			ttl = left
		}
	}
	return ans, ans.cost(), ttl, nil
}

func (e *Engine) backendRequest(req *request.Request, t *target, id *identified) *authorizer.Request {
	api, a := t.api, t.authorizer
	requestID := req.RequestID
	if requestID == "" {
		requestID = uuid.NewString()
	}
	return &authorizer.Request{
		Type:           a.Type,
		PayloadVersion: a.EffectivePayloadVersion(api),
		MethodArn:      t.methodArn,
		Token:          id.token,
		IdentitySource: append([]string(nil), id.values...),
		HTTP:           req,
		Resource:       t.route.Template,
		Path:           t.path,
		PathParameters: t.match.ParamMap(),
		StageVariables: api.StageVariables,
		Region:         api.Region,
		AccountID:      api.AccountID,
		APIID:          api.APIID,
		Stage:          api.Stage,
		RouteKey:       t.routeKey,
		RequestID:      requestID,
	}
}

// compileAnswer turns a backend response into the cached Answer: the policy compiled and
// interned, the upstream headers precomputed.
func (e *Engine) compileAnswer(resp *authorizer.Response) (*Answer, error) {
	ans := &Answer{
		PrincipalID:        resp.PrincipalID,
		Context:            policy.NewContext(resp.Context),
		Scopes:             resp.Scopes,
		UsageIdentifierKey: resp.UsageIdentifierKey,
	}
	switch {
	case len(resp.PolicyDocument) > 0:
		p, fresh, err := e.interner.Intern(resp.PolicyDocument)
		if err != nil {
			return nil, fmt.Errorf("%w: policyDocument: %w", authorizer.ErrConfiguration, err)
		}
		ans.Policy = p
		if fresh {
			ans.policyBytes = int32(min(p.Size(), math.MaxInt32))
		}
	case resp.IsAuthorized != nil:
		ans.Authorized = *resp.IsAuthorized
	default:
		return nil, fmt.Errorf("%w: no policyDocument", authorizer.ErrConfiguration)
	}
	headers, err := e.names.headers(resp.PrincipalID, ans.Context)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", authorizer.ErrConfiguration, err)
	}
	ans.Headers = headers
	return ans, nil
}

// cost approximates the bytes an Answer holds, for the cache's byte bound. A compiled policy is
// interned and shared: it is charged to the answer that brought it in (policyBytes), not to the
// answers that found it already compiled, so a backend that returns a policy per user is bounded
// too.
func (a *Answer) cost() int64 {
	// The Answer (128 B), its cache entry (64 B), ristretto's map, expiry and admission entries
	// for it and the allocator's rounding: 629 B with one context key in
	// BenchmarkMillionIdentities.
	n := 480 + len(a.PrincipalID) + len(a.UsageIdentifierKey) + int(a.policyBytes)
	// A front's encoded response parts, kept once the answer is in use: 465 B with two context
	// keys in extauthz's BenchmarkIdentityMemory.
	rendered := 320
	for _, h := range a.Headers {
		n += 32 + len(h.Value) // names are interned
		rendered += 2 * (len(h.Name) + len(h.Value))
	}
	for _, s := range a.Scopes {
		n += 16 + len(s)
	}
	n += 48 * len(a.Context) // entry and boxed value, beside the headers made from it
	return int64(n + rendered)
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
