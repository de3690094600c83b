package main

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// The raw codec must tell an allow from everything else exactly as a generated client would.
func TestRawCodecReadsTheVerdict(t *testing.T) {
	ok := &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
		Headers: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "x-p", Value: "u"}}}}}
	denied := &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{Body: "no"}}
	for _, tc := range []struct {
		name string
		resp *authv3.CheckResponse
		want bool
	}{
		{"allow", &authv3.CheckResponse{Status: &status.Status{}, HttpResponse: ok}, true},
		{"allow without a status", &authv3.CheckResponse{HttpResponse: ok}, true},
		{"empty ok_response", &authv3.CheckResponse{HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}}}, true},
		{"deny", &authv3.CheckResponse{Status: &status.Status{Code: 7}, HttpResponse: denied}, false},
		{"ok_response with a failing status", &authv3.CheckResponse{Status: &status.Status{Code: 7, Message: "m"}, HttpResponse: ok}, false},
		{"nothing", &authv3.CheckResponse{}, false},
	} {
		b, err := proto.Marshal(tc.resp)
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range []mem.BufferSlice{{mem.SliceBuffer(b)}, split(b)} {
			var got bool
			if err := (rawCodec{}).Unmarshal(parts, &got); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got != tc.want || got != (tc.resp.GetOkResponse() != nil && tc.resp.GetStatus().GetCode() == 0) {
				t.Errorf("%s in %d parts: allowed %v, want %v", tc.name, len(parts), got, tc.want)
			}
		}
	}
	var got bool
	if err := (rawCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05, 0x08})}, &got); err == nil {
		t.Error("a truncated answer was read without an error")
	}
}

// split cuts b in two buffers, as a read from the wire may.
func split(b []byte) mem.BufferSlice {
	return mem.BufferSlice{mem.SliceBuffer(b[:len(b)/2]), mem.SliceBuffer(b[len(b)/2:])}
}
