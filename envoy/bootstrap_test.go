package envoy

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3" // resolves the router's typed config
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	sigsyaml "sigs.k8s.io/yaml"
)

const extAuthzFilter = "envoy.filters.http.ext_authz"

// bootstrap is envoy.yaml decoded, with the typed configs the tests look into unpacked.
type bootstrap struct {
	proto    *bootstrapv3.Bootstrap
	hcm      *hcmv3.HttpConnectionManager
	authz    *extauthzv3.ExtAuthz
	clusters map[string]*clusterv3.Cluster
}

// loadBootstrap parses envoy.yaml as Envoy does: YAML to JSON to the v3 Bootstrap proto, no
// unknown field allowed, then Envoy's validation rules on it and every typed config inside.
func loadBootstrap(t *testing.T) *bootstrap { return loadBootstrapFile(t, "envoy.yaml") }

// loadBootstrapFile is loadBootstrap for another file.
func loadBootstrapFile(t *testing.T, file string) *bootstrap {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	js, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	b := &bootstrap{proto: &bootstrapv3.Bootstrap{}, clusters: map[string]*clusterv3.Cluster{}}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, b.proto); err != nil {
		t.Fatalf("%s is not a v3 Bootstrap: %v", file, err)
	}
	if _, err := validateAll(b.proto); err != nil {
		t.Fatalf("%s breaks Envoy's validation rules: %v", file, err)
	}
	listeners := b.proto.GetStaticResources().GetListeners()
	if len(listeners) != 1 || len(listeners[0].GetFilterChains()) != 1 || len(listeners[0].GetFilterChains()[0].GetFilters()) != 1 {
		t.Fatal("want one listener with one filter chain holding the HTTP connection manager")
	}
	b.hcm = &hcmv3.HttpConnectionManager{}
	unpack(t, listeners[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig(), b.hcm)
	for _, f := range b.hcm.GetHttpFilters() {
		if f.GetName() == extAuthzFilter {
			b.authz = &extauthzv3.ExtAuthz{}
			unpack(t, f.GetTypedConfig(), b.authz)
		}
	}
	if b.authz == nil {
		t.Fatal("no ext_authz HTTP filter")
	}
	for _, c := range b.proto.GetStaticResources().GetClusters() {
		b.clusters[c.GetName()] = c
	}
	return b
}

func unpack(t *testing.T, a *anypb.Any, into proto.Message) {
	t.Helper()
	if err := a.UnmarshalTo(into); err != nil {
		t.Fatalf("typed config %s: %v", a.GetTypeUrl(), err)
	}
}

// validateAll runs the protoc-gen-validate rules on m and on every typed config inside it, as
// Envoy does on load: a message's own ValidateAll does not look into an Any, while
// protorange.Range visits the messages inside each Any too. It returns how many typed configs
// it checked.
func validateAll(m proto.Message) (int, error) {
	if err := validate(m); err != nil {
		return 0, err
	}
	typed := 0
	err := protorange.Range(m.ProtoReflect(), func(p protopath.Values) error {
		msg, ok := p.Index(-1).Value.Interface().(protoreflect.Message)
		if !ok {
			return nil
		}
		a, ok := msg.Interface().(*anypb.Any)
		if !ok {
			return nil
		}
		inner, err := a.UnmarshalNew()
		if err != nil {
			return fmt.Errorf("%s: %w", p.Path, err)
		}
		typed++
		if err := validate(inner); err != nil {
			return fmt.Errorf("%s (%s): %w", p.Path, a.GetTypeUrl(), err)
		}
		return nil
	})
	return typed, err
}

func validate(m proto.Message) error {
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		return fmt.Errorf("%s has no validation rules", m.ProtoReflect().Descriptor().FullName())
	}
	return v.ValidateAll()
}

func TestBootstrapIsValid(t *testing.T) {
	b := loadBootstrap(t)
	// The connection manager, ext_authz, its two per-route configs, the router, the access
	// log and the portcullis cluster's protocol options.
	const want = 7
	if n, err := validateAll(b.proto); err != nil || n != want {
		t.Errorf("validated %d typed configs (%v), want %d: a typed config went unchecked", n, err, want)
	}
}

// TestValidateAllRefusesInvalidTypedConfig proves the validation reaches into typed configs.
func TestValidateAllRefusesInvalidTypedConfig(t *testing.T) {
	cases := []struct {
		name  string
		inner proto.Message
		want  string
	}{
		{name: "ext_authz with an API version Envoy does not have", inner: &extauthzv3.ExtAuthz{TransportApiVersion: 99}, want: "TransportApiVersion"},
		{name: "per-route config that neither disables nor configures", inner: &extauthzv3.ExtAuthzPerRoute{}, want: "Override"},
		{name: "connection manager without a stat prefix", inner: &hcmv3.HttpConnectionManager{}, want: "StatPrefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := anypb.New(tc.inner)
			if err != nil {
				t.Fatal(err)
			}
			outer := &hcmv3.HttpFilter{Name: "f", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: a}}
			if _, err := validateAll(outer); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one about %s", err, tc.want)
			}
		})
	}
}

