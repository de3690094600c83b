package wire

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Envoy's C++ protobuf sends a CheckRequest string field as the request's bytes: a path or a
// header value that is not UTF-8 (obs-text, which HTTP allows) arrives as is. Go's protobuf
// refuses the whole message for it, which would turn such a request into a gRPC error instead of
// an answer. unmarshalLenient decodes the message again, field by field, keeping those bytes in
// the Go strings: the request code then judges them as it judges header_map raw_value bytes
// (a path that is not UTF-8 is a 400, a header value is only a value). No library decodes
// protobuf without the UTF-8 check, so this one is written here.

// errNotUTF8 is how an invalid-UTF-8 failure of the standard decoder is recognised: protobuf-go
// exports no sentinel for it.
const errNotUTF8 = "invalid UTF-8"

func isNotUTF8(err error) bool { return err != nil && strings.Contains(err.Error(), errNotUTF8) }

// maxLenientDepth bounds message nesting as protobuf-go does (its default recursion limit).
const maxLenientDepth = 10000

var errLenientDepth = errors.New("message nested too deeply")

// unmarshalLenient merges the wire bytes b into m like proto.Unmarshal, except that string
// fields keep bytes that are not UTF-8. Fields m does not know, or whose wire type does not match
// their declaration, are kept as unknown fields, as proto.Unmarshal keeps them.
func unmarshalLenient(b []byte, m protoreflect.Message) error {
	return decodeMessage(b, m, 0)
}

func decodeMessage(b []byte, m protoreflect.Message, depth int) error {
	if depth > maxLenientDepth {
		return errLenientDepth
	}
	fields := m.Descriptor().Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		fd := fields.ByNumber(num)
		used, err := decodeField(b[n:], typ, fd, m, depth)
		if err != nil {
			return fmt.Errorf("field %d: %w", num, err)
		}
		if used < 0 {
			// Unknown, or a wire type the field cannot have: keep the field, its tag written
			// minimally as proto.Unmarshal writes it.
			size := protowire.ConsumeFieldValue(num, typ, b[n:])
			if size < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(size))
			}
			unknown := protowire.AppendTag(m.GetUnknown(), num, typ)
			m.SetUnknown(append(unknown, b[n:n+size]...))
			b = b[n+size:]
			continue
		}
		b = b[n+used:]
	}
	return nil
}

