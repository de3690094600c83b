// Package deploy holds the Kubernetes manifests: the CRDs generated from api/v1alpha1 and the
// Helm chart. Its tests render the chart with the pinned helm and decode every manifest into its
// Kubernetes API type with unknown fields rejected.
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// tool finds a pinned tool in ./bin; CI must have it (make test installs it), a developer
// without it is told how to get it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "bin", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing under CI: make test installs it (make test-tools)", p)
		}
		t.Skipf("%s not installed: run make test-tools", p)
	}
	return p
}

// render runs helm template with extra --set values and returns the manifests by kind.
func render(t *testing.T, sets ...string) map[string][]byte {
	t.Helper()
	args := []string{"template", "portcullis", filepath.Join(repoRoot(t), "deploy/helm/portcullis"), "--namespace", "portcullis"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := exec.Command(tool(t, "helm"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	docs := map[string][]byte{}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var meta struct{ Kind string }
		if err := sigsyaml.Unmarshal(doc, &meta); err != nil || meta.Kind == "" {
			continue
		}
		docs[meta.Kind] = doc
	}
	return docs
}

// strict decodes a manifest into its API type, refusing any field the type does not have.
func strict(t *testing.T, doc []byte, into any) {
	t.Helper()
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%T: %v\n%s", into, err, doc)
	}
}

func TestChartRendersValidManifests(t *testing.T) {
	docs := render(t, "serviceMonitor.enabled=true", "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/portcullis",
		"secretEnv[0].name=AUTHZ_KEY", "secretEnv[0].secretName=authz", "secretEnv[0].key=api-key")
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceMonitor"} {
		if docs[kind] == nil {
			t.Errorf("chart renders no %s", kind)
		}
	}
	var dep appsv1.Deployment
	strict(t, docs["Deployment"], &dep)
	checkDeployment(t, &dep)
	var svc corev1.Service
	strict(t, docs["Service"], &svc)
	if svc.Spec.Ports[0].Name != "grpc" || svc.Spec.Ports[0].Port != 50051 || *svc.Spec.Ports[0].AppProtocol != "grpc" {
		t.Errorf("service ports = %+v", svc.Spec.Ports)
	}
	var sa corev1.ServiceAccount
	strict(t, docs["ServiceAccount"], &sa)
	if sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
		t.Error("IRSA annotation not rendered")
	}
	var pdb policyv1.PodDisruptionBudget
	strict(t, docs["PodDisruptionBudget"], &pdb)
	var hpa autoscalingv2.HorizontalPodAutoscaler
	strict(t, docs["HorizontalPodAutoscaler"], &hpa)
	var sm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Selector  struct{ MatchLabels map[string]string } `json:"selector"`
			Endpoints []struct {
				Port, Path, Interval string
			} `json:"endpoints"`
		} `json:"spec"`
	}
	strict(t, docs["ServiceMonitor"], &sm)
	if sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Port != "http-admin" {
		t.Errorf("service monitor = %+v", sm.Spec)
	}
}

func checkDeployment(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("pod does not run as non-root")
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context = %+v", sc)
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("probes must be /healthz (liveness) and /readyz (readiness)")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Error("no resource requests")
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["grpc"] != 50051 || ports["http-admin"] != 8181 {
		t.Errorf("container ports = %v", ports)
	}
	if !contains(c.Args, "--config=/etc/portcullis/config") || c.VolumeMounts[0].MountPath != "/etc/portcullis/config" {
		t.Errorf("config not mounted where --config points: %v %v", c.Args, c.VolumeMounts)
	}
	if len(c.Env) != 1 || c.Env[0].ValueFrom.SecretKeyRef.Name != "authz" {
		t.Errorf("secret env = %+v", c.Env)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDefaultConfigMapValidates runs the binary's validate on the config the chart renders from
// its default values.
func TestDefaultConfigMapValidates(t *testing.T) {
	docs := render(t)
	var cm corev1.ConfigMap
	strict(t, docs["ConfigMap"], &cm)
	p := filepath.Join(t.TempDir(), "portcullis.yaml")
	if err := os.WriteFile(p, []byte(cm.Data["portcullis.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "portcullis")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(repoRoot(t), "cmd/portcullis")).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "validate", "--config", p).CombinedOutput()
	if err != nil {
		t.Fatalf("portcullis validate on the chart's ConfigMap: %v\n%s\n%s", err, out, cm.Data["portcullis.yaml"])
	}
}

// TestCRDsAreCurrent regenerates the CRDs from api/v1alpha1 and compares them with the
// committed ones: `make generate` after changing the types.
func TestCRDsAreCurrent(t *testing.T) {
	gen := tool(t, "controller-gen")
	out := t.TempDir()
	cmd := exec.Command(gen, "crd", "paths=./api/...", "output:crd:dir="+out)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}
	fresh, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(fresh) == 0 {
		t.Fatal("controller-gen wrote no CRD")
	}
	for _, f := range fresh {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/crds", filepath.Base(f)))
		if errors.Is(err, os.ErrNotExist) || !bytes.Equal(got, want) {
			t.Errorf("deploy/crds/%s is stale: run make generate", filepath.Base(f))
		}
	}
}
