package kube

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Within this long after the API server took a change, Checks decide by it (SPEC section 17).
const within = time.Second

func authorizerDoc(ns, name, url string) string {
	return fmt.Sprintf(`apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: %s, namespace: %s}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  resultTtlInSeconds: 0
  http: {url: %q}
`, name, ns, url)
}

// apiDoc is an Api on host guarded by authorizer, with one route per path (GET).
func apiDoc(ns, name, host, authorizer string, paths ...string) string {
	var routes strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&routes, "    - {path: %q, methods: [GET]}\n", p)
	}
	return fmt.Sprintf(`apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: %s, namespace: %s}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: %s
  stage: prod
  hosts: [%s]
  defaultAuthorizer: %s
  routes:
%s`, name, ns, name, host, authorizer, routes.String())
}

// waitAccepted waits until the resource's status says Accepted=want for its current generation.
func waitAccepted(t *testing.T, c *cluster, kind, ns, name, want string) string {
	t.Helper()
	var msg string
	waitFor(t, 10*time.Second, fmt.Sprintf("%s %s/%s Accepted=%s", kind, ns, name, want), func() bool {
		status, message, observed, generation := c.accepted(t, kind, ns, name)
		msg = message
		return status == want && observed == generation
	})
	return msg
}

// TestResourcesDriveDecisions walks a resource's life with the built binary: CRDs installed
// from the chart, apply, update, an update that Portcullis refuses but the schema takes, CEL
// admission, another namespace, delete, restart.
func TestResourcesDriveDecisions(t *testing.T) {
	c := startCluster(t)
	url := authorizerServer(t)
	p := startPortcullis(t, c, "--namespace", "team-a")
	waitFor(t, 10*time.Second, "ready after the first sync", p.ready)
	if got := p.status(t, "pets.example", "GET", "/pets", "good"); got != 403 {
		t.Fatalf("before any resource: %d, want 403", got)
	}

	// Apply: decisions within a second, both resources Accepted.
	c.apply(t, authorizerDoc("team-a", "tokens", url))
	c.apply(t, apiDoc("team-a", "pets", "pets.example", "tokens", "/pets"))
	took := p.eventually(t, within, 200, "pets.example", "GET", "/pets", "good")
	t.Logf("apply -> first allow: %s", took)
	if got := p.status(t, "pets.example", "GET", "/pets", "bad"); got != 403 {
		t.Errorf("denied token: %d, want 403", got)
	}
	waitAccepted(t, c, "Authorizer", "team-a", "tokens", "True")
	waitAccepted(t, c, "Api", "team-a", "pets", "True")
	if b := c.get(t, "Authorizer", "team-a", "tokens").Object["status"].(map[string]any)["backend"]; b != "http" {
		t.Errorf("status.backend %v, want http", b)
	}

	// Update: the new route decides.
	c.apply(t, apiDoc("team-a", "pets", "pets.example", "tokens", "/pets", "/owners"))
	took = p.eventually(t, within, 200, "pets.example", "GET", "/owners", "good")
	t.Logf("update -> first allow on the new route: %s", took)

	// Invalid for Portcullis, valid for the schema: Accepted=False with validate's error, and
	// the last accepted version keeps deciding.
	c.apply(t, apiDoc("team-a", "pets", "pets.example", "tokens", "/pets", "owners"))
	msg := waitAccepted(t, c, "Api", "team-a", "pets", "False")
	if !strings.Contains(msg, "spec.routes[1].path: ") {
		t.Errorf("Accepted=False message %q, want the spec.routes[1].path problem", msg)
	}
	if got := p.status(t, "pets.example", "GET", "/owners", "good"); got != 200 {
		t.Errorf("old version no longer decides: /owners %d, want 200", got)
	}
	if !p.out.contains(`"resource":"team-a/pets"`, "last accepted version keeps serving") {
		t.Errorf("no log line naming team-a/pets as rejected")
	}
	if v := p.metric(`portcullis_config_resources{kind="Api",state="previous"}`); v != "1" {
		t.Errorf("portcullis_config_resources previous Api = %q, want 1", v)
	}

	// CEL rules refuse at admission what the schema alone can say.
	twoBackends := authorizerDoc("team-a", "two", url) + "  jwt: {issuer: https://issuer.example}\n"
	if _, err := c.tryApply(twoBackends); err == nil || !strings.Contains(err.Error(), "set exactly one backend") {
		t.Errorf("two backends: %v, want refused with \"set exactly one backend\"", err)
	}
	expression := authorizerDoc("team-a", "two", url) + "  identityValidationExpression: '^x$'\n"
	expression = strings.Replace(expression, "type: TOKEN", "type: REQUEST", 1)
	if _, err := c.tryApply(expression); err == nil || !strings.Contains(err.Error(), "only TOKEN authorizers use an identity validation expression") {
		t.Errorf("REQUEST with a validation expression: %v, want refused", err)
	}

	// Another namespace is not watched: its Api never decides and gets no status.
	c.apply(t, authorizerDoc("team-b", "tokens", url))
	c.apply(t, apiDoc("team-b", "other", "other.example", "tokens", "/x"))
	// A marker change in the watched namespace, applied after: once it decides, team-b's
	// resources would have been seen too.
	c.apply(t, apiDoc("team-a", "pets", "pets.example", "tokens", "/pets", "/vets"))
	p.eventually(t, within, 200, "pets.example", "GET", "/vets", "good")
	if got := p.status(t, "other.example", "GET", "/x", "good"); got != 403 {
		t.Errorf("Api of an unwatched namespace decides: %d, want 403", got)
	}
	if st, _, _, _ := c.accepted(t, "Api", "team-b", "other"); st != "" {
		t.Errorf("Api of an unwatched namespace got status Accepted=%s", st)
	}

	// Delete: its routes are gone.
	c.delete(t, "Api", "team-a", "pets")
	p.eventually(t, within, 403, "pets.example", "GET", "/pets", "good")

	// Restart: a new process decides the same.
	c.apply(t, apiDoc("team-a", "pets", "pets.example", "tokens", "/pets"))
	p.eventually(t, within, 200, "pets.example", "GET", "/pets", "good")
	p.stop(t)
	p = startPortcullis(t, c, "--namespace", "team-a")
	waitFor(t, 10*time.Second, "ready after restart", p.ready)
	for _, tc := range []struct {
		path, token string
		want        int
	}{{"/pets", "good", 200}, {"/pets", "bad", 403}, {"/owners", "good", 403}} {
		if got := p.status(t, "pets.example", "GET", tc.path, tc.token); got != tc.want {
			t.Errorf("after restart: GET %s with %s: %d, want %d", tc.path, tc.token, got, tc.want)
		}
	}
	if v := p.metric(`portcullis_check_total{api="team-a/pets",authorizer="team-a/tokens",decision="allow"}`); v == "" {
		t.Errorf("no portcullis_check_total sample named team-a/pets and team-a/tokens")
	}
}

