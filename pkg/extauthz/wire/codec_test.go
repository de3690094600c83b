package wire

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The codec is worth having only with go-control-plane's generated marshalers compiled in; a
// build without the tag would pass every other test on the standard codec's fallback.
func TestCodecUsesGeneratedMarshalers(t *testing.T) {
	if !GeneratedMarshalers() {
		t.Fatal("built without -tags vtprotobuf: CheckResponse has no generated marshalers and the codec falls back to reflection; run the tests with make test, or go test -tags vtprotobuf")
	}
}

// TestCodecMatchesStandardMarshaling proves the vtprotobuf path writes what proto.Unmarshal
// reads back as the same message, small and pooled-buffer sized alike, and that messages
// without vtprotobuf methods still go through.
func TestCodecMatchesStandardMarshaling(t *testing.T) {
	md, _ := structpb.NewStruct(map[string]any{"principalId": "alice", "context": map[string]any{"tier": "gold", "n": 3.0}})
	small := &authv3.CheckResponse{
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: []*corev3.HeaderValueOption{{
				Header:       &corev3.HeaderValue{Key: "x-authorizer-principal-id", Value: "alice"},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			}},
			HeadersToRemove: []string{"x-authorizer-evil"},
		}},
		DynamicMetadata: md,
	}
	big := &authv3.CheckResponse{HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
		Body: strings.Repeat("x", 64<<10),
	}}}
	for name, msg := range map[string]proto.Message{"small": small, "pooled": big, "fallback": wrapperspb.String("no vtproto")} {
		t.Run(name, func(t *testing.T) {
			data, err := Codec().Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			got := msg.ProtoReflect().New().Interface()
			if err := Codec().Unmarshal(data, got); err != nil {
				t.Fatal(err)
			}
			data.Free()
			if !proto.Equal(got, msg) {
				t.Fatalf("round trip changed the message:\n got %v\nwant %v", got, msg)
			}
		})
	}
}
