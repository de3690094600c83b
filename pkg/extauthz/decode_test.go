package extauthz

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sidecarCheck is a CheckRequest as an Envoy sidecar sends it: both peers, the time, the HTTP
// request with a typical browser's headers, context extensions and empty metadata.
func sidecarCheck() *authv3.CheckRequest {
	peer := func(ip string, port uint32) *authv3.AttributeContext_Peer {
		return &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      peer("203.0.113.7", 40122),
		Destination: peer("10.1.2.3", 8080),
		Request: &authv3.AttributeContext_Request{
			Time: &timestamppb.Timestamp{Seconds: 1764547200, Nanos: 123456789},
			Http: &authv3.AttributeContext_HttpRequest{
				Id: "12345678901234567890", Method: "GET", Path: "/pets/42?limit=10", Host: "api.example.com",
				Scheme: "https", Protocol: "HTTP/2", Size: 0,
				Headers: map[string]string{
					":authority": "api.example.com", ":method": "GET", ":path": "/pets/42?limit=10", ":scheme": "https",
					"authorization": "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
					"user-agent":    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
					"accept":        "application/json", "accept-encoding": "gzip, deflate, br", "accept-language": "en-US,en;q=0.9",
					"x-forwarded-proto": "https", "x-request-id": "7f0c1e9e-1c1b-4a43-9a8e-2f6b8f1f2a11",
					"x-forwarded-for": "203.0.113.7", "x-envoy-internal": "true", "cookie": "session=abc; theme=dark",
				},
			},
		},
		ContextExtensions: map[string]string{"api": "petstore"},
		MetadataContext:   &corev3.Metadata{},
	}}
}

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
	withBody := sidecarCheck()
	withBody.Attributes.Request.Http.Body, withBody.Attributes.Request.Http.RawBody, withBody.Attributes.Request.Http.Size = "a=1", []byte("a=1"), 3
	withPeerDetails := sidecarCheck()
	withPeerDetails.Attributes.Source.Principal, withPeerDetails.Attributes.Source.Labels = "spiffe://cluster.local/ns/a/sa/b", map[string]string{"app": "web"}
	withCert := sidecarCheck()
	withCert.Attributes.Source.Certificate = "-----BEGIN%20CERTIFICATE-----%0AMIIBkTCB%2Bw%3D%3D%0A-----END%20CERTIFICATE-----%0A"
	emptyValues := sidecarCheck()
	emptyValues.Attributes.Request.Http.Headers[""] = ""
	emptyValues.Attributes.Request.Http.Headers["x-empty"] = ""
	emptyValues.Attributes.Request.Http.Query, emptyValues.Attributes.Request.Http.Fragment = "q", "f"
	metadata := sidecarCheck()
	md, _ := structpb.NewStruct(map[string]any{"k": "v"})
	metadata.Attributes.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"envoy.filters.http.jwt_authn": md}}
	headerMap := sidecarCheck()
	headerMap.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "k", RawValue: []byte{0xff}}}}
	pipe := sidecarCheck()
	pipe.Attributes.Destination.Address = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/envoy.sock"}}}
	namedPort := sidecarCheck()
	namedPort.Attributes.Source.Address.GetSocketAddress().PortSpecifier = &corev3.SocketAddress_NamedPort{NamedPort: "http"}
	marshal := func(m *authv3.CheckRequest) []byte { return mustMarshal(t, m) }
	twice := append(marshal(sidecarCheck()), marshal(withPeerDetails)...) // fields merge
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	tests := []struct {
		name    string
		wire    []byte
		handled bool // read by decodeCheck rather than left to the standard decoder
	}{
		{"sidecar request", marshal(sidecarCheck()), true},
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
		{"truncated", marshal(sidecarCheck())[:57], false},
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
		"fast":     mustMarshal(t, sidecarCheck()),
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
	f.Add(mustMarshal(f, sidecarCheck()))
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
		m := sidecarCheck()
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
	wire := mustMarshal(b, sidecarCheck())
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
