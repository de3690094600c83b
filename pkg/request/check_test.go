package request

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/uuid"
)

// checkRequest builds a CheckRequest the way Envoy's ext_authz filter fills one.
func checkRequest(h *authv3.AttributeContext_HttpRequest, sourceIP string, ext map[string]string) *authv3.CheckRequest {
	attrs := &authv3.AttributeContext{
		Request:           &authv3.AttributeContext_Request{Http: h},
		ContextExtensions: ext,
	}
	if sourceIP != "" {
		attrs.Source = &authv3.AttributeContext_Peer{Address: &corev3.Address{
			Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
				Address:       sourceIP,
				PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234},
			}},
		}}
	}
	return &authv3.CheckRequest{Attributes: attrs}
}

func typicalHTTP() *authv3.AttributeContext_HttpRequest {
	return &authv3.AttributeContext_HttpRequest{
		Id:       "envoy-stream-id",
		Method:   "GET",
		Host:     "api.example.com:8443",
		Path:     "/prod/pets/42?limit=10&sort=asc",
		Scheme:   "https",
		Protocol: "HTTP/2",
		Headers: map[string]string{
			":authority":      "api.example.com:8443",
			":method":         "GET",
			":path":           "/prod/pets/42?limit=10&sort=asc",
			"authorization":   "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl",
			"user-agent":      "curl/8.5.0",
			"accept":          "application/json",
			"x-request-id":    "5f1c2c8e-7b0a-4b6e-9d8c-6f2b3e1a9c7d",
			"x-forwarded-for": "203.0.113.7",
		},
	}
}

func TestFromCheck(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ext := map[string]string{"api": "petstore"}
	h := typicalHTTP()
	got, err := FromCheck(checkRequest(h, "203.0.113.7", ext), now)
	if err != nil {
		t.Fatalf("FromCheck error: %v", err)
	}
	want := Request{
		Method:            "GET",
		Host:              "api.example.com",
		Authority:         "api.example.com:8443",
		Scheme:            "https",
		Protocol:          "HTTP/2",
		RawPath:           "/prod/pets/42",
		Path:              "/prod/pets/42",
		RawQuery:          "limit=10&sort=asc",
		SourceIP:          "203.0.113.7",
		RequestID:         "5f1c2c8e-7b0a-4b6e-9d8c-6f2b3e1a9c7d",
		ContextExtensions: ext,
		Time:              now,
	}
	headers := got.Headers
	got.Headers = nil
	if !equalRequest(*got, want) {
		t.Errorf("FromCheck =\n%+v\nwant\n%+v", *got, want)
	}
	if !maps.Equal(headers, h.Headers) {
		t.Errorf("Headers = %v, want Envoy's map %v", headers, h.Headers)
	}
}

func equalRequest(a, b Request) bool {
	return a.Method == b.Method && a.Host == b.Host && a.Authority == b.Authority &&
		a.Scheme == b.Scheme && a.Protocol == b.Protocol && a.RawPath == b.RawPath &&
		a.Path == b.Path && a.RawQuery == b.RawQuery && a.SourceIP == b.SourceIP &&
		a.RequestID == b.RequestID && maps.Equal(a.ContextExtensions, b.ContextExtensions) &&
		a.Time.Equal(b.Time) && maps.Equal(a.Headers, b.Headers)
}

