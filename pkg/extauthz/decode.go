package extauthz

import (
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// decodeCheck merges the wire bytes b into m as proto.Unmarshal does, reading the part of a
// CheckRequest that every request carries (the attributes, the request, its HTTP fields, the
// headers and context extensions maps, the peers' socket addresses) by hand, and handing the
// other message fields (time stamp, metadata, TLS session, header_map) to the standard decoder. It reports false, leaving m partly filled,
// for anything it does not read exactly as proto.Unmarshal would: a field it does not know, a
// wire type a field cannot have, a string that is not UTF-8, bytes that do not parse. The caller
// then resets m and decodes it the standard way, so that every odd message gets the standard
// answer, error or unknown field included.
//
// Measured in BenchmarkDecodeCheck: go-control-plane generates no vtprotobuf unmarshalers, and
// the standard decoder spends most of a CheckRequest's time inserting map entries through
// reflection, which a decoder that knows the map's Go type does not.
func decodeCheck(b []byte, m *authv3.CheckRequest) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || num != 1 || typ != protowire.BytesType {
			return false
		}
		if m.Attributes == nil {
			m.Attributes = &authv3.AttributeContext{}
		}
		if !decodeAttributes(v, m.Attributes) {
			return false
		}
		b = rest
	}
	return true
}

func decodeAttributes(b []byte, a *authv3.AttributeContext) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			if a.Source == nil {
				a.Source = &authv3.AttributeContext_Peer{}
			}
			ok = decodePeer(v, a.Source)
		case 2:
			if a.Destination == nil {
				a.Destination = &authv3.AttributeContext_Peer{}
			}
			ok = decodePeer(v, a.Destination)
		case 4:
			if a.Request == nil {
				a.Request = &authv3.AttributeContext_Request{}
			}
			ok = decodeRequest(v, a.Request)
		case 10:
			if a.ContextExtensions == nil {
				a.ContextExtensions = make(map[string]string, 4)
			}
			ok = addStringEntry(v, a.ContextExtensions)
		case 11:
			if a.MetadataContext == nil {
				a.MetadataContext = &corev3.Metadata{}
			}
			ok = mergeStandard(v, a.MetadataContext)
		case 12:
			if a.TlsSession == nil {
				a.TlsSession = &authv3.AttributeContext_TLSSession{}
			}
			ok = mergeStandard(v, a.TlsSession)
		case 13:
			if a.RouteMetadataContext == nil {
				a.RouteMetadataContext = &corev3.Metadata{}
			}
			ok = mergeStandard(v, a.RouteMetadataContext)
		default:
			return false
		}
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

// decodePeer reads a peer whose address is a socket address with a port number, the only kind
// Envoy gives an HTTP request; any other address (a pipe, a named port) goes to the standard
// decoder.
func decodePeer(b []byte, p *authv3.AttributeContext_Peer) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			if p.Address == nil {
				p.Address = &corev3.Address{}
			}
			ok = decodeAddress(v, p.Address)
		case 2:
			ok = setString(&p.Service, v)
		case 3:
			if p.Labels == nil {
				p.Labels = make(map[string]string, countEntries(b, 3))
			}
			ok = addStringEntry(v, p.Labels)
		case 4:
			ok = setString(&p.Principal, v)
		case 5:
			ok = setString(&p.Certificate, v)
		default:
			return false
		}
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

func decodeAddress(b []byte, a *corev3.Address) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || num != 1 || typ != protowire.BytesType {
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
		if !decodeSocketAddress(v, sa.SocketAddress) {
			return false
		}
		b = rest
	}
	return true
}

func decodeSocketAddress(b []byte, a *corev3.SocketAddress) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok {
			return false
		}
		switch {
		case num == 2 && typ == protowire.BytesType:
			ok = setString(&a.Address, v)
		case num == 3 && typ == protowire.VarintType:
			if _, named := a.PortSpecifier.(*corev3.SocketAddress_NamedPort); named {
				return false
			}
			x, _ := protowire.ConsumeVarint(v)
			a.PortSpecifier = &corev3.SocketAddress_PortValue{PortValue: uint32(x)}
		default:
			return false
		}
		if !ok {
			return false
		}
		b = rest
	}
	return true
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

func decodeRequest(b []byte, r *authv3.AttributeContext_Request) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || typ != protowire.BytesType {
			return false
		}
		switch num {
		case 1:
			if r.Time == nil {
				r.Time = &timestamppb.Timestamp{}
			}
			ok = mergeStandard(v, r.Time)
		case 2:
			if r.Http == nil {
				r.Http = &authv3.AttributeContext_HttpRequest{}
			}
			ok = decodeHTTP(v, r.Http)
		default:
			return false
		}
		if !ok {
			return false
		}
		b = rest
	}
	return true
}

func decodeHTTP(b []byte, h *authv3.AttributeContext_HttpRequest) bool {
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok {
			return false
		}
		if num == 9 { // size, the only varint
			if typ != protowire.VarintType {
				return false
			}
			x, _ := protowire.ConsumeVarint(v)
			h.Size = int64(x)
			b = rest
			continue
		}
		if typ != protowire.BytesType {
			return false
		}
		var s *string
		switch num {
		case 1:
			s = &h.Id
		case 2:
			s = &h.Method
		case 3:
			if h.Headers == nil {
				h.Headers = make(map[string]string, countEntries(b, 3))
			}
			if !addStringEntry(v, h.Headers) {
				return false
			}
		case 4:
			s = &h.Path
		case 5:
			s = &h.Host
		case 6:
			s = &h.Scheme
		case 7:
			s = &h.Query
		case 8:
			s = &h.Fragment
		case 10:
			s = &h.Protocol
		case 11:
			s = &h.Body
		case 12:
			h.RawBody = append([]byte{}, v...)
		case 13:
			if h.HeaderMap == nil {
				h.HeaderMap = &corev3.HeaderMap{}
			}
			if !mergeStandard(v, h.HeaderMap) {
				return false
			}
		default:
			return false
		}
		if s != nil && !setString(s, v) {
			return false
		}
		b = rest
	}
	return true
}

// addStringEntry adds one map<string, string> entry to m. An entry missing its key or value has
// the empty string for it, as in proto.Unmarshal; a later entry for the same key replaces it.
func addStringEntry(b []byte, m map[string]string) bool {
	var key, value []byte
	for len(b) > 0 {
		num, typ, v, rest, ok := nextField(b)
		if !ok || typ != protowire.BytesType || !utf8.Valid(v) {
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
		b = rest
	}
	m[text(key)] = text(value)
	return true
}

// countEntries counts the fields numbered num in the message b from its start, so that a map
// is made once at its size rather than grown entry by entry.
func countEntries(b []byte, num protowire.Number) int {
	n := 0
	for len(b) > 0 {
		got, _, _, rest, ok := nextField(b)
		if !ok {
			break
		}
		if got == num {
			n++
		}
		b = rest
	}
	return n
}

// nextField splits the first field off b: its number, wire type, value (for a length-delimited
// field, its contents) and the bytes after it. ok is false for bytes that do not parse, and for
// group wire types, which no CheckRequest field has.
func nextField(b []byte) (num protowire.Number, typ protowire.Type, v, rest []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, nil, false
	}
	b = b[n:]
	switch typ {
	case protowire.BytesType:
		v, n = protowire.ConsumeBytes(b)
	case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type:
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n >= 0 {
			v = b[:n]
		}
	default:
		return 0, 0, nil, nil, false
	}
	if n < 0 {
		return 0, 0, nil, nil, false
	}
	return num, typ, v, b[n:], true
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
