package deploy

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	configKey       = "portcullis.yaml"
	configMountPath = "/etc/portcullis/config"
	grpcPort        = 50051
	adminPort       = 8181
)

// defaultObjects is what the chart renders with its default values.
func defaultObjects() []string {
	return []string{
		"ConfigMap/portcullis",
		"Deployment/portcullis",
		"HorizontalPodAutoscaler/portcullis",
		"PodDisruptionBudget/portcullis",
		"Service/portcullis",
		"Service/portcullis-headless",
		"ServiceAccount/portcullis",
	}
}

func TestChartRenders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		sets  []string
		want  []string // Kind/name of every rendered object
		check func(t *testing.T, m *manifests)
	}{
		{
			name:  "defaults: hardened autoscaled Deployment, Services, config, budget and account",
			want:  defaultObjects(),
			check: checkDefaults,
		},
		{
			name: "serviceMonitor.enabled scrapes /metrics on the admin port",
			sets: []string{"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus"},
			want: append(defaultObjects(), "ServiceMonitor/portcullis"),
			check: func(t *testing.T, m *manifests) {
				sm := m.serviceMonitor
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http-admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
					t.Errorf("endpoints = %+v, want http-admin /metrics", sm.Spec.Endpoints)
				}
				if !selects(sm.Spec.Selector.MatchLabels, m.services["portcullis"].Labels) {
					t.Errorf("selector %v does not pick the Service (labels %v)", sm.Spec.Selector.MatchLabels, m.services["portcullis"].Labels)
				}
				if sm.Labels["release"] != "prometheus" {
					t.Errorf("labels = %v, want the release label for the Prometheus selector", sm.Labels)
				}
			},
		},
		{
			name: "IRSA role annotation lands on the ServiceAccount the pod runs as",
			sets: []string{`serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::123456789012:role/portcullis`},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				if got := m.serviceAccount.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::123456789012:role/portcullis" {
					t.Errorf("role-arn annotation = %q", got)
				}
				if m.deployment.Spec.Template.Spec.ServiceAccountName != m.serviceAccount.Name {
					t.Errorf("pod runs as %q, not the annotated %q", m.deployment.Spec.Template.Spec.ServiceAccountName, m.serviceAccount.Name)
				}
			},
		},
		{
			name: "secretEnv entries become secretKeyRef environment variables",
			sets: []string{"secretEnv[0].name=AUTHZ_KEY", "secretEnv[0].secretName=authz", "secretEnv[0].key=api-key"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				env := envByName(m.deployment.Spec.Template.Spec.Containers[0].Env)
				ref := env["AUTHZ_KEY"].ValueFrom
				if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "authz" || ref.SecretKeyRef.Key != "api-key" {
					t.Errorf("AUTHZ_KEY = %+v, want secretKeyRef authz/api-key", env["AUTHZ_KEY"])
				}
			},
		},
		{
			name: "sharedCache.url adds the shared tier's flags and its secrets from Secrets; adminToken from a Secret",
			sets: []string{"sharedCache.url=rediss://cache.example.com:6379/0", "sharedCache.secret.secretName=portcullis-shared-cache",
				"sharedCache.password.secretName=redis-auth", "adminToken.secretName=portcullis-admin"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				c := m.deployment.Spec.Template.Spec.Containers[0]
				args := strings.Join(c.Args, " ")
				if !strings.Contains(args, "--shared-cache-url rediss://cache.example.com:6379/0") || !strings.Contains(args, "--shared-cache-timeout 50ms") {
					t.Errorf("args = %s", args)
				}
				env := envByName(c.Env)
				for name, want := range map[string][2]string{
					"PORTCULLIS_SHARED_CACHE_SECRET":   {"portcullis-shared-cache", "secret"},
					"PORTCULLIS_SHARED_CACHE_PASSWORD": {"redis-auth", "password"},
					"PORTCULLIS_ADMIN_TOKEN":           {"portcullis-admin", "token"},
				} {
					ref := env[name].ValueFrom
					if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != want[0] || ref.SecretKeyRef.Key != want[1] {
						t.Errorf("%s = %+v, want secretKeyRef %s/%s", name, env[name], want[0], want[1])
					}
				}
			},
		},
		{
			name: "autoscaling off pins replicaCount and renders no HPA",
			sets: []string{"autoscaling.enabled=false", "replicaCount=3"},
			want: without(defaultObjects(), "HorizontalPodAutoscaler/portcullis"),
			check: func(t *testing.T, m *manifests) {
				if r := m.deployment.Spec.Replicas; r == nil || *r != 3 {
					t.Errorf("replicas = %v, want 3", r)
				}
			},
		},
		{
			name: "an existing ServiceAccount is used and none is created",
			sets: []string{"serviceAccount.create=false", "serviceAccount.name=shared"},
			want: without(defaultObjects(), "ServiceAccount/portcullis"),
			check: func(t *testing.T, m *manifests) {
				if got := m.deployment.Spec.Template.Spec.ServiceAccountName; got != "shared" {
					t.Errorf("serviceAccountName = %q, want shared", got)
				}
			},
		},
		{
			name: "minAvailable takes the place of maxUnavailable",
			sets: []string{"podDisruptionBudget.minAvailable=50%"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				if s := m.pdb.Spec; s.MaxUnavailable != nil || s.MinAvailable == nil || *s.MinAvailable != intstr.FromString("50%") {
					t.Errorf("budget = min %v max %v, want min 50%% only", s.MinAvailable, s.MaxUnavailable)
				}
			},
		},
		{
			name: "image digest pins the image",
			sets: []string{"image.digest=sha256:" + strings.Repeat("ab", 32)},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				if got, want := m.deployment.Spec.Template.Spec.Containers[0].Image, "ghcr.io/portcullis-dev/portcullis@sha256:"+strings.Repeat("ab", 32); got != want {
					t.Errorf("image = %q, want %q", got, want)
				}
			},
		},
		{
			name: "headless off leaves the ClusterIP Service only",
			sets: []string{"service.headless=false"},
			want: without(defaultObjects(), "Service/portcullis-headless"),
		},
		{
			name: "ports follow the values in the pod, the probes and the flags",
			sets: []string{"service.grpcPort=9001", "service.adminPort=9002"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				c := m.deployment.Spec.Template.Spec.Containers[0]
				if ports := containerPorts(c); ports["grpc"] != 9001 || ports["http-admin"] != 9002 {
					t.Errorf("container ports = %v", ports)
				}
				for flag, want := range map[string]string{"--grpc-addr": ":9001", "--http-addr": ":9002"} {
					if got, _ := flagValue(c.Args, flag); got != want {
						t.Errorf("%s = %q, want %q", flag, got, want)
					}
				}
			},
		},
		{
			name: "forwardAuth.enabled exposes its port in the pod and the Service, probes unchanged",
			sets: []string{"forwardAuth.enabled=true", "forwardAuth.port=9300", "forwardAuth.mode=x-original",
				"forwardAuth.trustedProxies={10.0.0.0/8,fd00::/8}"},
			want:  defaultObjects(),
			check: checkForwardAuth,
		},
		{
			name: "forwardAuth in mode request passes Envoy's path prefix",
			sets: []string{"forwardAuth.enabled=true", "forwardAuth.pathPrefix=/authz"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				args := m.deployment.Spec.Template.Spec.Containers[0].Args
				for flag, want := range map[string]string{"--forward-auth-mode": "request", "--forward-auth-path-prefix": "/authz",
					"--forward-auth-trusted-proxies": "127.0.0.0/8,::1/128"} {
					if got, _ := flagValue(args, flag); got != want {
						t.Errorf("%s = %q, want %q", flag, got, want)
					}
				}
			},
		},
		{
			name: "config.source kubernetes: resources from the API in every namespace, through a ClusterRole",
			sets: []string{"config.source=kubernetes"},
			want: append(without(defaultObjects(), "ConfigMap/portcullis"), "ClusterRole/portcullis", "ClusterRoleBinding/portcullis"),
			check: func(t *testing.T, m *manifests) {
				checkKubernetesSource(t, m, "")
				checkRules(t, m.clusterRole.Rules)
				b := m.clusterBinding
				if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != m.clusterRole.Name {
					t.Errorf("binding refers to %+v, want ClusterRole %s", b.RoleRef, m.clusterRole.Name)
				}
				checkSubject(t, m, b.Subjects)
			},
		},
		{
			name: "config.watchNamespace: one namespace, through a Role there",
			sets: []string{"config.source=kubernetes", "config.watchNamespace=team-a"},
			want: append(without(defaultObjects(), "ConfigMap/portcullis"), "Role/portcullis", "RoleBinding/portcullis"),
			check: func(t *testing.T, m *manifests) {
				checkKubernetesSource(t, m, "team-a")
				checkRules(t, m.role.Rules)
				if m.role.Namespace != "team-a" || m.roleBinding.Namespace != "team-a" {
					t.Errorf("Role in %q, RoleBinding in %q, want both in team-a", m.role.Namespace, m.roleBinding.Namespace)
				}
				if r := m.roleBinding.RoleRef; r.Kind != "Role" || r.Name != m.role.Name {
					t.Errorf("binding refers to %+v, want Role %s", r, m.role.Name)
				}
				checkSubject(t, m, m.roleBinding.Subjects)
			},
		},
		{
			name: "extraArgs follow the chart's own flags",
			sets: []string{"extraArgs[0]=--max-inflight=20000"},
			want: defaultObjects(),
			check: func(t *testing.T, m *manifests) {
				args := m.deployment.Spec.Template.Spec.Containers[0].Args
				if args[len(args)-1] != "--max-inflight=20000" {
					t.Errorf("args = %q, want --max-inflight=20000 last", args)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := render(t, tc.sets...)
			if got := sorted(m.objects); !slices.Equal(got, sorted(tc.want)) {
				t.Fatalf("rendered %q, want %q", got, sorted(tc.want))
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// checkKubernetesSource checks the pod of config.source kubernetes: the flags, an API token to
// read resources with, and no config volume.
func checkKubernetesSource(t *testing.T, m *manifests, namespace string) {
	t.Helper()
	pod := m.deployment.Spec.Template.Spec
	args := pod.Containers[0].Args
	if v, _ := flagValue(args, "--config-source"); v != "kubernetes" {
		t.Errorf("--config-source = %q, want kubernetes", v)
	}
	if v, ok := flagValue(args, "--namespace"); v != namespace || (namespace == "" && ok) {
		t.Errorf("--namespace = %q, want %q", v, namespace)
	}
	if _, ok := flagValue(args, "--config"); ok {
		t.Errorf("args %q still name config files", args)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("the pod has no Kubernetes API token to read resources with")
	}
	if len(pod.Volumes) != 0 || len(pod.Containers[0].VolumeMounts) != 0 {
		t.Errorf("volumes %+v: want none without a ConfigMap", pod.Volumes)
	}
}

// checkRules: read the two kinds, write their status, nothing else.
func checkRules(t *testing.T, rules []rbacv1.PolicyRule) {
	t.Helper()
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"portcullis.dev"}, Resources: []string{"authorizers", "apis"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"portcullis.dev"}, Resources: []string{"authorizers/status", "apis/status"}, Verbs: []string{"get", "update", "patch"}},
	}
	if len(rules) != len(want) {
		t.Fatalf("rules %+v, want %+v", rules, want)
	}
	for i := range want {
		if !slices.Equal(rules[i].APIGroups, want[i].APIGroups) || !slices.Equal(rules[i].Resources, want[i].Resources) || !slices.Equal(rules[i].Verbs, want[i].Verbs) {
			t.Errorf("rule %d = %+v, want %+v", i, rules[i], want[i])
		}
	}
}

func checkSubject(t *testing.T, m *manifests, subjects []rbacv1.Subject) {
	t.Helper()
	sa := m.deployment.Spec.Template.Spec.ServiceAccountName
	if len(subjects) != 1 || subjects[0].Kind != "ServiceAccount" || subjects[0].Name != sa || subjects[0].Namespace != releaseNamespace {
		t.Errorf("subjects %+v, want the pod's ServiceAccount %s/%s", subjects, releaseNamespace, sa)
	}
}

// checkDefaults holds the chart's defaults to the deployment contract.
func checkDefaults(t *testing.T, m *manifests) {
	t.Helper()
	checkPodSecurity(t, m)
	checkContainer(t, m)
	checkConfigMount(t, m)
	checkServices(t, m)
	checkScaling(t, m)
}

func checkPodSecurity(t *testing.T, m *manifests) {
	t.Helper()
	pod := m.deployment.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod does not require a non-root user")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccomp profile is not RuntimeDefault")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod mounts a Kubernetes API token it never uses")
	}
	sc := pod.Containers[0].SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("root filesystem is writable")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("privilege escalation is allowed")
	}
	if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities = %+v, want all dropped and none added", sc)
	}
	for k := range m.deployment.Spec.Template.Annotations {
		if strings.HasPrefix(k, "checksum/") {
			t.Errorf("pod annotation %s restarts pods on config changes Portcullis reloads itself", k)
		}
	}
}

