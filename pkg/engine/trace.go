package engine

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// endSpan records the decision on the Check span. Paths and principals stay out of span
// attributes, as they stay out of metric labels.
func endSpan(span trace.Span, d *Decision) {
	span.SetAttributes(
		attribute.String("portcullis.api", d.Api),
		attribute.String("portcullis.route", d.Route),
		attribute.String("portcullis.authorizer", d.Authorizer),
		attribute.String("portcullis.decision", d.Outcome.String()),
		attribute.Int("http.response.status_code", d.Outcome.HTTPStatus()),
		attribute.Bool("portcullis.cached", d.Cached),
	)
	if d.Outcome >= AuthorizerFailure {
		span.SetStatus(codes.Error, d.Outcome.String())
	}
	span.End()
}

// backendSpan starts the child span of a backend call, when tracing is on.
func (e *Engine) backendSpan(ctx context.Context, authorizer string) (context.Context, func(error)) {
	if e.tracer == nil {
		return ctx, func(error) {}
	}
	ctx, span := e.tracer.Start(ctx, "portcullis.authorizer", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("portcullis.authorizer", authorizer)))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, "authorizer call failed")
		}
		span.End()
	}
}
