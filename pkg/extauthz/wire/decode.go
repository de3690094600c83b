package wire

import (
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// decodeCheck merges the wire bytes b into m as proto.Unmarshal does, reading the part of a
// CheckRequest that every request carries (the attributes, the request, its HTTP fields, the
// headers and context extensions maps, the peers' socket addresses) by hand, and handing the
// other message fields (time stamp, metadata, TLS session, header_map) to the standard decoder.
// It reports false, leaving m partly filled, for anything it does not read exactly as
// proto.Unmarshal would: a field it does not know, a wire type a field cannot have, a string
// that is not UTF-8, bytes that do not parse. The caller then resets m and decodes it the
// standard way, so that every odd message gets the standard answer, error or unknown field
// included.
//
// Measured in BenchmarkDecodeCheck: go-control-plane generates no vtprotobuf unmarshalers, and
// the standard decoder spends most of a CheckRequest's time inserting map entries through
// reflection, which a decoder that knows the map's Go type does not.
func decodeCheck(b []byte, m *authv3.CheckRequest) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if num != 1 || typ != protowire.BytesType {
			return false
		}
		return decodeAttributes(v, orNew(&m.Attributes))
	})
}

func decodeAttributes(b []byte, a *authv3.AttributeContext) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			return decodePeer(v, orNew(&a.Source))
		case 2:
			return decodePeer(v, orNew(&a.Destination))
		case 4:
			return decodeRequest(v, orNew(&a.Request))
		case 10:
			return addStringEntry(&a.ContextExtensions, v, b, 10)
		case 11:
			return mergeStandard(v, orNew(&a.MetadataContext))
		case 12:
			return mergeStandard(v, orNew(&a.TlsSession))
		case 13:
			return mergeStandard(v, orNew(&a.RouteMetadataContext))
		}
		return false
	})
}

// decodePeer reads a peer whose address is a socket address with a port number, the only kind
// Envoy gives an HTTP request; any other address (a pipe, a named port) goes to the standard
// decoder.
func decodePeer(b []byte, p *authv3.AttributeContext_Peer) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			return decodeAddress(v, orNew(&p.Address))
		case 2:
			return setString(&p.Service, v)
		case 3:
			return addStringEntry(&p.Labels, v, b, 3)
		case 4:
			return setString(&p.Principal, v)
		case 5:
			return setString(&p.Certificate, v)
		}
		return false
	})
}

func decodeAddress(b []byte, a *corev3.Address) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if num != 1 || typ != protowire.BytesType {
			return false
		}
		// A second socket_address merges into the first, as for any message field; another
		// member of the oneof would replace it, which the standard decoder does.
		sa, _ := a.Address.(*corev3.Address_SocketAddress)
		if sa == nil {
			if a.Address != nil {
				return false
			}
			sa = &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{}}
			a.Address = sa
		}
		return decodeSocketAddress(v, sa.SocketAddress)
	})
}

func decodeSocketAddress(b []byte, a *corev3.SocketAddress) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch {
		case num == 2 && typ == protowire.BytesType:
			return setString(&a.Address, v)
		case num == 3 && typ == protowire.VarintType:
			if _, named := a.PortSpecifier.(*corev3.SocketAddress_NamedPort); named {
				return false
			}
			x, _ := protowire.ConsumeVarint(v)
			a.PortSpecifier = &corev3.SocketAddress_PortValue{PortValue: uint32(x)}
			return true
		}
		return false
	})
}

func decodeRequest(b []byte, r *authv3.AttributeContext_Request) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch {
		case typ != protowire.BytesType:
			return false
		case num == 1:
			return mergeStandard(v, orNew(&r.Time))
		case num == 2:
			return decodeHTTP(v, orNew(&r.Http))
		}
		return false
	})
}

func decodeHTTP(b []byte, h *authv3.AttributeContext_HttpRequest) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if num == 9 { // size, the only varint
			if typ != protowire.VarintType {
				return false
			}
			x, _ := protowire.ConsumeVarint(v)
			h.Size = int64(x)
			return true
		}
		if typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			return setString(&h.Id, v)
		case 2:
			return setString(&h.Method, v)
		case 3:
			return addStringEntry(&h.Headers, v, b, 3)
		case 4:
			return setString(&h.Path, v)
		case 5:
			return setString(&h.Host, v)
		case 6:
			return setString(&h.Scheme, v)
		case 7:
			return setString(&h.Query, v)
		case 8:
			return setString(&h.Fragment, v)
		case 10:
			return setString(&h.Protocol, v)
		case 11:
			return setString(&h.Body, v)
		case 12:
			h.RawBody = append([]byte{}, v...)
			return true
		case 13:
			return mergeStandard(v, orNew(&h.HeaderMap))
		}
		return false
	})
}

