package extauthz

import (
	"fmt"
	"strings"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// grpcCodes are the gRPC status of each outcome's denial; the rest of a denial (HTTP status, headers,
// body) is the gateway response the engine renders (engine.Decision.Denial).
var grpcCodes = [...]codes.Code{
	engine.Unauthorized:      codes.Unauthenticated,
	engine.ExplicitDeny:      codes.PermissionDenied,
	engine.ImplicitDeny:      codes.PermissionDenied,
	engine.MissingToken:      codes.PermissionDenied,
	engine.BadRequest:        codes.InvalidArgument,
	engine.Throttled:         codes.ResourceExhausted,
	engine.URITooLong:        codes.InvalidArgument,
	engine.AuthorizerFailure: codes.Unavailable,
	engine.AuthorizerConfig:  codes.Internal,
}

// headerOption is a header Portcullis sets, replacing any the request has: its two messages,
// held together so that a response can hold them inline.
type headerOption struct {
	option corev3.HeaderValueOption
	value  corev3.HeaderValue
}

func (h *headerOption) set(name, value string) *corev3.HeaderValueOption {
	h.value.Key, h.value.Value = name, value
	h.option.Header, h.option.AppendAction = &h.value, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
	return &h.option
}

func header(name, value string) *corev3.HeaderValueOption { return new(headerOption).set(name, value) }

// deniedMessages are a denial's own messages, allocated together.
type deniedMessages struct {
	resp    authv3.CheckResponse
	oneof   authv3.CheckResponse_DeniedResponse
	denied  authv3.DeniedHttpResponse
	id      headerOption                 // x-amzn-requestid
	headers [4]*corev3.HeaderValueOption // room for a built-in denial's headers
}

// deny builds the denied CheckResponse for d, decided for req (nil: a request that could not be
// read): the request id is its own; the other parts are the rendered gateway response's, built
// once and shared by every denial it answers when it is the same for every request.
func deny(d *engine.Decision, req *request.Request, requestID string) *authv3.CheckResponse {
	if d.Outcome == engine.Allow {
		// Never a weaker answer: a Decision that says Allow reached here by mistake.
		d = &engine.Decision{Outcome: engine.AuthorizerFailure, Responses: d.Responses}
	}
	p := partsOf(d.Outcome, d.Denial(req))
	m := &deniedMessages{}
	headers := append(m.headers[:0], p.headers[0], m.id.set("x-amzn-requestid", requestID))
	m.denied.Status, m.denied.Headers, m.denied.Body = p.httpStatus, append(headers, p.headers[1:]...), p.body
	m.oneof.DeniedResponse = &m.denied
	m.resp.Status, m.resp.HttpResponse = p.status, &m.oneof
	return &m.resp
}

// denyParts are a rendered denial as protobuf messages. Those of a shared gateway response (every
// built-in answer, and a configured one that reads nothing of the request) are built once and
// kept with it, shared by the responses that carry them: protobuf messages are safe to marshal
// concurrently as long as nobody changes them.
type denyParts struct {
	status     *status.Status
	httpStatus *typev3.HttpStatus
	headers    []*corev3.HeaderValueOption // content-type first; the request id goes after it
	body       string
}

// partsOf returns the parts of r, the denial for outcome.
func partsOf(outcome engine.Outcome, r *gatewayresponse.Response) *denyParts {
	if r.Shared() {
		if p, ok := r.Kept(gatewayresponse.GRPC).(*denyParts); ok {
			return p
		}
		p, _ := r.Keep(gatewayresponse.GRPC, newDenyParts(outcome, r)).(*denyParts)
		return p
	}
	return newDenyParts(outcome, r)
}

func newDenyParts(outcome engine.Outcome, r *gatewayresponse.Response) *denyParts {
	code := codes.Unavailable // an outcome outside the table: a failure, never anything weaker
	if int(outcome) < len(grpcCodes) && outcome != engine.Allow {
		code = grpcCodes[outcome]
	}
	p := &denyParts{
		status:     &status.Status{Code: int32(code), Message: outcome.String()},
		httpStatus: &typev3.HttpStatus{Code: typev3.StatusCode(r.Status)},
		headers:    make([]*corev3.HeaderValueOption, 0, 1+len(r.Headers)),
		body:       r.Body,
	}
	p.headers = append(p.headers, header("content-type", r.ContentType))
	for _, h := range r.Headers {
		p.headers = append(p.headers, header(h.Name, h.Value))
	}
	return p
}

// allow builds the OK CheckResponse: principal and context headers upstream, every client-sent
// header with the prefix removed, and dynamic metadata for access logs and later filters. The
// answer's own parts arrive already encoded (see rendered); only the request's parts are built
// here. Everything comes from d, the request and its id: no call back into the engine.
func allow(d *engine.Decision, req *request.Request, requestID string) (*authv3.CheckResponse, error) {
	// The answer's own header names, built only when the client sent a header with the prefix.
	own := func() []engine.Header {
		h, _ := d.UpstreamHeaders() // checked when the answer was compiled
		return h
	}
	if d.DryRun != engine.Allow {
		return dryRunAllow(d, req, requestID)
	}
	m := &okMessages{}
	ok, resp := &m.ok, &m.resp
	m.toAdd[0] = m.id.set("x-amzn-requestid", requestID)
	ok.HeadersToRemove, ok.ResponseHeadersToAdd = spoofed(req.Headers, d.HeaderPrefix(), own), m.toAdd[:]
	m.oneof.OkResponse = ok
	resp.Status, resp.HttpResponse = okStatus, &m.oneof
	if d.Answer == nil { // a NONE route
		resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{
			"cached":     structpb.NewBoolValue(d.Cached),
			"api":        structpb.NewStringValue(d.Api),
			"authorizer": structpb.NewStringValue(d.Authorizer),
		}}
		return resp, nil
	}
	r, err := rendering(d)
	if err != nil {
		return nil, err
	}
	ok.ProtoReflect().SetUnknown(r.headers)
	resp.ProtoReflect().SetUnknown(r.metadata)
	return resp, nil
}

