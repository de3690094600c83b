// Command noop is the baseline of `make bench`: a bare grpc-go Authorization server with default
// options and the standard codec that answers every Check with one constant CheckResponse: an
// empty OK, or with -answer the response Portcullis gave, so that the load client reads the same
// bytes from both and the comparison is of the servers alone. Portcullis's cached path is
// measured against it in the same run.
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
	"google.golang.org/protobuf/encoding/protojson"
)

type noop struct {
	authv3.UnimplementedAuthorizationServer
	answer *authv3.CheckResponse
}

func (n noop) Check(context.Context, *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return n.answer, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	answerFile := flag.String("answer", "", "a CheckResponse in protojson to answer every Check with (default: an empty OK)")
	flag.Parse()
	answer := &authv3.CheckResponse{
		Status:       &status.Status{Code: 0},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}},
	}
	if *answerFile != "" {
		b, err := os.ReadFile(*answerFile)
		if err == nil {
			answer.Reset()
			err = protojson.Unmarshal(b, answer)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "answer:", err)
			os.Exit(2)
		}
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, noop{answer: answer})
	reflection.Register(gs)
	fmt.Println(lis.Addr().String())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		gs.Stop()
	}()
	if err := gs.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
