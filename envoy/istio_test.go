package envoy

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// The Service the Helm chart creates for release "portcullis" in namespace "portcullis", which
// the Istio examples point at.
const (
	chartServiceFQDN = "portcullis.portcullis.svc.cluster.local"
	providerName     = "portcullis"
)

// istioObject is a Kubernetes object whose spec is an Istio API proto; spec is decoded by
// protojson, which refuses unknown fields.
type istioObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              json.RawMessage `json:"spec"`
}

// istioOperator mirrors the IstioOperator fields istio-operator.yaml uses; its meshConfig is
// decoded as Istio's MeshConfig proto.
type istioOperator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		MeshConfig json.RawMessage `json:"meshConfig"`
	} `json:"spec"`
}

// strictObject decodes a one-document Kubernetes manifest with unknown fields refused.
func strictObject(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// strictProto decodes JSON (or YAML) into an Istio API proto with unknown fields refused.
func strictProto(t *testing.T, what string, data []byte, into proto.Message) {
	t.Helper()
	js, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, into); err != nil {
		t.Fatalf("%s is not a valid %s: %v", what, into.ProtoReflect().Descriptor().FullName(), err)
	}
}

// TestIstioExtensionProvider checks both ways of registering Portcullis with Istio name the
// chart's Service, fail closed and bound the check.
func TestIstioExtensionProvider(t *testing.T) {
	cases := []struct {
		name string
		mesh func(t *testing.T) []byte
	}{
		{name: "istio ConfigMap", mesh: func(t *testing.T) []byte {
			var cm corev1.ConfigMap
			strictObject(t, "istio/mesh-config.yaml", &cm)
			if cm.Name != "istio" || cm.Namespace != "istio-system" {
				t.Errorf("ConfigMap %s/%s, want istio-system/istio, the one istiod reads", cm.Namespace, cm.Name)
			}
			return []byte(cm.Data["mesh"])
		}},
		{name: "IstioOperator meshConfig", mesh: func(t *testing.T) []byte {
			var op istioOperator
			strictObject(t, "istio/istio-operator.yaml", &op)
			if op.APIVersion != "install.istio.io/v1alpha1" || op.Kind != "IstioOperator" {
				t.Errorf("%s %s, want install.istio.io/v1alpha1 IstioOperator", op.APIVersion, op.Kind)
			}
			return op.Spec.MeshConfig
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mesh meshv1alpha1.MeshConfig
			strictProto(t, tc.name, tc.mesh(t), &mesh)
			providers := mesh.GetExtensionProviders()
			if len(providers) != 1 || providers[0].GetName() != providerName {
				t.Fatalf("extension providers %v, want one named %s", providers, providerName)
			}
			grpc := providers[0].GetEnvoyExtAuthzGrpc()
			if grpc.GetService() != chartServiceFQDN || grpc.GetPort() != 50051 {
				t.Errorf("provider sends to %s:%d, want %s:50051", grpc.GetService(), grpc.GetPort(), chartServiceFQDN)
			}
			if grpc.GetFailOpen() {
				t.Error("failOpen: true lets requests through when Portcullis cannot answer")
			}
			if d := grpc.GetTimeout().AsDuration(); d != 500*time.Millisecond {
				t.Errorf("timeout %v, want 0.5s as in envoy.yaml", d)
			}
		})
	}
}

func TestIstioAuthorizationPolicy(t *testing.T) {
	var obj istioObject
	strictObject(t, "istio/authorization-policy.yaml", &obj)
	if obj.APIVersion != "security.istio.io/v1" || obj.Kind != "AuthorizationPolicy" {
		t.Errorf("%s %s, want security.istio.io/v1 AuthorizationPolicy", obj.APIVersion, obj.Kind)
	}
	var policy securityv1beta1.AuthorizationPolicy
	strictProto(t, "authorization-policy.yaml spec", obj.Spec, &policy)
	if policy.GetAction() != securityv1beta1.AuthorizationPolicy_CUSTOM || policy.GetProvider().GetName() != providerName {
		t.Errorf("action %v provider %q, want CUSTOM with provider %s", policy.GetAction(), policy.GetProvider().GetName(), providerName)
	}
	if len(policy.GetSelector().GetMatchLabels()) == 0 {
		t.Error("no workload selector: a CUSTOM policy without one applies to every workload in the namespace")
	}
}

