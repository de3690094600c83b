package wire

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// everyKind is a message with a field of every kind protobuf has, singular, repeated (packed
// and not) and in maps and a oneof, so the lenient decoder is compared with proto.Unmarshal on
// all of them rather than only on the kinds a CheckRequest happens to use.
func everyKind(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	kinds := []descriptorpb.FieldDescriptorProto_Type{
		descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, descriptorpb.FieldDescriptorProto_TYPE_FLOAT,
		descriptorpb.FieldDescriptorProto_TYPE_INT64, descriptorpb.FieldDescriptorProto_TYPE_UINT64,
		descriptorpb.FieldDescriptorProto_TYPE_INT32, descriptorpb.FieldDescriptorProto_TYPE_FIXED64,
		descriptorpb.FieldDescriptorProto_TYPE_FIXED32, descriptorpb.FieldDescriptorProto_TYPE_BOOL,
		descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_BYTES,
		descriptorpb.FieldDescriptorProto_TYPE_UINT32, descriptorpb.FieldDescriptorProto_TYPE_SFIXED32,
		descriptorpb.FieldDescriptorProto_TYPE_SFIXED64, descriptorpb.FieldDescriptorProto_TYPE_SINT32,
		descriptorpb.FieldDescriptorProto_TYPE_SINT64, descriptorpb.FieldDescriptorProto_TYPE_ENUM,
		descriptorpb.FieldDescriptorProto_TYPE_MESSAGE,
	}
	msg := &descriptorpb.DescriptorProto{Name: proto.String("All")}
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
		switch typ {
		case descriptorpb.FieldDescriptorProto_TYPE_ENUM:
			f.TypeName = proto.String(".t.E")
		case descriptorpb.FieldDescriptorProto_TYPE_MESSAGE:
			f.TypeName = proto.String(".t.All")
		}
		return f
	}
	optional, repeated := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL, descriptorpb.FieldDescriptorProto_LABEL_REPEATED
	for i, k := range kinds {
		n := int32(i + 1)
		msg.Field = append(msg.Field,
			field(fmt.Sprintf("s%d", n), n, k, optional),
			field(fmt.Sprintf("r%d", n), 100+n, k, repeated))
	}
	msg.Field = append(msg.Field,
		field("m_string", 200, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, repeated),
		field("m_int", 201, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, repeated),
		field("o_string", 300, descriptorpb.FieldDescriptorProto_TYPE_STRING, optional),
		field("o_msg", 301, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, optional))
	msg.Field[len(msg.Field)-4].TypeName = proto.String(".t.All.MStringEntry")
	msg.Field[len(msg.Field)-3].TypeName = proto.String(".t.All.MIntEntry")
	msg.Field[len(msg.Field)-2].OneofIndex = proto.Int32(0)
	msg.Field[len(msg.Field)-1].OneofIndex = proto.Int32(0)
	msg.OneofDecl = []*descriptorpb.OneofDescriptorProto{{Name: proto.String("o")}}
	entry := func(name string, key, val descriptorpb.FieldDescriptorProto_Type, valType string) *descriptorpb.DescriptorProto {
		v := field("value", 2, val, optional)
		v.TypeName = nil
		if valType != "" {
			v.TypeName = proto.String(valType)
		}
		return &descriptorpb.DescriptorProto{Name: proto.String(name), Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			Field: []*descriptorpb.FieldDescriptorProto{field("key", 1, key, optional), v}}
	}
	msg.NestedType = []*descriptorpb.DescriptorProto{
		entry("MStringEntry", descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
		entry("MIntEntry", descriptorpb.FieldDescriptorProto_TYPE_SINT32, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".t.All"),
	}
	file := &descriptorpb.FileDescriptorProto{
		Name: proto.String("t.proto"), Package: proto.String("t"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{msg},
		EnumType: []*descriptorpb.EnumDescriptorProto{{Name: proto.String("E"), Value: []*descriptorpb.EnumValueDescriptorProto{
			{Name: proto.String("E0"), Number: proto.Int32(0)}, {Name: proto.String("E1"), Number: proto.Int32(1)}}}},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().Get(0)
}

// fill sets every field of m to random values, nesting messages up to depth.
func fill(r *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() != nil && !fd.IsMap() && depth == 0 {
			continue
		}
		if fd.ContainingOneof() != nil && r.IntN(2) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for range r.IntN(3) {
				k := scalar(r, fd.MapKey())
				if fd.MapValue().Message() != nil {
					if depth == 0 {
						continue
					}
					v := mp.NewValue()
					fill(r, v.Message(), depth-1)
					mp.Set(k.MapKey(), v)
				} else {
					mp.Set(k.MapKey(), scalar(r, fd.MapValue()))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range r.IntN(4) {
				if fd.Message() != nil {
					e := l.NewElement()
					fill(r, e.Message(), depth-1)
					l.Append(e)
				} else {
					l.Append(scalar(r, fd))
				}
			}
		case fd.Message() != nil:
			fill(r, m.Mutable(fd).Message(), depth-1)
		default:
			m.Set(fd, scalar(r, fd))
		}
	}
}

func scalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(3) - 1))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(r.NormFloat64()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.NormFloat64() * math.MaxInt32)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(strings.Repeat("é/", r.IntN(4)))
	default:
		return protoreflect.ValueOfBytes([]byte{byte(r.Uint32()), 0xff})
	}
}

