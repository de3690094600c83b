package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3" // typed configs of the file
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	sigsyaml "sigs.k8s.io/yaml"
)

// envoyHTTPService is what envoy/envoy-http.yaml tells Envoy's ext_authz http_service to send
// and to copy: the test sends exactly that, since no Envoy binary can be installed here.
type envoyHTTPService struct {
	prefix        string
	request       []*matcherv3.StringMatcher // allowed_headers
	upstream      []*matcherv3.StringMatcher // allowed_upstream_headers
	client        []*matcherv3.StringMatcher // allowed_client_headers
	statusOnError int
	// rejectUnderscores: the connection manager refuses requests with '_' in a header name.
	rejectUnderscores bool
}

var (
	envoyHTTPOnce sync.Once
	envoyHTTPConf *envoyHTTPService
	envoyHTTPErr  error
)

// envoyHTTP reads envoy/envoy-http.yaml's ext_authz filter.
func envoyHTTP(t *testing.T) *envoyHTTPService {
	t.Helper()
	envoyHTTPOnce.Do(func() { envoyHTTPConf, envoyHTTPErr = readEnvoyHTTP("../../envoy/envoy-http.yaml") })
	if envoyHTTPErr != nil {
		t.Fatal(envoyHTTPErr)
	}
	return envoyHTTPConf
}

func readEnvoyHTTP(file string) (*envoyHTTPService, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	js, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		return nil, err
	}
	for _, f := range hcm.GetHttpFilters() {
		var a extauthzv3.ExtAuthz
		if f.GetName() != "envoy.filters.http.ext_authz" {
			continue
		}
		if err := f.GetTypedConfig().UnmarshalTo(&a); err != nil {
			return nil, err
		}
		hs := a.GetHttpService()
		return &envoyHTTPService{
			rejectUnderscores: hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction() == corev3.HttpProtocolOptions_REJECT_REQUEST,
			prefix:            hs.GetPathPrefix(),
			request:           a.GetAllowedHeaders().GetPatterns(),
			upstream:          hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns(),
			client:            hs.GetAuthorizationResponse().GetAllowedClientHeaders().GetPatterns(),
			statusOnError:     int(a.GetStatusOnError().GetCode()),
		}, nil
	}
	return nil, fmt.Errorf("%s: no ext_authz filter", file)
}

// matches is Envoy's StringMatcher on a lower-case header name, for the kinds the file uses.
func matches(ms []*matcherv3.StringMatcher, name string) bool {
	return slices.ContainsFunc(ms, func(m *matcherv3.StringMatcher) bool {
		switch p := m.GetMatchPattern().(type) {
		case *matcherv3.StringMatcher_Exact:
			return name == p.Exact
		case *matcherv3.StringMatcher_Prefix:
			return strings.HasPrefix(name, p.Prefix)
		}
		panic(fmt.Sprintf("matcher %v: not read by this test", m))
	})
}

// startEnvoyHTTP serves, in front of upstream, what Envoy does with envoy-http.yaml's ext_authz
// http_service: it refuses header names with '_' when the file says so; it asks Portcullis at authAddr with the original method, the prefix and the
// original path and query, Host, Authorization and the allowed headers (x-forwarded-for with the
// peer appended, a fresh x-request-id and x-forwarded-proto, as an edge Envoy); on 200 it sets the allowed upstream
// headers, then removes x-envoy-auth-headers-to-remove, and proxies; on any other status the
// client gets it, with the allowed client headers, except that a 5xx becomes status_on_error.
// Envoy's own path normalization is not repeated: Portcullis gets the raw path, its own defence.
func startEnvoyHTTP(t *testing.T, authAddr, upstream string) string {
	conf := envoyHTTP(t)
	// The test config's REQUEST authorizer reads x-who: added as the file says to add every
	// header an authorizer reads.
	allowed := append(slices.Clone(conf.request), &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "x-who"}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.Header {
			if conf.rejectUnderscores && strings.Contains(name, "_") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
		}
		peer, _, _ := net.SplitHostPort(r.RemoteAddr)
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			r.Header.Set("X-Forwarded-For", xff+", "+peer)
		} else {
			r.Header.Set("X-Forwarded-For", peer)
		}
		r.Header.Set("X-Request-Id", uuid.NewString())
		r.Header.Set("X-Forwarded-Proto", "http") // an edge Envoy's own, over the client's
		var lines []string
		for name, vs := range r.Header {
			if lower := strings.ToLower(name); lower == "authorization" || matches(allowed, lower) {
				lines = append(lines, lower+": "+strings.Join(vs, ","))
			}
		}
		authz, err := rawRoundTrip(authAddr, r.Method+" "+conf.prefix+r.RequestURI, r.Host, lines)
		if err != nil {
			http.Error(w, err.Error(), conf.statusOnError)
			return
		}
		if authz.status != http.StatusOK {
			if authz.status >= 500 {
				w.WriteHeader(conf.statusOnError)
				return
			}
			for name, vs := range authz.header {
				if matches(conf.client, strings.ToLower(name)) {
					w.Header()[name] = vs
				}
			}
			w.WriteHeader(authz.status)
			io.WriteString(w, authz.body)
			return
		}
		for name, vs := range authz.header {
			if matches(conf.upstream, strings.ToLower(name)) {
				r.Header[name] = vs
			}
		}
		if remove := authz.header.Get("x-envoy-auth-headers-to-remove"); remove != "" {
			for _, name := range strings.Split(remove, ",") {
				r.Header.Del(strings.TrimSpace(name))
			}
		}
		lines = lines[:0]
		for name, vs := range r.Header {
			lines = append(lines, name+": "+strings.Join(vs, ","))
		}
		resp, err := rawRoundTrip(upstream, r.Method+" "+r.RequestURI, r.Host, lines)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(resp.status)
		io.WriteString(w, resp.body)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// rawRoundTrip sends one request with the target exactly as given.
func rawRoundTrip(addr, methodAndTarget, host string, headers []string) (*httpAnswer, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s HTTP/1.1\r\nHost: %s\r\n", methodAndTarget, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\nConnection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return &httpAnswer{status: resp.StatusCode, header: resp.Header, body: string(body)}, err
}
