package envoy

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// envoy-http.yaml is the http_service variant: Envoy asks Portcullis's forward-auth front.
func TestHTTPServiceBootstrapIsValid(t *testing.T) {
	b := loadBootstrapFile(t, "envoy-http.yaml")
	// The connection manager, ext_authz, the health route's per-route config, the router and the
	// access log.
	const want = 5
	if n, err := validateAll(b.proto); err != nil || n != want {
		t.Errorf("validated %d typed configs (%v), want %d: a typed config went unchecked", n, err, want)
	}
}

func TestHTTPServiceSettings(t *testing.T) {
	b := loadBootstrapFile(t, "envoy-http.yaml")
	hs := b.authz.GetHttpService()
	patterns := func(ms []*matcherv3.StringMatcher) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.GetExact()+m.GetPrefix()+"|"+map[bool]string{true: "prefix", false: "exact"}[m.GetPrefix() != ""])
		}
		return out
	}
	cases := []struct {
		name string
		got  func() any
		want any
	}{
		{
			name: "asks the portcullis_http cluster at Portcullis's forward-auth port, in half a second",
			got: func() any {
				c := b.clusters[hs.GetServerUri().GetCluster()]
				port := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
				return []any{hs.GetServerUri().GetCluster(), hs.GetServerUri().GetUri(), port, hs.GetServerUri().GetTimeout().AsDuration()}
			},
			want: []any{"portcullis_http", "http://portcullis:9191", uint32(9191), 500 * time.Millisecond},
		},
		{
			name: "the path prefix is the one the comment tells Portcullis to strip",
			got: func() any {
				return []any{hs.GetPathPrefix(), strings.Contains(headerComment(t), "--forward-auth-path-prefix "+hs.GetPathPrefix())}
			},
			want: []any{"/authz", true},
		},
		{
			name: "client-sent x-authorizer-* headers reach Portcullis, so that it can name them for removal",
			got:  func() any { return patterns(b.authz.GetAllowedHeaders().GetPatterns()) },
			want: []string{"x-request-id|exact", "user-agent|exact", "x-forwarded-for|exact", "x-forwarded-proto|exact", "x-authorizer-|prefix"},
		},
		{
			name: "the upstream gets the answer's x-authorizer-* headers, nothing else",
			got:  func() any { return patterns(hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns()) },
			want: []string{"x-authorizer-|prefix"},
		},
		{
			name: "the client gets a denial's content type, challenge, error type and request id",
			got:  func() any { return patterns(hs.GetAuthorizationResponse().GetAllowedClientHeaders().GetPatterns()) },
			want: []string{"content-type|exact", "www-authenticate|exact", "x-amzn-errortype|exact", "x-amzn-requestid|exact", "location|exact"},
		},
		{
			name: "fails closed, a Portcullis 5xx answered 500",
			got:  func() any { return []any{b.authz.GetFailureModeAllow(), b.authz.GetStatusOnError().GetCode()} },
			want: []any{false, typev3.StatusCode_InternalServerError},
		},
		{
			name: "Portcullis and the upstream see one path; underscored headers refused",
			got: func() any {
				return []any{b.hcm.GetNormalizePath().GetValue(), b.hcm.GetMergeSlashes(), b.hcm.GetPathWithEscapedSlashesAction().String(),
					b.hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction().String(), b.hcm.GetUseRemoteAddress().GetValue()}
			},
			want: []any{true, true, "REJECT_REQUEST", "REJECT_REQUEST", true},
		},
		{
			name: "no per-route context_extensions: http_service cannot send them",
			got: func() any {
				for _, vh := range b.hcm.GetRouteConfig().GetVirtualHosts() {
					for _, r := range vh.GetRoutes() {
						if len(perRoute(t, r).GetCheckSettings().GetContextExtensions()) > 0 {
							return true
						}
					}
				}
				return false
			},
			want: false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// headerComment is envoy-http.yaml's opening comment, which says how to run Portcullis for it.
func headerComment(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("envoy-http.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		b.WriteString(strings.TrimPrefix(line, "#"))
	}
	return b.String()
}