// TestAPIServerLost stops the API server under a running Portcullis: decisions go on from the
// last snapshot, and the outage shows in metrics and logs.
func TestAPIServerLost(t *testing.T) {
	c := startCluster(t)
	url := authorizerServer(t)
	p := startPortcullis(t, c)
	c.apply(t, authorizerDoc("default", "tokens", url))
	c.apply(t, apiDoc("default", "pets", "pets.example", "tokens", "/pets"))
	p.eventually(t, within, 200, "pets.example", "GET", "/pets", "good")
	waitFor(t, 10*time.Second, "connected", func() bool { return p.metric("portcullis_kubernetes_connected") == "1" })

	c.apiserver.kill()
	waitFor(t, 20*time.Second, "the outage in metrics", func() bool { return p.metric("portcullis_kubernetes_connected") == "0" })
	waitFor(t, 5*time.Second, "a log line about the lost API server", func() bool {
		return p.out.contains(`"level":"ERROR"`, "lost the Kubernetes API server")
	})
	for i := 0; i < 20; i++ {
		if got := p.status(t, "pets.example", "GET", "/pets", "good"); got != 200 {
			t.Fatalf("Check %d after the API server stopped: %d, want 200", i, got)
		}
		if got := p.status(t, "pets.example", "GET", "/pets", "bad"); got != 403 {
			t.Fatalf("Check %d after the API server stopped: denied token %d, want 403", i, got)
		}
	}
	if !p.ready() {
		t.Errorf("not ready while serving the last snapshot")
	}
	select {
	case <-p.done:
		t.Fatal("portcullis exited")
	default:
	}

	// The API server back: the outage ends in metrics and logs, and changes decide again.
	c.startAPIServer(t)
	waitFor(t, 20*time.Second, "the return in metrics", func() bool { return p.metric("portcullis_kubernetes_connected") == "1" })
	waitFor(t, 5*time.Second, "a log line about the return", func() bool { return p.out.contains("reached the Kubernetes API server again") })
	c.apply(t, apiDoc("default", "pets", "pets.example", "tokens", "/pets", "/vets"))
	// The watch resumes after the informers' back-off, which may be a few seconds.
	p.eventually(t, 30*time.Second, 200, "pets.example", "GET", "/vets", "good")
	waitAccepted(t, c, "Api", "default", "pets", "True")
}

// TestCRDsMissing: without the CRDs Portcullis says so, stays unready and denies; once they are
// installed it syncs and serves.
func TestCRDsMissing(t *testing.T) {
	c := startBareCluster(t)
	p := startPortcullis(t, c)
	waitFor(t, 10*time.Second, "a log line naming the missing CRDs", func() bool {
		return p.out.contains(`"level":"ERROR"`, "refuses to list Authorizers; are the CRDs installed?")
	})
	if p.ready() {
		t.Fatal("ready without the CRDs")
	}
	if got := p.status(t, "pets.example", "GET", "/pets", "good"); got != 403 {
		t.Fatalf("Check without config: %d, want 403", got)
	}
	c.installCRDs(t)
	// The informers retry with back-off.
	waitFor(t, 30*time.Second, "ready once the CRDs are installed", p.ready)
	c.apply(t, authorizerDoc("default", "tokens", authorizerServer(t)))
	c.apply(t, apiDoc("default", "pets", "pets.example", "tokens", "/pets"))
	p.eventually(t, within, 200, "pets.example", "GET", "/pets", "good")
}