func checkContainer(t *testing.T, m *manifests) {
	t.Helper()
	c := m.deployment.Spec.Template.Spec.Containers[0]
	if ports := containerPorts(c); ports["grpc"] != grpcPort || ports["http-admin"] != adminPort || len(ports) != 2 {
		t.Errorf("container ports = %v, want grpc %d and http-admin %d", ports, grpcPort, adminPort)
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http-admin") {
			t.Errorf("%s probe = %+v, want GET %s on http-admin", p.name, p.probe, p.path)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("requests = %v, want cpu and memory", c.Resources.Requests)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("args = %q, want the serve command first", c.Args)
	}
	want := map[string]string{"--config": configMountPath, "--grpc-addr": ":50051", "--http-addr": ":8181", "--log-level": "info"}
	for flag, v := range want {
		if got, ok := flagValue(c.Args, flag); !ok || got != v {
			t.Errorf("%s = %q, want %q", flag, got, v)
		}
	}
	if env := envByName(c.Env); env["GOMEMLIMIT"].ValueFrom == nil || env["GOMEMLIMIT"].ValueFrom.ResourceFieldRef == nil {
		t.Error("GOMEMLIMIT does not follow the memory limit")
	}
}

func checkConfigMount(t *testing.T, m *manifests) {
	t.Helper()
	pod := m.deployment.Spec.Template.Spec
	var volume string
	for _, vm := range pod.Containers[0].VolumeMounts {
		if vm.MountPath == configMountPath && vm.ReadOnly {
			volume = vm.Name
		}
	}
	var source string
	for _, v := range pod.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			source = v.ConfigMap.Name
		}
	}
	if source == "" || source != m.configMap.Name {
		t.Errorf("%s mounts ConfigMap %q, want %q read-only", configMountPath, source, m.configMap.Name)
	}
	if keys := sorted(mapKeys(m.configMap.Data)); !slices.Equal(keys, []string{configKey}) {
		t.Errorf("ConfigMap keys = %q, want only %s", keys, configKey)
	}
}