// TestLenientMatchesStandard proves the lenient decoder reads every kind of field as
// proto.Unmarshal does, packed and unpacked, with unknown fields kept.
func TestLenientMatchesStandard(t *testing.T) {
	desc := everyKind(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		want := dynamicpb.NewMessage(desc)
		fill(r, want, 2)
		wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // an unknown field, and a known field with the wrong wire type: both unknown
			wire = protowire.AppendTag(wire, 999, protowire.VarintType)
			wire = protowire.AppendVarint(wire, 7)
			wire = protowire.AppendTag(wire, 9, protowire.VarintType)
			wire = protowire.AppendVarint(wire, 8)
		}
		if i%2 == 0 { // repeated int32 unpacked, as proto2 senders write it
			wire = protowire.AppendTag(wire, 105, protowire.VarintType)
			wire = protowire.AppendVarint(wire, 42)
		}
		standard := dynamicpb.NewMessage(desc)
		if err := proto.Unmarshal(wire, standard); err != nil {
			t.Fatal(err)
		}
		lenient := dynamicpb.NewMessage(desc)
		if err := unmarshalLenient(wire, lenient); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !proto.Equal(lenient, standard) {
			t.Fatalf("message %d differs:\nlenient  %v\nstandard %v", i, lenient, standard)
		}
	}
}

// TestLenientRefusesWhatIsBroken: truncated input is an error, not a partial message.
func TestLenientRefusesWhatIsBroken(t *testing.T) {
	wire, _ := proto.Marshal(envoyCheck("/a/\u00e9", map[string]string{"user-agent": "x"}))
	for _, cut := range []int{1, len(wire) / 2, len(wire) - 1} {
		if err := unmarshalLenient(wire[:cut], (&authv3.CheckRequest{}).ProtoReflect()); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", cut, len(wire))
		}
	}
}

// TestCodecKeepsBytesThatAreNotUTF8 proves a CheckRequest holding bytes that are not UTF-8 (as
// Envoy's C++ protobuf sends them) decodes with those bytes, not a gRPC error.
func TestCodecKeepsBytesThatAreNotUTF8(t *testing.T) {
	req := envoyCheck("/public/XX", map[string]string{"user-agent": "cafYY-agent"})
	wire, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	wire = []byte(strings.NewReplacer("/public/XX", "/public/\xff\xfe", "cafYY", "caf\xe9\xe9").Replace(string(wire)))
	if err := proto.Unmarshal(wire, &authv3.CheckRequest{}); err == nil {
		t.Fatal("the standard decoder took the bytes: the test no longer tests anything")
	}
	var got authv3.CheckRequest
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &got); err != nil {
		t.Fatal(err)
	}
	h := got.GetAttributes().GetRequest().GetHttp()
	if h.GetPath() != "/public/\xff\xfe" || h.GetHeaders()["user-agent"] != "caf\xe9\xe9-agent" || h.GetMethod() != "GET" {
		t.Fatalf("decoded %q %q", h.GetPath(), h.GetHeaders())
	}
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire[:len(wire)-2])}, &got); err == nil {
		t.Fatal("a truncated message decoded")
	}
}

func envoyCheck(path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 5555}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Host: "rest.example.com", Path: path, Headers: headers, Size: -1,
		}},
		ContextExtensions: map[string]string{"api": "demo"},
	}}
}

// FuzzLenientMatchesStandard: whatever proto.Unmarshal reads, the lenient decoder reads the same.
func FuzzLenientMatchesStandard(f *testing.F) {
	seed, _ := proto.Marshal(envoyCheck("/a", map[string]string{"authorization": "Bearer x"}))
	f.Add(seed)
	f.Add([]byte{0x0a, 0x02, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, wire []byte) {
		standard := &authv3.CheckRequest{}
		if proto.Unmarshal(wire, standard) != nil {
			lenient := &authv3.CheckRequest{}
			_ = unmarshalLenient(wire, lenient.ProtoReflect()) // must not panic
			return
		}
		lenient := &authv3.CheckRequest{}
		if err := unmarshalLenient(wire, lenient.ProtoReflect()); err != nil {
			t.Fatalf("standard decoded, lenient: %v", err)
		}
		if !proto.Equal(lenient, standard) {
			t.Fatalf("differs:\nlenient  %v\nstandard %v", lenient, standard)
		}
	})
}