func TestFromCheckFields(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(h *authv3.AttributeContext_HttpRequest)
		check func(t *testing.T, r *Request)
	}{
		{
			name: "upper-case host lowered, authority kept",
			edit: func(h *authv3.AttributeContext_HttpRequest) {
				h.Host, h.Headers[":authority"] = "API.Example.com:8443", "API.Example.com:8443"
			},
			check: func(t *testing.T, r *Request) {
				if r.Host != "api.example.com" || r.Authority != "API.Example.com:8443" {
					t.Errorf("Host, Authority = %q, %q", r.Host, r.Authority)
				}
			},
		},
		{
			name: "lower-case method raised",
			edit: func(h *authv3.AttributeContext_HttpRequest) { h.Method, h.Headers[":method"] = "delete", "delete" },
			check: func(t *testing.T, r *Request) {
				if r.Method != "DELETE" {
					t.Errorf("Method = %q, want DELETE", r.Method)
				}
			},
		},
		{
			name: "encoded path decoded, raw path kept",
			edit: func(h *authv3.AttributeContext_HttpRequest) {
				h.Path = "/pets/my%20dog?x=%2F"
				h.Headers[":path"] = h.Path
			},
			check: func(t *testing.T, r *Request) {
				if r.Path != "/pets/my dog" || r.RawPath != "/pets/my%20dog" || r.RawQuery != "x=%2F" {
					t.Errorf("Path, RawPath, RawQuery = %q, %q, %q", r.Path, r.RawPath, r.RawQuery)
				}
			},
		},
		{
			name: "without x-request-id, a fresh UUID, not Envoy's stream id",
			edit: func(h *authv3.AttributeContext_HttpRequest) { delete(h.Headers, "x-request-id") },
			check: func(t *testing.T, r *Request) {
				if _, err := uuid.Parse(r.RequestID); err != nil {
					t.Errorf("RequestID = %q, want a fresh UUID", r.RequestID)
				}
			},
		},
		{
			name: "raw header map read when headers map is empty",
			edit: func(h *authv3.AttributeContext_HttpRequest) {
				h.Headers = nil
				h.HeaderMap = rawHeaders("x-request-id", "raw-id", "authorization", "Bearer t")
			},
			check: func(t *testing.T, r *Request) {
				if r.RequestID != "raw-id" || r.Header("authorization") != "Bearer t" {
					t.Errorf("RequestID, authorization = %q, %q", r.RequestID, r.Header("authorization"))
				}
			},
		},
		{
			name: "IPv6 host without brackets or port",
			edit: func(h *authv3.AttributeContext_HttpRequest) {
				h.Host, h.Headers[":authority"] = "[2001:db8::1]:443", "[2001:db8::1]:443"
			},
			check: func(t *testing.T, r *Request) {
				if r.Host != "2001:db8::1" || r.Authority != "[2001:db8::1]:443" {
					t.Errorf("Host, Authority = %q, %q", r.Host, r.Authority)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := typicalHTTP()
			tt.edit(h)
			r, err := FromCheck(checkRequest(h, "", nil), time.Time{})
			if err != nil {
				t.Fatalf("FromCheck error: %v", err)
			}
			tt.check(t, r)
		})
	}
}

func TestFromCheckClientCertificate(t *testing.T) {
	const cert = "-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A"
	in := checkRequest(typicalHTTP(), "203.0.113.7", nil)
	in.Attributes.Source.Certificate = cert
	r, err := FromCheck(in, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Certificate != cert {
		t.Errorf("Certificate = %q, want Envoy's value as sent", r.Certificate)
	}
}

func TestFromCheckNoSource(t *testing.T) {
	r, err := FromCheck(checkRequest(typicalHTTP(), "", nil), time.Time{})
	if err != nil {
		t.Fatalf("FromCheck error: %v", err)
	}
	if r.SourceIP != "" {
		t.Errorf("SourceIP = %q, want empty when Envoy sends no source", r.SourceIP)
	}
}

func TestFromCheckRejects(t *testing.T) {
	tests := []struct {
		name string
		req  func() *authv3.CheckRequest
		want error
	}{
		{"nil request", func() *authv3.CheckRequest { return nil }, ErrNoHTTPAttributes},
		{"no HTTP attributes", func() *authv3.CheckRequest { return &authv3.CheckRequest{} }, ErrNoHTTPAttributes},
		{"empty method", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Method = "" }), ErrBadMethod},
		{"method with space", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Method = "GET X" }), ErrBadMethod},
		{"host with userinfo", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Host = "a@b" }), ErrBadHost},
		{"absolute-form target", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Path = "http://evil/x" }), ErrBadPath},
		{"CONNECT without path", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Path = "" }), ErrBadPath},
		{"traversal before query", withHTTP(func(h *authv3.AttributeContext_HttpRequest) { h.Path = "/a/%2e%2e/admin?x=1" }), ErrBadPath},
		{":path header disagrees with the path", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Path, h.Headers[":path"] = "/public/x", "/admin/x"
		}), ErrBadPath},
		{":method header disagrees with the method", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Method, h.Headers[":method"] = "POST", "GET"
		}), ErrBadMethod},
		{":method header differs in case", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Headers[":method"] = "get"
		}), ErrBadMethod},
		{":authority header names another host", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Headers[":authority"] = "admin.example.com"
		}), ErrBadHost},
		{":authority header without the port", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Headers[":authority"] = "api.example.com"
		}), ErrBadHost},
		{":scheme header disagrees with the scheme", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Headers[":scheme"] = "http"
		}), ErrBadRequest},
		{"target over limit", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Path = "/?" + strings.Repeat("q", MaxPathBytes)
		}), ErrTooLarge},
		{"headers over limit", withHTTP(func(h *authv3.AttributeContext_HttpRequest) {
			h.Headers["cookie"] = strings.Repeat("c", MaxHeaderBytes)
		}), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FromCheck(tt.req(), time.Time{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("FromCheck = %+v, %v; want %v", r, err, tt.want)
			}
			if r != nil {
				t.Errorf("FromCheck returned a Request with error %v", err)
			}
		})
	}
}

