package deploy

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// The release the chart is rendered as: with the chart's name as release name, every object
// is called "portcullis", as the Envoy and Istio examples expect.
const (
	releaseName      = "portcullis"
	releaseNamespace = "portcullis"
)

// serviceMonitor mirrors the fields of the Prometheus Operator's monitoring.coreos.com/v1
// ServiceMonitor the chart uses, so that anything else it renders is refused.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// manifests is a rendered chart, each document decoded into its API type.
type manifests struct {
	deployment     *appsv1.Deployment
	services       map[string]*corev1.Service
	configMap      *corev1.ConfigMap
	serviceAccount *corev1.ServiceAccount
	pdb            *policyv1.PodDisruptionBudget
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	serviceMonitor *serviceMonitor
	role           *rbacv1.Role
	roleBinding    *rbacv1.RoleBinding
	clusterRole    *rbacv1.ClusterRole
	clusterBinding *rbacv1.ClusterRoleBinding
	objects        []string // "Kind/name" of every document, in order
}

func chartDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "deploy", "helm", "portcullis")
}

// helmTemplate renders the chart with extra --set values.
func helmTemplate(t *testing.T, sets ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", releaseName, chartDir(t), "--namespace", releaseNamespace}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(helmPath(t), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %w: %s", strings.Join(sets, " "), err, stderr.Bytes())
	}
	return out, nil
}

// render renders the chart and decodes every document strictly.
func render(t *testing.T, sets ...string) *manifests {
	t.Helper()
	out, err := helmTemplate(t, sets...)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{services: map[string]*corev1.Service{}}
	for _, doc := range splitDocuments(out) {
		if err := m.add(doc); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
	}
	return m
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments cuts a YAML stream at its `---` lines and drops documents that hold only
// comments or nothing.
func splitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	for _, part := range documentSeparator.Split(string(stream), -1) {
		var v any
		if err := sigsyaml.Unmarshal([]byte(part), &v); err == nil && v == nil {
			continue
		}
		docs = append(docs, []byte(part))
	}
	return docs
}

// add decodes one manifest into the API type its apiVersion and kind name.
func (m *manifests) add(doc []byte) error {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(doc, &head); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	m.objects = append(m.objects, head.Kind+"/"+head.Metadata.Name)
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		return decodeOnce(doc, &m.deployment)
	case "v1 Service":
		var svc *corev1.Service
		if err := decodeOnce(doc, &svc); err != nil {
			return err
		}
		m.services[svc.Name] = svc
		return nil
	case "v1 ConfigMap":
		return decodeOnce(doc, &m.configMap)
	case "v1 ServiceAccount":
		return decodeOnce(doc, &m.serviceAccount)
	case "policy/v1 PodDisruptionBudget":
		return decodeOnce(doc, &m.pdb)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decodeOnce(doc, &m.hpa)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return decodeOnce(doc, &m.serviceMonitor)
	case "rbac.authorization.k8s.io/v1 Role":
		return decodeOnce(doc, &m.role)
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return decodeOnce(doc, &m.roleBinding)
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		return decodeOnce(doc, &m.clusterRole)
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		return decodeOnce(doc, &m.clusterBinding)
	}
	return fmt.Errorf("the chart renders %s %s, which the tests do not know", head.APIVersion, head.Kind)
}

// decodeOnce decodes doc strictly (unknown and duplicate fields are errors) into a new value,
// refusing a second document of the same kind.
func decodeOnce[T any](doc []byte, into **T) error {
	if *into != nil {
		return fmt.Errorf("%T rendered twice", *into)
	}
	v := new(T)
	if err := sigsyaml.UnmarshalStrict(doc, v); err != nil {
		return fmt.Errorf("%T: %w", v, err)
	}
	*into = v
	return nil
}

// TestStrictDecodingRefusesWhatKubernetesWouldNot proves the decoding the chart tests rely on
// fails on the mistakes a template makes.
func TestStrictDecodingRefusesWhatKubernetesWouldNot(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "misspelt field",
			doc:  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {prots: []}\n",
			want: `unknown field "prots"`,
		},
		{
			name: "field at the wrong level",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {readOnlyRootFilesystem: true}}}\n",
			want: "readOnlyRootFilesystem",
		},
		{
			name: "duplicate key",
			doc:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: a}\ndata: {k: b}\n",
			want: `key "data" already set`,
		},
		{
			name: "kind the tests do not know",
			doc:  "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n",
			want: "do not know",
		},
		{
			name: "wrong type",
			doc:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: two}\n",
			want: "replicas",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &manifests{services: map[string]*corev1.Service{}}
			err := m.add([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestSplitDocuments checks the stream splitting the chart and config tests share.
func TestSplitDocuments(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   int
	}{
		{name: "helm output with source comments", stream: "---\n# Source: a.yaml\nkind: A\n---\n# Source: b.yaml\nkind: B\n", want: 2},
		{name: "comment-only and empty documents are dropped", stream: "# header\n---\n\n---\nkind: A\n---\n# nothing\n", want: 1},
		{name: "a dash line inside a block scalar is not a separator when indented", stream: "kind: A\ndata:\n  f: |\n    ---\n    x: 1\n", want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(splitDocuments([]byte(tc.stream))); got != tc.want {
				t.Errorf("documents = %d, want %d", got, tc.want)
			}
		})
	}
}

// selects reports whether a label selector's matchLabels pick the pod labels.
func selects(selector map[string]string, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// flagValue returns the value given to a flag in args, as "--name value" or "--name=value".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
