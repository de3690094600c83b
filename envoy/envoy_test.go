// Package envoy holds the Envoy and Istio examples; its tests prove them against Envoy's own
// protos (go-control-plane) and strict schemas, since no Envoy binary runs here.
package envoy

import (
	"bytes"
	"os"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"
	sigsyaml "sigs.k8s.io/yaml"
)

func loadBootstrap(t *testing.T) *bootstrapv3.Bootstrap {
	t.Helper()
	raw, err := os.ReadFile("envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, &b); err != nil {
		t.Fatalf("envoy.yaml is not a valid Bootstrap: %v", err)
	}
	if err := b.ValidateAll(); err != nil {
		t.Fatalf("envoy.yaml fails Envoy's validation rules: %v", err)
	}
	return &b
}

func TestBootstrapIsValid(t *testing.T) {
	b := loadBootstrap(t)
	var hcm hcmv3.HttpConnectionManager
	if err := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	if !hcm.GetNormalizePath().GetValue() || !hcm.GetMergeSlashes() ||
		hcm.GetPathWithEscapedSlashesAction() != hcmv3.HttpConnectionManager_REJECT_REQUEST {
		t.Error("path normalization settings that must accompany Portcullis are missing")
	}
	var authz extauthzv3.ExtAuthz
	if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&authz); err != nil {
		t.Fatalf("first HTTP filter is not ext_authz: %v", err)
	}
	if authz.GetFailureModeAllow() {
		t.Error("failure_mode_allow must be false: Portcullis fails closed")
	}
	if got := authz.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != "portcullis" {
		t.Errorf("ext_authz cluster = %q", got)
	}
	if got := authz.GetGrpcService().GetTimeout().AsDuration(); got <= 0 || got > time.Second {
		t.Errorf("ext_authz timeout = %v", got)
	}
	if authz.GetWithRequestBody() != nil {
		t.Error("the body is sent, though Portcullis never reads it")
	}
	if hcm.GetHttpFilters()[len(hcm.GetHttpFilters())-1].GetName() != "envoy.filters.http.router" {
		t.Error("the router must be the last filter")
	}
	checkRoutes(t, hcm.GetRouteConfig())
	checkPortcullisCluster(t, b)
}

func checkRoutes(t *testing.T, rc *routev3.RouteConfiguration) {
	t.Helper()
	var disabled, extensions bool
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		cfg, ok := r.GetTypedPerFilterConfig()["envoy.filters.http.ext_authz"]
		if !ok {
			continue
		}
		var per extauthzv3.ExtAuthzPerRoute
		if err := cfg.UnmarshalTo(&per); err != nil {
			t.Fatal(err)
		}
		if per.GetDisabled() {
			disabled = true
		}
		if ext := per.GetCheckSettings().GetContextExtensions(); ext["api"] != "" && ext["authorizer"] != "" {
			extensions = true
		}
	}
	if !disabled || !extensions {
		t.Errorf("want a route with ext_authz disabled (%v) and one naming api and authorizer (%v)", disabled, extensions)
	}
}

func checkPortcullisCluster(t *testing.T, b *bootstrapv3.Bootstrap) {
	t.Helper()
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != "portcullis" {
			continue
		}
		if _, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; !ok {
			t.Error("the portcullis cluster must speak HTTP/2 (gRPC)")
		}
		return
	}
	t.Error("no portcullis cluster")
}

// The Istio files are checked against strict mirrors of the fields they use.
type meshConfigMap struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   map[string]string `yaml:"metadata"`
	Data       struct {
		Mesh string `yaml:"mesh"`
	} `yaml:"data"`
}

type meshConfig struct {
	ExtensionProviders []struct {
		Name              string `yaml:"name"`
		EnvoyExtAuthzGrpc struct {
			Service       string `yaml:"service"`
			Port          int    `yaml:"port"`
			Timeout       string `yaml:"timeout"`
			FailOpen      bool   `yaml:"failOpen"`
			StatusOnError string `yaml:"statusOnError"`
		} `yaml:"envoyExtAuthzGrpc"`
	} `yaml:"extensionProviders"`
}

type authorizationPolicy struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   map[string]string `yaml:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Action   string `yaml:"action"`
		Provider struct {
			Name string `yaml:"name"`
		} `yaml:"provider"`
		Rules []struct {
			To []struct {
				Operation struct {
					Paths    []string `yaml:"paths"`
					NotPaths []string `yaml:"notPaths"`
				} `yaml:"operation"`
			} `yaml:"to"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

func strict(t *testing.T, data []byte, into any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		t.Fatal(err)
	}
}

func TestIstioFiles(t *testing.T) {
	raw, err := os.ReadFile("istio/mesh-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm meshConfigMap
	strict(t, raw, &cm)
	var mesh meshConfig
	strict(t, []byte(cm.Data.Mesh), &mesh)
	p := mesh.ExtensionProviders[0]
	if p.Name != "portcullis" || p.EnvoyExtAuthzGrpc.Port != 50051 || p.EnvoyExtAuthzGrpc.FailOpen ||
		p.EnvoyExtAuthzGrpc.Service != "portcullis.portcullis.svc.cluster.local" {
		t.Errorf("extension provider = %+v", p)
	}
	raw, err = os.ReadFile("istio/authorization-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ap authorizationPolicy
	strict(t, raw, &ap)
	if ap.APIVersion != "security.istio.io/v1" || ap.Kind != "AuthorizationPolicy" || ap.Spec.Action != "CUSTOM" ||
		ap.Spec.Provider.Name != p.Name {
		t.Errorf("authorization policy = %+v", ap)
	}
}