// dryRunAllow builds the OK response of a denial let through by dry run: upstream gets
// x-authorizer-dry-run with the decision it would have been, and the principal and context
// headers only when the backend answered; client-sent headers with the prefix are removed as for
// any allow. Built afresh each time: dry run is for trying an authorizer out, not the hot path.
func dryRunAllow(d *engine.Decision, req *request.Request, requestID string) (*authv3.CheckResponse, error) {
	own := []engine.Header{d.DryRunHeader()}
	fields := map[string]*structpb.Value{
		"api":        structpb.NewStringValue(d.Api),
		"authorizer": structpb.NewStringValue(d.Authorizer),
		"cached":     structpb.NewBoolValue(d.Cached),
		"dryRun":     structpb.NewStringValue(d.DryRun.DryRunName()),
	}
	if d.Answer != nil {
		answer, err := d.UpstreamHeaders()
		if err != nil {
			return nil, fmt.Errorf("upstream headers: %w", err)
		}
		for _, h := range answer {
			if h.Name != own[0].Name { // a context key "dry-run" may not hide the mark
				own = append(own, h)
			}
		}
		fields["principalId"] = structpb.NewStringValue(d.Answer.PrincipalID)
		if ctx, err := structpb.NewStruct(d.Answer.Context().Map()); err == nil {
			fields["context"] = structpb.NewStructValue(ctx)
		}
	}
	ok := &authv3.OkHttpResponse{
		Headers:              make([]*corev3.HeaderValueOption, len(own)),
		HeadersToRemove:      spoofed(req.Headers, d.HeaderPrefix(), func() []engine.Header { return own }),
		ResponseHeadersToAdd: []*corev3.HeaderValueOption{header("x-amzn-requestid", requestID)},
	}
	for i, h := range own {
		ok.Headers[i] = header(h.Name, h.Value)
	}
	return &authv3.CheckResponse{
		Status:          okStatus,
		HttpResponse:    &authv3.CheckResponse_OkResponse{OkResponse: ok},
		DynamicMetadata: &structpb.Struct{Fields: fields},
	}, nil
}

// okMessages are an allow's own messages, allocated together.
type okMessages struct {
	resp  authv3.CheckResponse
	oneof authv3.CheckResponse_OkResponse
	ok    authv3.OkHttpResponse
	id    headerOption // x-amzn-requestid
	toAdd [1]*corev3.HeaderValueOption
}

