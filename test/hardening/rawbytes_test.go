package hardening

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// rawCodec sends bytes that are already a marshaled message, so a test can send what Go's
// protobuf refuses to marshal but Envoy's C++ protobuf sends: strings that are not UTF-8.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec sends []byte, got %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("rawCodec reads proto messages, got %T", v)
	}
	return proto.Unmarshal(data.Materialize(), m)
}

// checkRaw marshals r with placeholder in place of the raw bytes, swaps them in on the wire and
// sends the result. placeholder and raw must have the same length so no length prefix changes.
func (s *service) checkRaw(t testing.TB, r httpReq, placeholder, raw string) (*authv3.CheckResponse, error) {
	t.Helper()
	if len(placeholder) != len(raw) {
		t.Fatalf("placeholder %q and raw %q differ in length", placeholder, raw)
	}
	wire, err := proto.Marshal(r.checkRequest(fmt.Sprintf("hardening-raw-%d", s.seq.Add(1))))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(wire, []byte(placeholder)) == 0 {
		t.Fatalf("placeholder %q not on the wire", placeholder)
	}
	wire = bytes.ReplaceAll(wire, []byte(placeholder), []byte(raw))
	resp := &authv3.CheckResponse{}
	err = s.conn.Invoke(context.Background(), "/envoy.service.auth.v3.Authorization/Check", wire, resp,
		grpc.ForceCodecV2(rawCodec{}))
	return resp, err
}

// TestRawNonUTF8 sends bytes that are not UTF-8 where Envoy may put them: in the path, and in a
// header value (obs-text, which HTTP allows). Go's protobuf refuses such strings when it reads
// the CheckRequest; Portcullis's codec decodes it again keeping the bytes. The answer is a
// CheckResponse, never a gRPC error: 400 for the path, a decision for a header value, and a
// response the standard decoder reads (no name that is not UTF-8 in headers_to_remove).
func TestRawNonUTF8(t *testing.T) {
	rig := newPathRig(t)
	tests := []struct {
		name        string
		req         httpReq
		placeholder string
		raw         string
		want        want
	}{
		{"raw 0xff in the path", httpReq{method: "GET", host: "paths.example.com", path: "/public/XX"},
			"/public/XX", "/public/\xff\xfe", wantBadRequest},
		{"raw overlong slash in the path", httpReq{method: "GET", host: "paths.example.com", path: "/public/..XXadmin/x"},
			"..XXadmin", "..\xc0\xafadmin", wantBadRequest},
		{"Latin-1 header value in the headers map", httpReq{method: "GET", host: "paths.example.com", path: "/public/x",
			headers: map[string]string{"user-agent": "cafXX-agent"}}, "cafXX-agent", "caf\xe9\xe9-agent", wantAllow},
		{"Latin-1 header name under the prefix", httpReq{method: "GET", host: "paths.example.com", path: "/public/x",
			headers: map[string]string{"x-authorizer-XX": "admin"}}, "x-authorizer-XX", "x-authorizer-\xe9\xe9", wantAllow},
		{"Latin-1 header value in header_map raw_value", httpReq{method: "GET", host: "paths.example.com", path: "/public/x",
			headerMap: []*corev3.HeaderValue{{Key: "user-agent", RawValue: []byte("cafXX-agent")}}}, "cafXX-agent", "caf\xe9\xe9-agent", wantAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			resp, err := rig.svc.checkRaw(t, tt.req, tt.placeholder, tt.raw)
			if err != nil {
				t.Fatalf("gRPC error %v: Portcullis must always answer with a CheckResponse", err)
			}
			expect(t, tt.name, readVerdict(resp), tt.want)
		})
	}
}