func checkServices(t *testing.T, m *manifests) {
	t.Helper()
	podLabels := m.deployment.Spec.Template.Labels
	svc := m.services["portcullis"]
	want := map[string]struct {
		port     int32
		protocol string
	}{"grpc": {grpcPort, "grpc"}, "http-admin": {adminPort, "http"}}
	for _, p := range svc.Spec.Ports {
		w, ok := want[p.Name]
		if !ok || p.Port != w.port || p.TargetPort != intstr.FromString(p.Name) || p.AppProtocol == nil || *p.AppProtocol != w.protocol {
			t.Errorf("service port %+v, want %s %d appProtocol %s to the container port of that name", p, p.Name, w.port, w.protocol)
		}
		delete(want, p.Name)
	}
	if len(want) > 0 {
		t.Errorf("service lacks ports %v", want)
	}
	headless := m.services["portcullis-headless"]
	if headless.Spec.ClusterIP != corev1.ClusterIPNone || len(headless.Spec.Ports) != 1 || headless.Spec.Ports[0].Port != grpcPort {
		t.Errorf("headless service spec = %+v, want clusterIP None and the grpc port", headless.Spec)
	}
	for name, s := range m.services {
		if !selects(s.Spec.Selector, podLabels) {
			t.Errorf("service %s selector %v does not pick the pods (%v)", name, s.Spec.Selector, podLabels)
		}
	}
}

