// Package kube drives the built portcullis binary with --config-source kubernetes against a
// real Kubernetes API server with no cluster: the apiextensions-apiserver and an embedded etcd,
// both as processes on loopback (see ./etcd).
package kube

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/portcullis-dev/portcullis/test/testenv"
)

var (
	authorizersGVR = schema.GroupVersionResource{Group: "portcullis.dev", Version: "v1alpha1", Resource: "authorizers"}
	apisGVR        = schema.GroupVersionResource{Group: "portcullis.dev", Version: "v1alpha1", Resource: "apis"}
)

// process is a program the test started; its output is kept for failure reports.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lines
	done chan struct{}
}

type lines struct {
	mu sync.Mutex
	l  []string
	// onLine, when set, sees every line.
	onLine func(string)
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.l = append(l.l, s)
	f := l.onLine
	l.mu.Unlock()
	if f != nil {
		f(s)
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

// contains reports whether a line holds every one of parts.
func (l *lines) contains(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.l {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// startProcess runs path with args; it is killed when the test ends.
func startProcess(t *testing.T, name, path string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(path, args...)
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	p := &process{name: name, cmd: cmd, out: &lines{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.out.add(sc.Text())
		}
	}()
	go func() { cmd.Wait(); w.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.out.String(), 60))
		}
	})
	return p
}

func (p *process) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stop ends the process with SIGTERM and waits for it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop in 15s", p.name)
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// cluster is an etcd and an API server serving the project's CRDs.
type cluster struct {
	etcd, apiserver *process
	apiserverArgs   []string // binary first
	kubeconfig      string
	config          *rest.Config
	dyn             dynamic.Interface
}

// startCluster starts etcd and the apiextensions-apiserver on free loopback ports and installs
// the chart's CRDs.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := startBareCluster(t)
	c.installCRDs(t)
	return c
}

// startBareCluster is startCluster without the CRDs.
func startBareCluster(t *testing.T) *cluster {
	t.Helper()
	apiserverBin := testenv.Binary(t, "apiextensions-apiserver", "PORTCULLIS_APISERVER", "make test-tools")
	etcdBin := testenv.Binary(t, "etcd-embedded", "PORTCULLIS_ETCD", "make test-tools")
	dir := t.TempDir()
	etcdPort, peerPort, apiPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	c := &cluster{}
	c.etcd = startProcess(t, "etcd", etcdBin, "-data-dir", filepath.Join(dir, "etcd"),
		"-client-port", strconv.Itoa(etcdPort), "-peer-port", strconv.Itoa(peerPort))
	waitFor(t, 30*time.Second, "etcd ready", func() bool { return c.etcd.out.contains("etcd ready") })

	ca, caKey := writeCA(t, dir)
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, c.kubeconfig, apiPort, ca, caKey, dir)
	c.apiserverArgs = []string{apiserverBin,
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--secure-port", strconv.Itoa(apiPort), "--bind-address", "127.0.0.1",
		"--tls-cert-file", filepath.Join(dir, "serving.crt"), "--tls-private-key-file", filepath.Join(dir, "serving.key"),
		"--client-ca-file", filepath.Join(dir, "ca.crt"),
		"--authentication-skip-lookup",
		"--authentication-kubeconfig", c.kubeconfig, "--authorization-kubeconfig", c.kubeconfig, "--kubeconfig", c.kubeconfig,
		"--authorization-always-allow-paths", "/*", "--enable-priority-and-fairness=false",
		"--disable-admission-plugins", "NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook"}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c.config = cfg
	c.startAPIServer(t)
	if c.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

// startAPIServer (re)starts the API server on its port and waits until it is healthy.
func (c *cluster) startAPIServer(t *testing.T) {
	t.Helper()
	c.apiserver = startProcess(t, "apiextensions-apiserver", c.apiserverArgs[0], c.apiserverArgs[1:]...)
	hc, err := rest.HTTPClientFor(c.config)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "API server healthy", func() bool {
		resp, err := hc.Get(c.config.Host + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// installCRDs creates the chart's CRDs and waits until they are established.
func (c *cluster) installCRDs(t *testing.T) {
	t.Helper()
	client, err := apiextensionsclient.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "deploy", "helm", "portcullis", "crds", "*.yaml"))
	if len(files) != 2 {
		t.Fatalf("want the two CRDs in the chart's crds/, found %v", files)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict(raw, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), &crd, metav1.CreateOptions{}); err != nil {
			t.Fatalf("installing %s: %v", f, err)
		}
		waitFor(t, 30*time.Second, crd.Name+" established", func() bool {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), crd.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true
				}
			}
			return false
		})
	}
}

// apply creates or updates a resource written as YAML and returns it as stored.
func (c *cluster) apply(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.tryApply(doc)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, doc)
	}
	return u
}

// tryApply is apply that returns the API server's refusal.
func (c *cluster) tryApply(doc string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := sigsyaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		return nil, err
	}
	ri := c.dyn.Resource(gvrOf(u.GetKind())).Namespace(u.GetNamespace())
	ctx := context.Background()
	// The first create after a CRD is established can still meet a 404 for a moment, and an
	// update can meet a status write.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		switch {
		case err == nil:
			u.SetResourceVersion(cur.GetResourceVersion())
			updated, err := ri.Update(ctx, u, metav1.UpdateOptions{})
			if apierrors.IsConflict(err) && time.Now().Before(deadline) {
				continue // Portcullis wrote the status in between
			}
			return updated, err
		case apierrors.IsNotFound(err):
			created, err := ri.Create(ctx, u, metav1.CreateOptions{})
			if apierrors.IsNotFound(err) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return created, err
		default:
			return nil, err
		}
	}
}

func (c *cluster) delete(t *testing.T, kind, ns, name string) {
	t.Helper()
	if err := c.dyn.Resource(gvrOf(kind)).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) get(t *testing.T, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.dyn.Resource(gvrOf(kind)).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// accepted returns the Accepted condition's status and message, and status.observedGeneration.
func (c *cluster) accepted(t *testing.T, kind, ns, name string) (status, message string, observed int64, generation int64) {
	t.Helper()
	u := c.get(t, kind, ns, name)
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conds {
		m, _ := raw.(map[string]any)
		if m["type"] == "Accepted" {
			status, _ = m["status"].(string)
			message, _ = m["message"].(string)
		}
	}
	observed, _, _ = unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	return status, message, observed, u.GetGeneration()
}

func gvrOf(kind string) schema.GroupVersionResource {
	if kind == "Api" {
		return apisGVR
	}
	return authorizersGVR
}

// writeCA makes the CA that signs client certificates (--client-ca-file).
func writeCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca.crt"), "CERTIFICATE", der)
	ca, _ := x509.ParseCertificate(der)
	return ca, key
}

// issue writes a certificate for tmpl signed by the CA and its key, as dir/name.crt and .key.
func issue(t *testing.T, dir, name string, tmpl *x509.Certificate, ca *x509.Certificate, caKey *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".crt"), "CERTIFICATE", der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, name+".key"), "EC PRIVATE KEY", keyDER)
}

// writeKubeconfig writes the serving certificate of the API server (127.0.0.1), an admin
// client certificate (O=system:masters), both signed by the CA, and a kubeconfig using them.
func writeKubeconfig(t *testing.T, path string, port int, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dir string) {
	t.Helper()
	issue(t, dir, "serving", &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	issue(t, dir, "client", &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:%d", certificate-authority: %q}}]
users: [{name: admin, user: {client-certificate: %q, client-key: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, port, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
