package wire

import (
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the standard codec used as fallback
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// vtMarshaler is what go-control-plane's generated vtprotobuf code gives its messages: sizing
// and marshaling without reflection.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict(dAtA []byte) (int, error)
}

// Codec returns a gRPC codec that marshals messages with their generated vtprotobuf methods
// (CheckResponse among them), reads CheckRequests with decodeCheck (go-control-plane generates
// no vtprotobuf unmarshalers), and falls back to the standard protobuf codec for everything
// else. It keeps the name "proto", so clients see no difference on the wire. go-control-plane
// compiles those methods in only under the build tag vtprotobuf, which the Makefile and the
// Dockerfile set; see GeneratedMarshalers. extauthz.NewGRPCServer builds the server with it;
// BenchmarkCodecMarshal (package extauthz) compares it with the standard codec on a cached
// allow's and a cached deny's response.
func Codec() encoding.CodecV2 {
	return codec{fallback: encoding.GetCodecV2("proto")}
}

// GeneratedMarshalers reports whether this binary was built with go-control-plane's vtprotobuf
// marshalers (the vtprotobuf build tag); without them the codec marshals by reflection.
func GeneratedMarshalers() bool {
	_, ok := any(&authv3.CheckResponse{}).(vtMarshaler)
	return ok
}

type codec struct {
	fallback encoding.CodecV2
}

func (c codec) Name() string { return "proto" }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(vtMarshaler)
	if !ok {
		return c.fallback.Marshal(v)
	}
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if _, err := m.MarshalToSizedBufferVTStrict(buf); err != nil {
			return nil, fmt.Errorf("marshal %T: %w", v, err)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if _, err := m.MarshalToSizedBufferVTStrict((*buf)[:size]); err != nil {
		pool.Put(buf)
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// Unmarshal reads a CheckRequest with decodeCheck, and whatever that leaves (and every other
// message) with the standard decoder, except that a message refused only because a string is not
// UTF-8 is decoded again keeping those bytes (see unmarshalLenient), so such a request gets an
// answer rather than a gRPC error.
func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if req, ok := v.(*authv3.CheckRequest); ok {
		var b []byte
		if len(data) == 1 {
			b = data[0].ReadOnlyData()
		} else {
			b = data.Materialize()
		}
		if decodeCheck(b, req) {
			return nil
		}
		proto.Reset(req)
	}
	err := c.fallback.Unmarshal(data, v)
	m, ok := v.(proto.Message)
	if !ok || !isNotUTF8(err) {
		return err
	}
	proto.Reset(m)
	if lerr := unmarshalLenient(data.Materialize(), m.ProtoReflect()); lerr != nil {
		return fmt.Errorf("%w (and leniently: %w)", err, lerr)
	}
	return nil
}
