package extauthz

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

// TestDecisionSpansJoinEnvoysTrace sends a Check carrying Envoy's traceparent and finds the
// decision span in that trace, with the backend call as its child.
func TestDecisionSpansJoinEnvoysTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())

	e := newEngineWith(t, "", engine.Options{Tracer: tp.Tracer("portcullis")})
	client := serve(t, New(e, Options{Propagator: propagation.TraceContext{}}))
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := check("rest.example.com", "/closed", map[string]string{
		"authorization": "tok", "traceparent": "00-" + traceID + "-00f067aa0ba902b7-01"})
	if _, err := client.Check(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	check, backend := byName["portcullis.Check"], byName["portcullis.authorizer"]
	if check.SpanContext.TraceID().String() != traceID {
		t.Fatalf("decision span in trace %s, want Envoy's %s (spans %v)", check.SpanContext.TraceID(), traceID, spans)
	}
	if backend.Parent.SpanID() != check.SpanContext.SpanID() {
		t.Fatalf("backend span's parent = %s, want the decision span %s", backend.Parent.SpanID(), check.SpanContext.SpanID())
	}
}
