package wire

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-dev/portcullis/pkg/extauthz/extauthztest"
)

// decodeBoth decodes wire with decodeCheck and with proto.Unmarshal; handled is decodeCheck's
// answer, and a handled message must be the standard one.
func decodeBoth(t testing.TB, wire []byte) (handled bool) {
	t.Helper()
	standard := &authv3.CheckRequest{}
	standardErr := proto.Unmarshal(wire, standard)
	fast := &authv3.CheckRequest{}
	if !decodeCheck(wire, fast) {
		return false
	}
	if standardErr != nil {
		t.Fatalf("decodeCheck read what proto.Unmarshal refuses (%v): %v", standardErr, fast)
	}
	if !proto.Equal(fast, standard) {
		t.Fatalf("decodeCheck differs:\n fast     %v\n standard %v", fast, standard)
	}
	return true
}

func TestDecodeCheckMatchesStandard(t *testing.T) {
	withBody := extauthztest.Sidecar()
	withBody.Attributes.Request.Http.Body, withBody.Attributes.Request.Http.RawBody, withBody.Attributes.Request.Http.Size = "a=1", []byte("a=1"), 3
	withPeerDetails := extauthztest.Sidecar()
	withPeerDetails.Attributes.Source.Principal, withPeerDetails.Attributes.Source.Labels = "spiffe://cluster.local/ns/a/sa/b", map[string]string{"app": "web"}
	withCert := extauthztest.Sidecar()
	withCert.Attributes.Source.Certificate = "-----BEGIN%20CERTIFICATE-----%0AMIIBkTCB%2Bw%3D%3D%0A-----END%20CERTIFICATE-----%0A"
	emptyValues := extauthztest.Sidecar()
	emptyValues.Attributes.Request.Http.Headers[""] = ""
	emptyValues.Attributes.Request.Http.Headers["x-empty"] = ""
	emptyValues.Attributes.Request.Http.Query, emptyValues.Attributes.Request.Http.Fragment = "q", "f"
	metadata := extauthztest.Sidecar()
	md, _ := structpb.NewStruct(map[string]any{"k": "v"})
	metadata.Attributes.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"envoy.filters.http.jwt_authn": md}}
	headerMap := extauthztest.Sidecar()
	headerMap.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "k", RawValue: []byte{0xff}}}}
	pipe := extauthztest.Sidecar()
	pipe.Attributes.Destination.Address = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/envoy.sock"}}}
	namedPort := extauthztest.Sidecar()
	namedPort.Attributes.Source.Address.GetSocketAddress().PortSpecifier = &corev3.SocketAddress_NamedPort{NamedPort: "http"}
	marshal := func(m *authv3.CheckRequest) []byte { return mustMarshal(t, m) }
	twice := append(marshal(extauthztest.Sidecar()), marshal(withPeerDetails)...) // fields merge
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	tests := []struct {
		name    string
		wire    []byte
		handled bool // read by decodeCheck rather than left to the standard decoder
	}{
		{"sidecar request", marshal(extauthztest.Sidecar()), true},
		{"with a body", marshal(withBody), true},
		{"peer labels and principal", marshal(withPeerDetails), true},
		{"client certificate (include_peer_certificate)", marshal(withCert), true},
		{"empty key and values", marshal(emptyValues), true},
		{"empty message", nil, true},
		{"message twice merges", twice, true},
		{"header entry without value", nested(protowire.AppendString(tag(1, protowire.BytesType), "k"), 1, 4, 2, 3), true},
		{"pipe address", marshal(pipe), false},
		{"named port", marshal(namedPort), false},
		{"filter metadata", marshal(metadata), true},
		{"header_map", marshal(headerMap), true},
		{"unknown top-level field", protowire.AppendVarint(tag(9, protowire.VarintType), 1), false},
		{"unknown HTTP field", nested(protowire.AppendVarint(tag(99, protowire.VarintType), 1), 1, 4, 2), false},
		{"method as a varint", nested(protowire.AppendVarint(tag(2, protowire.VarintType), 1), 1, 4, 2), false},
		{"size as bytes", nested(protowire.AppendString(tag(9, protowire.BytesType), "x"), 1, 4, 2), false},
		{"path not UTF-8", nested(protowire.AppendString(tag(4, protowire.BytesType), "/\xff"), 1, 4, 2), false},
		{"header value not UTF-8", nested(protowire.AppendString(tag(2, protowire.BytesType), "\xc3"), 1, 4, 2, 3), false},
		{"truncated", marshal(extauthztest.Sidecar())[:57], false},
		{"group wire type", append(tag(1, protowire.StartGroupType), tag(1, protowire.EndGroupType)...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodeBoth(t, tc.wire); got != tc.handled {
				t.Fatalf("decodeCheck handled it: %v, want %v", got, tc.handled)
			}
		})
	}
}