// TestIstioPeerCertificate checks the EnvoyFilter patches Istio's ext_authz filter on the
// ingress gateway, and that its value is a valid ExtAuthz (go-control-plane's proto and
// validation rules) that turns include_peer_certificate on and nothing else.
func TestIstioPeerCertificate(t *testing.T) {
	var obj istioObject
	strictObject(t, "istio/peer-certificate.yaml", &obj)
	if obj.APIVersion != "networking.istio.io/v1alpha3" || obj.Kind != "EnvoyFilter" {
		t.Errorf("%s %s, want networking.istio.io/v1alpha3 EnvoyFilter", obj.APIVersion, obj.Kind)
	}
	var filter networkingv1alpha3.EnvoyFilter
	strictProto(t, "peer-certificate.yaml spec", obj.Spec, &filter)
	if len(filter.GetWorkloadSelector().GetLabels()) == 0 {
		t.Error("no workload selector: the patch would apply to every proxy in the namespace")
	}
	patches := filter.GetConfigPatches()
	if len(patches) != 1 {
		t.Fatalf("%d patches, want 1", len(patches))
	}
	p := patches[0]
	sub := p.GetMatch().GetListener().GetFilterChain().GetFilter()
	if p.GetApplyTo() != networkingv1alpha3.EnvoyFilter_HTTP_FILTER || p.GetMatch().GetContext() != networkingv1alpha3.EnvoyFilter_GATEWAY ||
		sub.GetName() != "envoy.filters.network.http_connection_manager" || sub.GetSubFilter().GetName() != extAuthzFilter {
		t.Errorf("patch applies to %v %v %s/%s, want the gateway's %s HTTP filter",
			p.GetApplyTo(), p.GetMatch().GetContext(), sub.GetName(), sub.GetSubFilter().GetName(), extAuthzFilter)
	}
	if p.GetPatch().GetOperation() != networkingv1alpha3.EnvoyFilter_Patch_MERGE {
		t.Errorf("operation %v, want MERGE: anything else replaces the provider's settings", p.GetPatch().GetOperation())
	}
	typed, err := p.GetPatch().GetValue().GetFields()["typed_config"].GetStructValue().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var a anypb.Any
	if err := protojson.Unmarshal(typed, &a); err != nil {
		t.Fatalf("typed_config: %v", err)
	}
	authz := &extauthzv3.ExtAuthz{}
	if err := a.UnmarshalTo(authz); err != nil {
		t.Fatalf("typed_config is not an ExtAuthz: %v", err)
	}
	if !authz.GetIncludePeerCertificate() || !proto.Equal(authz, &extauthzv3.ExtAuthz{IncludePeerCertificate: true}) {
		t.Errorf("patch merges %v, want include_peer_certificate alone", authz)
	}
}

// TestIstioDecodingRefusesUnknownFields proves the decoding above fails on a misspelt field.
func TestIstioDecodingRefusesUnknownFields(t *testing.T) {
	cases := []struct {
		name string
		data string
		into proto.Message
	}{
		{name: "mesh config", data: "extensionProviders: [{name: p, envoyExtAuthzGrpc: {service: s, port: 1, failopen: false}}]", into: &meshv1alpha1.MeshConfig{}},
		{name: "authorization policy", data: "action: CUSTOM\nprovder: {name: p}", into: &securityv1beta1.AuthorizationPolicy{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			js, err := sigsyaml.YAMLToJSON([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if err := protojson.Unmarshal(js, tc.into); err == nil {
				t.Error("a misspelt field was accepted")
			}
		})
	}
}
