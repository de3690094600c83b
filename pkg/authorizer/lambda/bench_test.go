package lambda

import (
	"context"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

func BenchmarkReadFunctionFailure(b *testing.B) {
	payloads := []struct {
		name    string
		payload []byte
	}{
		{name: "answer", payload: []byte(allowAnswer)},
		{name: "envelope", payload: []byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`)},
	}
	for _, p := range payloads {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				readFunctionFailure(nil, p.payload)
			}
		})
	}
}

// BenchmarkAuthorize is one cache miss: event, SigV4 signing, a loopback round trip to a
// stand-in Lambda API and decoding of the answer.
func BenchmarkAuthorize(b *testing.B) {
	api := newFakeLambda(b, answerJSON("", allowAnswer))
	backend := newTestBackend(b, testSpec(api.URL), Options{Type: authorizer.TypeToken})
	req := authorizertest.Request(authorizer.TypeToken, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := backend.Authorize(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