// The codec answers what proto.Unmarshal answers, whichever decoder read the message, and
// still reads a path that is not UTF-8 leniently.
func TestCodecUnmarshalCheck(t *testing.T) {
	for name, wire := range map[string][]byte{
		"fast":     mustMarshal(t, extauthztest.Sidecar()),
		"standard": mustMarshal(t, &authv3.CheckRequest{Attributes: &authv3.AttributeContext{MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"f": {}}}}}),
	} {
		t.Run(name, func(t *testing.T) {
			want := &authv3.CheckRequest{}
			if err := proto.Unmarshal(wire, want); err != nil {
				t.Fatal(err)
			}
			got := &authv3.CheckRequest{}
			if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, got); err != nil || !proto.Equal(got, want) {
				t.Fatalf("err %v\n got %v\nwant %v", err, got, want)
			}
		})
	}
	raw := nested(protowire.AppendString(protowire.AppendTag(nil, 4, protowire.BytesType), "/caf\xe9"), 1, 4, 2)
	got := &authv3.CheckRequest{}
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(raw[:3]), mem.SliceBuffer(raw[3:])}, got); err != nil {
		t.Fatal(err)
	}
	if p := got.GetAttributes().GetRequest().GetHttp().GetPath(); p != "/caf\xe9" {
		t.Fatalf("path %q, want the raw bytes", p)
	}
}

// nested wraps the fields b in the messages numbered nums, outermost first: b as the contents
// of field nums[len-1], inside field nums[len-2], and so on.
func nested(b []byte, nums ...protowire.Number) []byte {
	for i := len(nums) - 1; i >= 0; i-- {
		b = protowire.AppendBytes(protowire.AppendTag(nil, nums[i], protowire.BytesType), b)
	}
	return b
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeCheck: whatever decodeCheck reads, proto.Unmarshal reads the same; whatever it
// does not, it leaves to it.
func FuzzDecodeCheck(f *testing.F) {
	f.Add(mustMarshal(f, extauthztest.Sidecar()))
	f.Add(mustMarshal(f, envoyCheck("/a", map[string]string{"authorization": "Bearer x"})))
	f.Add([]byte{0x0a, 0x02, 0x22, 0x00})
	f.Fuzz(func(t *testing.T, wire []byte) {
		decodeBoth(t, wire)
	})
}

// FuzzDecodeCheckFields builds CheckRequests from fuzzed values: every one whose strings are
// UTF-8 is read by decodeCheck itself, and read as proto.Unmarshal reads it.
func FuzzDecodeCheckFields(f *testing.F) {
	f.Add("GET", "/pets/42?x=1", "authorization", "Bearer t", "api", int64(-1))
	f.Add("", "", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, method, path, key, value, ext string, size int64) {
		m := extauthztest.Sidecar()
		h := m.Attributes.Request.Http
		h.Method, h.Path, h.Size = method, path, size
		h.Headers[key] = value
		m.Attributes.ContextExtensions[ext] = value
		wire, err := proto.Marshal(m)
		if err != nil {
			t.Skip() // not UTF-8: Go's protobuf will not encode it; TestDecodeCheckMatchesStandard sends such bytes
		}
		if !decodeBoth(t, wire) {
			t.Fatalf("a valid request was left to the standard decoder: %v", m)
		}
	})
}

// BenchmarkDecodeCheck compares decodeCheck with proto.Unmarshal on a sidecar's CheckRequest.
func BenchmarkDecodeCheck(b *testing.B) {
	wire := mustMarshal(b, extauthztest.Sidecar())
	b.Run("portcullis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !decodeCheck(wire, &authv3.CheckRequest{}) {
				b.Fatal("not handled")
			}
		}
	})
	b.Run("standard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := proto.Unmarshal(wire, &authv3.CheckRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
