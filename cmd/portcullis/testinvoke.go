package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/introspection"
	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/extauthz"
)

// runTestInvoke runs one request through the whole pipeline, as API Gateway's console
// "Test authorizer" does, and prints the methodArn, the event, the backend's answer and the
// decision with the response Envoy would get.
func runTestInvoke(ctx context.Context, args []string, io stdio) int {
	var configs, headers listHeaderFlag
	fs := newFlagSet("test-invoke", io)
	fs.Var((*listFlag)(&configs), "config", "config file or directory (repeatable); none: the embedded demo")
	method := fs.String("method", "GET", "HTTP method")
	rawURL := fs.String("url", "", "request URL, e.g. https://api.example.com/pets/42?x=1")
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	sourceIP := fs.String("source-ip", "127.0.0.1", "client address")
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return flagsExit(err)
	}
	in, err := checkRequest(*method, *rawURL, headers, *sourceIP)
	if err != nil {
		fmt.Fprintln(io.err, "portcullis test-invoke:", err)
		return 2
	}
	rec := &recorder{}
	snap, err := config.Build(ctx, config.BuildOptions{Paths: configs, Getenv: os.Getenv, WrapBackend: rec.wrap})
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	defer snap.Close()
	if err := config.WaitReady(ctx, snap, 10*time.Second); err != nil {
		fmt.Fprintln(io.err, "portcullis test-invoke:", err)
		return 1
	}
	eng, err := engine.New(snap, engine.Options{})
	if err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	defer eng.Close()
	resp, _ := extauthz.New(eng, extauthz.Options{}).Check(ctx, in)
	// Read the response as Envoy does, off the wire: an answer's headers and metadata travel
	// pre-encoded.
	wire, err := proto.Marshal(resp)
	if err == nil {
		resp = &authv3.CheckResponse{}
		err = proto.Unmarshal(wire, resp)
	}
	if err != nil {
		fmt.Fprintln(io.err, "reading the CheckResponse:", err)
		return 1
	}
	rec.print(io, resp)
	return 0
}

// listHeaderFlag collects repeated -H values without splitting on commas.
type listHeaderFlag []string

func (l *listHeaderFlag) String() string     { return strings.Join(*l, "\n") }
func (l *listHeaderFlag) Set(v string) error { *l = append(*l, v); return nil }

// checkRequest builds the CheckRequest Envoy would send for the request.
func checkRequest(method, rawURL string, headers []string, sourceIP string) (*authv3.CheckRequest, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url: want an absolute URL like https://host/path, got %q", rawURL)
	}
	hs := map[string]string{":authority": u.Host, ":method": strings.ToUpper(method)}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("-H: want 'Name: value', got %q", h)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if prev, dup := hs[name]; dup {
			value = prev + "," + strings.TrimSpace(value)
		}
		hs[name] = strings.TrimSpace(value)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	hs[":path"] = path
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: sourceIP},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: strings.ToUpper(method), Host: u.Host, Path: path, Scheme: u.Scheme,
			Protocol: "HTTP/1.1", Headers: hs,
		}},
	}}, nil
}

// recorder wraps every backend to keep what it was asked and what it answered.
type recorder struct {
	mu      sync.Mutex
	req     *authorizer.Request
	resp    *authorizer.Response
	err     error
	noEvent bool // the backend sends no Lambda event (introspection posts the token alone)
}

func (r *recorder) wrap(_ string, b authorizer.Backend) authorizer.Backend {
	_, noEvent := b.(*introspection.Backend)
	return recordingBackend{b: b, r: r, noEvent: noEvent}
}

type recordingBackend struct {
	b       authorizer.Backend
	r       *recorder
	noEvent bool
}

func (rb recordingBackend) Authorize(ctx context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	resp, err := rb.b.Authorize(ctx, req)
	rb.r.mu.Lock()
	rb.r.req, rb.r.resp, rb.r.err, rb.r.noEvent = req, resp, err, rb.noEvent
	rb.r.mu.Unlock()
	return resp, err
}

func (r *recorder) print(io stdio, resp *authv3.CheckResponse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.req != nil {
		fmt.Fprintf(io.out, "methodArn: %s\n", r.req.MethodArn)
		if r.req.Type != "JWT" && !r.noEvent {
			if ev, err := authorizer.MarshalEvent(r.req); err == nil {
				fmt.Fprintf(io.out, "event:\n%s\n", indent(ev))
			}
		}
	} else {
		fmt.Fprintln(io.out, "backend: not called")
	}
	switch {
	case r.err != nil:
		fmt.Fprintf(io.out, "backend error: %v\n", r.err)
	case r.resp != nil:
		out := map[string]any{"principalId": r.resp.PrincipalID, "context": r.resp.Context}
		if len(r.resp.PolicyDocument) > 0 {
			out["policyDocument"] = r.resp.PolicyDocument
		}
		if r.resp.IsAuthorized != nil {
			out["isAuthorized"] = *r.resp.IsAuthorized
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(io.out, "backend answer:\n%s\n", indent(b))
	}
	if ok := resp.GetOkResponse(); ok != nil {
		fmt.Fprintln(io.out, "decision: Allow (HTTP 200 upstream)")
		for _, h := range ok.GetHeaders() {
			fmt.Fprintf(io.out, "  upstream header %s: %s\n", h.GetHeader().GetKey(), h.GetHeader().GetValue())
		}
		return
	}
	d := resp.GetDeniedResponse()
	fmt.Fprintf(io.out, "decision: %s (HTTP %d)\n  body: %s\n", resp.GetStatus().GetMessage(), d.GetStatus().GetCode(), d.GetBody())
}

func indent(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}