func TestBootstrapSettings(t *testing.T) {
	b := loadBootstrap(t)
	cases := []struct {
		name string
		got  func(b *bootstrap) any
		want any
	}{
		{
			name: "Portcullis and the upstream see one path: normalized, slashes merged, escaped slashes refused",
			got: func(b *bootstrap) any {
				return []any{b.hcm.GetNormalizePath().GetValue(), b.hcm.GetMergeSlashes(), b.hcm.GetPathWithEscapedSlashesAction()}
			},
			want: []any{true, true, hcmv3.HttpConnectionManager_REJECT_REQUEST},
		},
		{
			name: "the client address is the peer's, not x-forwarded-for",
			got:  func(b *bootstrap) any { return b.hcm.GetUseRemoteAddress().GetValue() },
			want: true,
		},
		{
			name: "requests with underscores in header names are refused",
			got:  func(b *bootstrap) any { return b.hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction() },
			want: corev3.HttpProtocolOptions_REJECT_REQUEST,
		},
		{
			name: "ext_authz runs first and the router last",
			got: func(b *bootstrap) any {
				var names []string
				for _, f := range b.hcm.GetHttpFilters() {
					names = append(names, f.GetName())
				}
				return names
			},
			want: []string{extAuthzFilter, "envoy.filters.http.router"},
		},
		{
			name: "ext_authz asks the portcullis cluster over gRPC, API v3",
			got: func(b *bootstrap) any {
				return []any{b.authz.GetGrpcService().GetEnvoyGrpc().GetClusterName(), b.authz.GetTransportApiVersion().String()}
			},
			want: []any{"portcullis", "V3"},
		},
		{
			name: "a check takes at most half a second",
			got:  func(b *bootstrap) any { return b.authz.GetGrpcService().GetTimeout().AsDuration() },
			want: 500 * time.Millisecond,
		},
		{
			name: "Envoy fails closed when Portcullis cannot answer",
			got:  func(b *bootstrap) any { return b.authz.GetFailureModeAllow() },
			want: false,
		},
		{
			name: "the peer certificate is sent, the body is not",
			got: func(b *bootstrap) any {
				return []any{b.authz.GetIncludePeerCertificate(), b.authz.GetWithRequestBody() == nil}
			},
			want: []any{true, true},
		},
		{
			name: "health route skips ext_authz and drops a client-sent principal header",
			got: func(b *bootstrap) any {
				r := routeByMatch(b, "/health")
				return []any{perRoute(t, r).GetDisabled(), r.GetRequestHeadersToRemove()}
			},
			want: []any{true, []string{"x-authorizer-principal-id"}},
		},
		{
			name: "admin route names the Api and the authorizer",
			got: func(b *bootstrap) any {
				return perRoute(t, routeByMatch(b, "/admin/")).GetCheckSettings().GetContextExtensions()
			},
			want: map[string]string{"api": "demo", "authorizer": "demo"},
		},
		{
			name: "the access log prints the principal from Portcullis's dynamic metadata",
			got: func(b *bootstrap) any {
				return strings.Contains(accessLogFormat(t, b), "%DYNAMIC_METADATA("+extAuthzFilter+":principalId)%")
			},
			want: true,
		},
		{
			name: "the portcullis cluster speaks HTTP/2 to port 50051",
			got: func(b *bootstrap) any {
				c := b.clusters["portcullis"]
				var opts httpv3.HttpProtocolOptions
				unpack(t, c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"], &opts)
				port := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
				return []any{opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil, port}
			},
			want: []any{true, uint32(50051)},
		},
		{
			// Pings faster than Portcullis's --grpc-keepalive-min-time (10s) would get the
			// connection closed with GOAWAY too_many_pings.
			name: "Envoy pings its Portcullis connections no faster than Portcullis allows",
			got: func(b *bootstrap) any {
				var opts httpv3.HttpProtocolOptions
				unpack(t, b.clusters["portcullis"].GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"], &opts)
				ka := opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions().GetConnectionKeepalive()
				return []any{ka.GetInterval().AsDuration() >= 10*time.Second, ka.GetTimeout().AsDuration() > 0}
			},
			want: []any{true, true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(b); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// routeByMatch finds the route whose path or prefix match is m; nil if none.
func routeByMatch(b *bootstrap, m string) *routev3.Route {
	for _, vh := range b.hcm.GetRouteConfig().GetVirtualHosts() {
		i := slices.IndexFunc(vh.GetRoutes(), func(r *routev3.Route) bool {
			return r.GetMatch().GetPath() == m || r.GetMatch().GetPrefix() == m
		})
		if i >= 0 {
			return vh.GetRoutes()[i]
		}
	}
	return nil
}

// perRoute is a route's ext_authz per-route config; empty when it has none.
func perRoute(t *testing.T, r *routev3.Route) *extauthzv3.ExtAuthzPerRoute {
	t.Helper()
	var per extauthzv3.ExtAuthzPerRoute
	if a, ok := r.GetTypedPerFilterConfig()[extAuthzFilter]; ok {
		unpack(t, a, &per)
	}
	return &per
}

func accessLogFormat(t *testing.T, b *bootstrap) string {
	t.Helper()
	var format strings.Builder
	for _, l := range b.hcm.GetAccessLog() {
		var stdout streamv3.StdoutAccessLog
		unpack(t, l.GetTypedConfig(), &stdout)
		format.WriteString(stdout.GetLogFormat().GetTextFormatSource().GetInlineString())
	}
	return format.String()
}