func withHTTP(edit func(h *authv3.AttributeContext_HttpRequest)) func() *authv3.CheckRequest {
	return func() *authv3.CheckRequest {
		h := typicalHTTP()
		edit(h)
		return checkRequest(h, "", nil)
	}
}

// The gRPC front reuses Requests: FromCheckInto must leave nothing of what r held before, even
// where the new request has no value (no source address, no context extensions, no request id).
func TestFromCheckIntoOverwritesEverything(t *testing.T) {
	h := typicalHTTP()
	delete(h.Headers, "x-request-id")
	in := checkRequest(h, "", nil)
	want, err := FromCheck(in, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	used := &Request{Method: "POST", Host: "old.example.com", Authority: "old", Scheme: "http",
		Protocol: "HTTP/1.0", RawPath: "/old", Path: "/old", RawQuery: "old=1",
		Headers: map[string]string{"authorization": "old"}, SourceIP: "198.51.100.1",
		RequestID: "old-id", Certificate: "old-cert", ContextExtensions: map[string]string{"authorizer": "NONE"}, Time: time.Unix(1, 0)}
	if err := FromCheckInto(used, in, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Without x-request-id each read makes a fresh id: the old one must not survive.
	if used.RequestID == "old-id" || used.RequestID == "" {
		t.Fatalf("reused Request kept request id %q", used.RequestID)
	}
	want.RequestID = used.RequestID
	if !reflect.DeepEqual(used, want) {
		t.Fatalf("reused Request:\n%+v\nwant\n%+v", used, want)
	}
}

// TestRequestIDIsOneSafeValue: the request id is echoed in a header and sent to the backend, so
// it is x-request-id only when that can be echoed as it is, else a fresh UUID (never Envoy's id
// attribute, its stream's number), made once, so that event, header and log agree.
func TestRequestIDIsOneSafeValue(t *testing.T) {
	tests := []struct {
		name       string
		header, id string
		want       string // "": a fresh UUID
	}{
		{"x-request-id", "abc-123", "stream", "abc-123"},
		{"CR LF in x-request-id", "evil\r\nx: y", "stream", ""},
		{"the id attribute is not the request id", "", "stream", ""},
		{"space in x-request-id", "a b", "", ""},
		{"x-request-id over 200 bytes", strings.Repeat("a", 201), "", ""},
		{"none", "", "", ""},
		{"unsafe id attribute", "", "bad\x00id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := typicalHTTP()
			h.Id = tt.id
			delete(h.Headers, "x-request-id")
			if tt.header != "" {
				h.Headers["x-request-id"] = tt.header
			}
			r, err := FromCheck(checkRequest(h, "", nil), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && r.RequestID != tt.want {
				t.Fatalf("RequestID = %q, want %q", r.RequestID, tt.want)
			}
			if _, err := uuid.Parse(r.RequestID); tt.want == "" && err != nil {
				t.Fatalf("RequestID = %q, want a fresh UUID", r.RequestID)
			}
		})
	}
}