// okStatus is shared by every OK response: protobuf messages are safe to marshal concurrently as
// long as nobody changes them.
var okStatus = &status.Status{Code: int32(codes.OK)}

// rendered is an answer's part of every OK response that carries it, encoded once: headers is
// OkHttpResponse field 2 (headers) entries; metadata is the CheckResponse's one dynamic_metadata
// field, holding api, authorizer, principalId, context and cached. A response carries them as
// unknown fields, of its OkHttpResponse and of itself: the encoders copy unknown fields to the
// wire as they are, and a reader (Envoy) parses them as the fields they are. An answer in use
// keeps about 300 bytes instead of about 1,900 of protobuf messages, and a response costs a copy
// instead of encoding them again.
type rendered struct {
	headers  []byte
	metadata []byte
}

// rendering returns d.Answer's encoded parts, kept from the answer's second allow on, the first
// one served from the cache: a token seen once (a scan, a batch job) leaves only the engine's
// compact Answer behind. The kept parts say cached: true, so they serve only Decisions that say
// so too: those from the cache, and those of requests that waited for a backend call another
// request made (cache.GetOrFetch reports those as cached). The request whose call fetched the
// answer gets parts encoded afresh that say cached: false.
func rendering(d *engine.Decision) (*rendered, error) {
	if r, ok := d.Answer.Rendered().(*rendered); ok && d.Cached {
		return r, nil
	}
	own, err := d.UpstreamHeaders()
	if err != nil {
		return nil, fmt.Errorf("upstream headers: %w", err)
	}
	headers := &authv3.OkHttpResponse{Headers: make([]*corev3.HeaderValueOption, len(own))}
	for i, h := range own {
		headers.Headers[i] = header(h.Name, h.Value)
	}
	// An answer is cached per Api and authorizer, so these are the same for every response
	// that carries it from the cache.
	fields := &structpb.Struct{Fields: map[string]*structpb.Value{
		"api":         structpb.NewStringValue(d.Api),
		"authorizer":  structpb.NewStringValue(d.Authorizer),
		"principalId": structpb.NewStringValue(d.Answer.PrincipalID),
		"cached":      structpb.NewBoolValue(d.Cached),
	}}
	if ctx, err := structpb.NewStruct(d.Answer.Context().Map()); err == nil {
		fields.Fields["context"] = structpb.NewStructValue(ctx)
	}
	// Backends' principals and context values come from JSON, so they are UTF-8 and encode.
	deterministic := proto.MarshalOptions{Deterministic: true}
	var r rendered
	if r.headers, err = deterministic.Marshal(headers); err != nil {
		return nil, fmt.Errorf("encoding upstream headers: %w", err)
	}
	if r.metadata, err = deterministic.Marshal(&authv3.CheckResponse{DynamicMetadata: fields}); err != nil {
		return nil, fmt.Errorf("encoding dynamic metadata: %w", err)
	}
	if !d.Cached {
		return &r, nil
	}
	d.Answer.SetRendered(&r)
	return d.Answer.Rendered().(*rendered), nil
}

// spoofed lists the request's headers that carry the prefix, '_' read as '-' (upstreams such as
// CGI, WSGI, Rack and PHP read them alike): only Portcullis may set them. A
// name Portcullis sets itself is left out: its OVERWRITE_IF_EXISTS_OR_ADD replaces the client's
// value, and removing it too could remove Portcullis's own value, depending on the order in which
// Envoy applies the two lists.
func spoofed(headers map[string]string, prefix string, ownHeaders func() []engine.Header) []string {
	var out []string
	var own []engine.Header
	ownBuilt := false
next:
	for name := range headers {
		if len(name) < len(prefix) || !sameHeaderPrefix(name[:len(prefix)], prefix) {
			continue
		}
		if !utf8.ValidString(name) {
			// Envoy's codecs refuse such a name, so no upstream can get it; and a CheckResponse
			// naming it could not be read.
			continue
		}
		if !ownBuilt {
			own, ownBuilt = ownHeaders(), true
		}
		for _, h := range own {
			if strings.EqualFold(h.Name, name) {
				continue next
			}
		}
		out = append(out, name)
	}
	return out
}

// sameHeaderPrefix compares header name text case-insensitively with '_' equal to '-'.
func sameHeaderPrefix(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
