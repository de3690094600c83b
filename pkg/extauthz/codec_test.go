package extauthz

import (
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
)

// BenchmarkCodecMarshal compares the codec with grpc-go's standard one on the responses a server
// sends most: a cached allow (headers and metadata pre-encoded) and a cached explicit deny.
func BenchmarkCodecMarshal(b *testing.B) {
	for _, effect := range []string{"Allow", "Deny"} {
		resp := cachedResponse(b, effect)
		for _, c := range []struct {
			name  string
			codec encoding.CodecV2
		}{{"vtproto", wire.Codec()}, {"standard", encoding.GetCodecV2("proto")}} {
			b.Run(effect+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					data, err := c.codec.Marshal(resp)
					if err != nil {
						b.Fatal(err)
					}
					data.Free()
				}
			})
		}
	}
}

// mustMarshal is m on the wire, as proto.Marshal writes it.
func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eachField calls f with each top-level field of the message b: its number, wire type and value
// bytes. It reports false when b does not parse or f reports false.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 || !f(num, typ, b[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
