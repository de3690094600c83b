package main

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// tracing sets up OpenTelemetry export over OTLP/HTTP to endpoint (e.g.
// http://otel-collector:4318). It returns a nil tracer when endpoint is empty: tracing is off
// unless configured.
func tracing(ctx context.Context, endpoint string, ratio float64) (trace.Tracer, propagation.TextMapPropagator, func(context.Context) error, error) {
	if endpoint == "" {
		return nil, nil, func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint+"/v1/traces"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--trace-otlp-endpoint: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("portcullis"), semconv.ServiceVersion(version))),
	)
	return tp.Tracer("portcullis"), propagation.TraceContext{}, tp.Shutdown, nil
}
