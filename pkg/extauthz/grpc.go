package extauthz

import (
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/portcullis-dev/portcullis/pkg/extauthz/wire"
)

// NewGRPCServer is the gRPC server Portcullis answers Checks on: the production codec
// (wire.Codec) first, then opts, with srv registered as envoy.service.auth.v3.Authorization. The
// command and every test that drives the front over gRPC build their server here, so that the
// tests exercise the codec production uses.
func NewGRPCServer(srv authv3.AuthorizationServer, opts ...grpc.ServerOption) *grpc.Server {
	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.ForceServerCodecV2(wire.Codec())}, opts...)...)
	authv3.RegisterAuthorizationServer(gs, srv)
	return gs
}
