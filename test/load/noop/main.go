// Command noop is the baseline of `make bench`: a bare grpc-go Authorization server with default
// options and the standard codec that answers every Check with a constant OK. Portcullis's cached
// path is measured against it in the same run.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
)

type noop struct {
	authv3.UnimplementedAuthorizationServer
}

var ok = &authv3.CheckResponse{
	Status:       &status.Status{Code: 0},
	HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
}

func (noop) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return ok, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, noop{})
	reflection.Register(gs)
	fmt.Println(lis.Addr().String())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		gs.Stop()
	}()
	gs.Serve(lis)
}