// addStringEntry adds the map<string, string> entry b to *m, the map field numbered field of the
// message msg, making the map at its size on the first entry rather than growing it entry by entry. An
// entry missing its key or value has the empty string for it, as in proto.Unmarshal; a later
// entry for the same key replaces it.
func addStringEntry(m *map[string]string, b, msg []byte, field protowire.Number) bool {
	var key, value []byte
	ok := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if typ != protowire.BytesType || !utf8.Valid(v) {
			return false
		}
		switch num {
		case 1:
			key = v
		case 2:
			value = v
		default:
			return false
		}
		return true
	})
	if ok {
		if *m == nil {
			*m = make(map[string]string, countFields(msg, field))
		}
		(*m)[text(key)] = text(value)
	}
	return ok
}

// setString sets *s to v, or reports false for bytes that are not UTF-8, which the standard
// decoder refuses.
func setString(s *string, v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	*s = text(v)
	return true
}

// orNew returns the message *p, made first if it is nil: a message field that occurs more than
// once is merged into what the first occurrence made.
func orNew[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// eachField calls f with each field of the message b in order: its number, wire type and value
// (a length-delimited field's contents, a varint's bytes). It reports false as soon as b does not
// parse, holds a group (no CheckRequest field is one), or f reports false.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				v = b[:n]
			}
		default:
			return false
		}
		if n < 0 || !f(num, typ, v) {
			return false
		}
		b = b[n:]
	}
	return true
}

// countFields counts the fields numbered num in the message b.
func countFields(b []byte, num protowire.Number) int {
	n := 0
	eachField(b, func(got protowire.Number, _ protowire.Type, _ []byte) bool {
		if got == num {
			n++
		}
		return true
	})
	return n
}

// mergeStandard merges b into m with the standard decoder, as proto.Unmarshal merges a message
// field that occurs more than once.
func mergeStandard(b []byte, m proto.Message) bool {
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(b, m) == nil
}

// wellKnown holds the header names (HPACK's static table, Envoy's own, tracing's) and the
// method, scheme and protocol values nearly every CheckRequest repeats, so that reading one
// takes the constant instead of allocating a copy. A lookup with a converted []byte key does not
// allocate.
var wellKnown = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		":authority", ":method", ":path", ":scheme", ":status", ":protocol",
		"accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges",
		"access-control-allow-origin", "access-control-request-headers", "access-control-request-method",
		"age", "allow", "authorization", "cache-control", "content-disposition", "content-encoding",
		"content-language", "content-length", "content-location", "content-range", "content-type",
		"cookie", "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
		"if-none-match", "if-range", "if-unmodified-since", "last-modified", "link", "location",
		"max-forwards", "origin", "pragma", "priority", "proxy-authenticate", "proxy-authorization", "range",
		"referer", "refresh", "retry-after", "server", "set-cookie", "strict-transport-security", "te",
		"transfer-encoding", "upgrade-insecure-requests", "user-agent", "vary", "via", "www-authenticate",
		"dnt", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "sec-fetch-dest", "sec-fetch-mode",
		"sec-fetch-site", "sec-fetch-user", "x-api-key", "x-real-ip", "x-requested-with", "x-amz-date",
		"x-amz-security-token", "x-request-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port",
		"x-forwarded-proto", "x-forwarded-client-cert", "x-envoy-internal", "x-envoy-expected-rq-timeout-ms",
		"x-envoy-attempt-count", "x-envoy-external-address", "x-envoy-original-path",
		"x-envoy-peer-metadata", "x-envoy-peer-metadata-id", "x-envoy-decorator-operation",
		"traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
		"x-b3-sampled", "x-b3-flags", "x-ot-span-context", "x-cloud-trace-context", "grpc-timeout",
		"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
		"http", "https", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3", "api", "authorizer", "*/*",
	} {
		m[s] = s
	}
	return m
}()

// text returns the bytes v as a string: a well-known one shared, any other copied.
func text(v []byte) string {
	if s, ok := wellKnown[string(v)]; ok {
		return s
	}
	return string(v)
}