func checkScaling(t *testing.T, m *manifests) {
	t.Helper()
	if m.deployment.Spec.Replicas != nil {
		t.Error("replicas set while the HPA owns them")
	}
	hpa := m.hpa.Spec
	if hpa.ScaleTargetRef.Kind != "Deployment" || hpa.ScaleTargetRef.Name != m.deployment.Name || hpa.MinReplicas == nil || *hpa.MinReplicas < 2 {
		t.Errorf("HPA = %+v, want it to scale the Deployment from at least 2", hpa)
	}
	if len(hpa.Metrics) != 1 || hpa.Metrics[0].Resource == nil || hpa.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("HPA metrics = %+v, want CPU utilisation", hpa.Metrics)
	}
	if pdb := m.pdb.Spec; pdb.Selector == nil || !selects(pdb.Selector.MatchLabels, m.deployment.Spec.Template.Labels) || pdb.MaxUnavailable == nil {
		t.Errorf("PDB = %+v, want maxUnavailable over the Deployment's pods", pdb)
	}
}

func checkForwardAuth(t *testing.T, m *manifests) {
	t.Helper()
	c := m.deployment.Spec.Template.Spec.Containers[0]
	if ports := containerPorts(c); ports["http-authz"] != 9300 || ports["grpc"] != grpcPort || ports["http-admin"] != adminPort {
		t.Errorf("container ports = %v, want http-authz 9300 beside grpc and http-admin", ports)
	}
	for flag, want := range map[string]string{"--forward-auth-addr": ":9300", "--forward-auth-mode": "x-original",
		"--forward-auth-trusted-proxies": "10.0.0.0/8,fd00::/8"} {
		if got, ok := flagValue(c.Args, flag); !ok || got != want {
			t.Errorf("%s = %q, want %q", flag, got, want)
		}
	}
	if _, ok := flagValue(c.Args, "--forward-auth-path-prefix"); ok {
		t.Error("--forward-auth-path-prefix passed with no prefix set")
	}
	if c.ReadinessProbe.HTTPGet.Port != intstr.FromString("http-admin") || c.LivenessProbe.HTTPGet.Port != intstr.FromString("http-admin") {
		t.Error("probes moved off the admin port")
	}
	var found bool
	for _, p := range m.services["portcullis"].Spec.Ports {
		if p.Name == "http-authz" {
			found = p.Port == 9300 && p.TargetPort == intstr.FromString("http-authz") && p.AppProtocol != nil && *p.AppProtocol == "http"
		}
	}
	if !found {
		t.Errorf("service ports %+v, want http-authz 9300 to the container port, appProtocol http", m.services["portcullis"].Spec.Ports)
	}
}