// decodeField decodes one value of fd from b into m and returns the bytes it used, or -1 when the
// field is unknown or its wire type does not fit fd.
func decodeField(b []byte, typ protowire.Type, fd protoreflect.FieldDescriptor, m protoreflect.Message, depth int) (int, error) {
	if fd == nil {
		return -1, nil
	}
	switch {
	case fd.IsMap():
		if typ != protowire.BytesType {
			return -1, nil
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		return n, decodeMapEntry(v, fd, m.Mutable(fd).Map(), depth)
	case fd.IsList():
		return decodeListValue(b, typ, fd, m.Mutable(fd).List(), depth)
	case fd.Message() != nil:
		if typ != protowire.BytesType {
			return -1, nil
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		return n, decodeMessage(v, m.Mutable(fd).Message(), depth+1)
	default:
		v, n, err := decodeScalar(b, typ, fd.Kind())
		if n > 0 && err == nil {
			m.Set(fd, v)
		}
		return n, err
	}
}

// decodeListValue appends one element, or a packed run of scalars, to a repeated field.
func decodeListValue(b []byte, typ protowire.Type, fd protoreflect.FieldDescriptor, l protoreflect.List, depth int) (int, error) {
	if fd.Message() != nil {
		if typ != protowire.BytesType {
			return -1, nil
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		e := l.NewElement()
		if err := decodeMessage(v, e.Message(), depth+1); err != nil {
			return 0, err
		}
		l.Append(e)
		return n, nil
	}
	if typ == protowire.BytesType && packable(fd.Kind()) {
		run, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		elemType := wireTypeOf(fd.Kind())
		for len(run) > 0 {
			v, used, err := decodeScalar(run, elemType, fd.Kind())
			if err != nil {
				return 0, err
			}
			if used < 0 {
				return 0, errors.New("malformed packed field")
			}
			l.Append(v)
			run = run[used:]
		}
		return n, nil
	}
	v, n, err := decodeScalar(b, typ, fd.Kind())
	if n > 0 && err == nil {
		l.Append(v)
	}
	return n, err
}

// decodeMapEntry reads a map entry (key 1, value 2) and stores it; a missing key or value is
// the zero value, as in proto.Unmarshal.
func decodeMapEntry(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map, depth int) error {
	kd, vd := fd.MapKey(), fd.MapValue()
	key, val := kd.Default(), vd.Default()
	if vd.Message() != nil {
		val = mp.NewValue()
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		used := -1
		var err error
		switch {
		case num == 1:
			var v protoreflect.Value
			v, used, err = decodeScalar(b, typ, kd.Kind())
			if used > 0 && err == nil {
				key = v
			}
		case num == 2 && vd.Message() != nil && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			used, err = n, decodeMessage(v, val.Message(), depth+1)
		case num == 2 && vd.Message() == nil:
			var v protoreflect.Value
			v, used, err = decodeScalar(b, typ, vd.Kind())
			if used > 0 && err == nil {
				val = v
			}
		}
		if err != nil {
			return err
		}
		if used < 0 {
			used = protowire.ConsumeFieldValue(num, typ, b)
			if used < 0 {
				return protowire.ParseError(used)
			}
		}
		b = b[used:]
	}
	mp.Set(key.MapKey(), val)
	return nil
}

// decodeScalar reads one non-message value of kind k. It returns -1 bytes used when the wire type
// does not fit k.
func decodeScalar(b []byte, typ protowire.Type, k protoreflect.Kind) (protoreflect.Value, int, error) {
	if typ != wireTypeOf(k) {
		return protoreflect.Value{}, -1, nil
	}
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return protoreflect.Value{}, 0, protowire.ParseError(n)
		}
		return varintValue(v, k), n, nil
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(b)
		if n < 0 {
			return protoreflect.Value{}, 0, protowire.ParseError(n)
		}
		switch k {
		case protoreflect.FloatKind:
			return protoreflect.ValueOfFloat32(math.Float32frombits(v)), n, nil
		case protoreflect.Sfixed32Kind:
			return protoreflect.ValueOfInt32(int32(v)), n, nil
		default:
			return protoreflect.ValueOfUint32(v), n, nil
		}
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return protoreflect.Value{}, 0, protowire.ParseError(n)
		}
		switch k {
		case protoreflect.DoubleKind:
			return protoreflect.ValueOfFloat64(math.Float64frombits(v)), n, nil
		case protoreflect.Sfixed64Kind:
			return protoreflect.ValueOfInt64(int64(v)), n, nil
		default:
			return protoreflect.ValueOfUint64(v), n, nil
		}
	case protowire.BytesType:
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return protoreflect.Value{}, 0, protowire.ParseError(n)
		}
		if k == protoreflect.StringKind {
			// The point of this decoder: the bytes are kept whether or not they are UTF-8.
			return protoreflect.ValueOfString(string(v)), n, nil
		}
		return protoreflect.ValueOfBytes(append([]byte(nil), v...)), n, nil
	}
	return protoreflect.Value{}, -1, nil
}

func varintValue(v uint64, k protoreflect.Kind) protoreflect.Value {
	switch k {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(v != 0)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(v)))
	case protoreflect.Int32Kind:
		return protoreflect.ValueOfInt32(int32(v))
	case protoreflect.Sint32Kind:
		return protoreflect.ValueOfInt32(int32(protowire.DecodeZigZag(v & math.MaxUint32)))
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(uint32(v))
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(v))
	case protoreflect.Sint64Kind:
		return protoreflect.ValueOfInt64(protowire.DecodeZigZag(v))
	default:
		return protoreflect.ValueOfUint64(v)
	}
}

// wireTypeOf is the wire type a single value of kind k is written with.
func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	default: // groups: never in Envoy's API
		return protowire.StartGroupType
	}
}

func packable(k protoreflect.Kind) bool {
	t := wireTypeOf(k)
	return t == protowire.VarintType || t == protowire.Fixed32Type || t == protowire.Fixed64Type
}
