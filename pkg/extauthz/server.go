// Package extauthz is the gRPC front: Envoy's Authorization/Check in, the engine's Decision out as
// a CheckResponse. It always answers with a CheckResponse, never a gRPC error, so that the client
// sees Portcullis's status and body rather than Envoy's status_on_error.
package extauthz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// Server implements envoy.service.auth.v3.Authorization.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	engine *engine.Engine
	log    *slog.Logger
	now    func() time.Time
	panics prometheus.Counter
	prop   propagation.TextMapPropagator

	maxInflight int64
	inflight    atomic.Int64

	requests sync.Pool // *request.Request, reused once the Decision is released
}

// Options configure a Server.
type Options struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer // nil: no metrics
	Now      func() time.Time
	// MaxInflight bounds the Checks decided at once; more are answered 429 at once instead of
	// queueing behind a slow authorizer. 0: no bound.
	MaxInflight int64
	// Propagator, when set, reads the trace context Envoy sends (traceparent) so that decision
	// spans join the request's trace.
	Propagator propagation.TextMapPropagator
}

// New makes a Server deciding with e.
func New(e *engine.Engine, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{engine: e, log: opts.Logger, now: opts.Now, prop: opts.Propagator, maxInflight: opts.MaxInflight}
	s.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portcullis_check_panics_total", Help: "Checks that panicked and were answered 500.",
	})
	if opts.Registry != nil {
		opts.Registry.MustRegister(s.panics)
	}
	return s
}

// Check decides one request.
func (s *Server) Check(ctx context.Context, in *authv3.CheckRequest) (resp *authv3.CheckResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.panics.Inc()
			s.log.ErrorContext(ctx, "check panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = deny(&engine.Decision{Outcome: engine.AuthorizerFailure}, nil, uuid.NewString()), nil
		}
	}()
	if n := s.inflight.Add(1); s.maxInflight > 0 && n > s.maxInflight {
		s.inflight.Add(-1)
		id := requestID(in)
		d := s.engine.Reject(ctx, engine.Throttled, id, errOverloaded)
		d.Responses = s.responsesFor(in)
		return deny(d, nil, id), nil
	}
	defer s.inflight.Add(-1)
	if s.prop != nil {
		ctx = s.prop.Extract(ctx, propagation.MapCarrier(in.GetAttributes().GetRequest().GetHttp().GetHeaders()))
	}
	req, _ := s.requests.Get().(*request.Request)
	if req == nil {
		req = new(request.Request)
	}
	if perr := request.FromCheckInto(req, in, s.now()); perr != nil {
		s.requests.Put(req)
		id := requestID(in)
		d := s.engine.Reject(ctx, engine.BadRequest, id, perr)
		d.Responses = s.responsesFor(in)
		return deny(d, nil, id), nil
	}
	d := s.engine.Decide(ctx, req)
	// The response is built from d (the snapshot's parts, the cached answer, the engine's
	// header names it points at) and the CheckRequest's strings, never from the memory of d or
	// of the Request struct, so both go back as soon as the response exists: a backend call that
	// outlives this Check works from its own copies.
	defer func() {
		s.engine.Release(d)
		*req = request.Request{}
		s.requests.Put(req)
	}()
	id := req.RequestID
	if d.Outcome == engine.Allow {
		resp, err := allow(d, req, id)
		if err != nil {
			// Fail closed: the answer cannot be passed upstream as it is.
			s.log.ErrorContext(ctx, "allow not encodable", "api", d.Api, "authorizer", d.Authorizer, "error", err)
			return deny(&engine.Decision{Outcome: engine.AuthorizerConfig, Protocol: d.Protocol, Responses: d.Responses, RequestID: id}, req, id), nil
		}
		return resp, nil
	}
	return deny(d, req, id), nil
}

var errOverloaded = errors.New("more Checks in flight than --max-inflight")

// requestID is the id of a request that could not be read.
func requestID(in *authv3.CheckRequest) string {
	return request.ID(in.GetAttributes().GetRequest().GetHttp())
}

// responsesFor finds the gateway responses of the Api a request that could not be decided names
// (its api context extension) or is sent to (its host).
func (s *Server) responsesFor(in *authv3.CheckRequest) *gatewayresponse.Set {
	a := in.GetAttributes()
	return s.engine.ResponsesFor(a.GetContextExtensions()["api"], a.GetRequest().GetHttp().GetHost())
}