// TestChartRefusesBadValues checks values.schema.json turns mistakes into helm errors rather
// than into manifests.
func TestChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sets []string
		want string // in helm's error
	}{
		{name: "misspelt top-level key", sets: []string{"serviceMonitr.enabled=true"}, want: "'serviceMonitr' not allowed"},
		{name: "secretEnv entry without a key", sets: []string{"secretEnv[0].name=AUTHZ_KEY", "secretEnv[0].secretName=authz"}, want: "missing property 'key'"},
		{name: "secretEnv name that is not an environment variable", sets: []string{"secretEnv[0].name=authz-key", "secretEnv[0].secretName=authz", "secretEnv[0].key=k"}, want: "/secretEnv/0/name"},
		{name: "log level the flag does not take", sets: []string{"logLevel=verbose"}, want: "/logLevel"},
		{name: "Api list holding an Authorizer", sets: []string{"config.apis[0].kind=Authorizer"}, want: "/config/apis/0/kind"},
		{name: "port out of range", sets: []string{"service.grpcPort=70000"}, want: "/service/grpcPort"},
		{name: "image digest that is not sha256", sets: []string{"image.digest=latest"}, want: "/image/digest"},
		{name: "decision log rate above 1", sets: []string{"decisionLogRate=2"}, want: "/decisionLogRate"},
		{name: "shared cache URL that is not redis", sets: []string{"sharedCache.url=http://cache:6379"}, want: "/sharedCache/url"},
		{name: "shared cache without its secret", sets: []string{"sharedCache.url=redis://cache:6379"}, want: "sharedCache.secret.secretName"},
		{name: "forward-auth mode the flag does not take", sets: []string{"forwardAuth.mode=envoy"}, want: "/forwardAuth/mode"},
		{name: "forward-auth path prefix ending in a slash", sets: []string{"forwardAuth.pathPrefix=/authz/"}, want: "/forwardAuth/pathPrefix"},
		{name: "config source that does not exist", sets: []string{"config.source=etcd"}, want: "/config/source"},
		{name: "watchNamespace that is not a namespace name", sets: []string{"config.source=kubernetes", "config.watchNamespace=Team_A"}, want: "/config/watchNamespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := helmTemplate(t, tc.sets...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("helm template error = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestChartLints runs `helm lint --strict` (which also renders NOTES.txt) with the optional
// parts off and on.
func TestChartLints(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sets []string
	}{
		{name: "defaults"},
		{name: "every optional part on", sets: []string{"serviceMonitor.enabled=true", "forwardAuth.enabled=true", "secretEnv[0].name=K", "secretEnv[0].secretName=s", "secretEnv[0].key=k",
			"sharedCache.url=redis://cache:6379/0", "sharedCache.secret.secretName=s", "sharedCache.password.secretName=p", "adminToken.secretName=a"}},
		{name: "resources from the Kubernetes API", sets: []string{"config.source=kubernetes", "config.watchNamespace=team-a"}},
		{name: "every optional part off", sets: []string{"autoscaling.enabled=false", "podDisruptionBudget.enabled=false", "serviceAccount.create=false", "service.headless=false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"lint", "--strict", chartDir(t), "--namespace", releaseNamespace}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			if out, err := exec.Command(helmPath(t), args...).CombinedOutput(); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
		})
	}
}

// TestChartFlagsAreServeFlags checks every flag the Deployment passes is one `portcullis
// serve` defines: an unknown flag would crash-loop every pod.
func TestChartFlagsAreServeFlags(t *testing.T) {
	t.Parallel()
	bin := portcullisPath(t)
	// Every optional flag the chart can pass, on.
	// `serve -h` prints the flags and exits 2, as the flag package does.
	usage, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	defined := map[string]bool{}
	for _, match := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllSubmatch(usage, -1) {
		defined[string(match[1])] = true
	}
	if !defined["config"] {
		t.Fatalf("no flags found in `portcullis serve -h`:\n%s", usage)
	}
	// Every optional flag the chart can pass, on.
	for _, sets := range [][]string{nil, {"config.source=kubernetes", "config.watchNamespace=team-a"},
		{"forwardAuth.enabled=true", "forwardAuth.pathPrefix=/authz", "sharedCache.url=redis://cache:6379/0", "sharedCache.secret.secretName=s"}} {
		m := render(t, sets...)
		for _, a := range m.deployment.Spec.Template.Spec.Containers[0].Args[1:] {
			name, isFlag := strings.CutPrefix(a, "--")
			if !isFlag {
				continue
			}
			name, _, _ = strings.Cut(name, "=")
			if !defined[name] {
				t.Errorf("with %q the chart passes --%s, which `portcullis serve` does not define", sets, name)
			}
		}
	}
}

func containerPorts(c corev1.Container) map[string]int32 {
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	return ports
}

func envByName(env []corev1.EnvVar) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range env {
		out[e.Name] = e
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func without(list []string, drop string) []string {
	return slices.DeleteFunc(list, func(s string) bool { return s == drop })
}
