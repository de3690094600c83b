// Package extauthztest serves an Authorization server over real gRPC on loopback and builds
// CheckRequests as Envoy sends them, for the tests of every package that drives the gRPC front.
package extauthztest

import (
	"net"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Serve runs gs on 127.0.0.1:0 until the test ends and returns a client of it. Build gs with
// extauthz.NewGRPCServer, as the command does, so that the test exercises the production codec.
func Serve(t testing.TB, gs *grpc.Server) authv3.AuthorizationClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// Request is the CheckRequest Envoy sends for method host path (the query included) with
// headers (lower-case names), from client address 192.0.2.1.
func Request(method, host, path string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":authority": host, ":path": path, ":method": method}
	for k, v := range headers {
		h[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "192.0.2.1"}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Host: host, Path: path, Headers: h}},
	}}
}

// Sidecar is a CheckRequest as an Envoy sidecar sends it: both peers, the time, the HTTP
// request with a typical browser's headers, context extensions (api: petstore) and empty
// metadata. The wire decoder's tests and the benchmarks of a Check from wire bytes read it.
func Sidecar() *authv3.CheckRequest {
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
