package hardening

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

const pathConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: admins}
spec:
  type: TOKEN
  identitySource: method.request.header.Authorization
  # Every admin request reaches the backend, so every admin decision is seen there.
  resultTtlInSeconds: 0
  http: {url: "URL", timeout: 2s}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: paths}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: pathapi001
  stage: prod
  hosts: [paths.example.com]
  routes:
    - {path: "/public/{proxy+}", methods: [ANY], authorizer: NONE}
    - {path: "/admin/{proxy+}", methods: [ANY], authorizer: admins}
`

const pathArnPrefix = "arn:aws:execute-api:us-east-1:123456789012:pathapi001/prod/"

// pathRig is the path confusion setup: /public/{proxy+} needs nothing, /admin/{proxy+} is guarded
// by a TOKEN authorizer whose backend denies everything and records the methodArn it was asked.
type pathRig struct {
	svc     *service
	backend *authzServer
	probes  atomic.Int64 // numbers the tokens, one per request
}

func newPathRig(t testing.TB) *pathRig {
	t.Helper()
	backend := newAuthzServer(t, answerWith(iamAnswer("attacker", nil, denyAll())))
	svc := startService(t, strings.Replace(pathConfig, "URL", backend.URL, 1), engine.Options{})
	return &pathRig{svc: svc, backend: backend}
}

// send checks one request with a token unique to it, then verifies what holds for every path
// whatever its expected answer: an allow is decided on /public and no upstream reading routes it
// under /admin; a decision made on a route names exactly the decoded path; the backend saw the
// same methodArn. It returns the answer for the caller's own expectation.
func (r *pathRig) send(t *testing.T, method, target string, headers map[string]string) result {
	t.Helper()
	token := fmt.Sprintf("Bearer probe-%d", r.probes.Add(1))
	h := map[string]string{"authorization": token}
	for k, v := range headers {
		h[k] = v
	}
	res := r.svc.check(t, httpReq{method: method, host: "paths.example.com", path: target, headers: h})
	upstreamPath := target
	if p, ok := headers[":path"]; ok {
		upstreamPath = p // the upstream routes on the :path Envoy forwards
	}
	r.verify(t, target, upstreamPath, token, res)
	return res
}

func (r *pathRig) verify(t *testing.T, target, upstreamPath, token string, res result) {
	t.Helper()
	if res.code == codes.OK {
		for _, u := range upstreamReadings {
			if got := u.read(readTarget(upstreamPath)); protectedBy(got, "/admin") {
				wrongDecision(t, "%.80q allowed, but an upstream (%s) routes it to %q", upstreamPath, u.name, got)
				break
			}
		}
		if !strings.HasPrefix(res.logged.Route, "ANY /public/") {
			wrongDecision(t, "%.80q allowed on route %q, want /public/{proxy+}", target, res.logged.Route)
		}
	}
	if res.logged.MethodArn != "" {
		method, _, _ := strings.Cut(strings.TrimPrefix(res.logged.MethodArn, pathArnPrefix), "/")
		want := pathArnPrefix + method + decodeLenient(readTarget(target))
		if res.logged.MethodArn != want {
			wrongDecision(t, "%.80q decided on %q, want %q", target, res.logged.MethodArn, want)
		}
	}
	events := r.backend.takeEvents(token)
	switch {
	case strings.HasPrefix(res.logged.Route, "ANY /admin/") && len(events) != 1:
		wrongDecision(t, "%.80q decided on /admin with %d backend calls, want 1", target, len(events))
	case len(events) == 1 && events[0].MethodArn != res.logged.MethodArn:
		wrongDecision(t, "%.80q: backend asked about %q, decision logged on %q", target, events[0].MethodArn, res.logged.MethodArn)
	case len(events) > 1:
		wrongDecision(t, "%.80q: %d backend calls for one request", target, len(events))
	}
}

// TestPathConfusion sends every classic path confusion attack. Each one is refused (400), found to
// match no route (403), or decided on exactly the path the upstream routes; none is allowed onto
// /admin.
func TestPathConfusion(t *testing.T) {
	rig := newPathRig(t)
	long := "/public/" + strings.Repeat("a", 8<<10-len("/public/"))
	tests := []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		want    want
		arn     string // the decision's methodArn after the prefix; "" when none is expected
	}{
		{"control: public path is allowed", "GET", "/public/x", nil, wantAllow, "GET/public/x"},
		{"control: admin path reaches the denying backend", "GET", "/admin/x", nil, wantExplicitDeny, "GET/admin/x"},

		{"encoded slash %2F into admin", "GET", "/public/..%2Fadmin/x", nil, wantBadRequest, ""},
		{"encoded slash %2f lower-case", "GET", "/public%2f..%2fadmin/x", nil, wantBadRequest, ""},
		{"encoded dot-dot %2e%2e", "GET", "/public/%2e%2e/admin/x", nil, wantBadRequest, ""},
		{"encoded dot-dot %2E%2e mixed case", "GET", "/public/%2E%2e/admin/x", nil, wantBadRequest, ""},
		{"encoded single dot %2e", "GET", "/public/%2e/x", nil, wantBadRequest, ""},
		{"half-encoded dot-dot .%2e", "GET", "/public/.%2e/admin/x", nil, wantBadRequest, ""},
		{"raw dot-dot", "GET", "/public/../admin/x", nil, wantBadRequest, ""},
		{"raw dot-dot at the end", "GET", "/admin/x/..", nil, wantBadRequest, ""},
		{"encoded dot-dot and slash in one segment", "GET", "/public/%2e%2e%2fadmin/x", nil, wantBadRequest, ""},

		{"double-encoded slash %252F", "GET", "/public/..%252Fadmin/x", nil, wantBadRequest, ""},
		{"double-encoded dot-dot %252e%252e", "GET", "/public/%252e%252e/admin/x", nil, wantBadRequest, ""},
		{"double-encoded backslash %255c", "GET", "/public/..%255cadmin/x", nil, wantBadRequest, ""},
		{"double-encoded NUL %2500", "GET", "/public/x%2500", nil, wantBadRequest, ""},
		{"harmless double encoding stays literal", "GET", "/public/%2541", nil, wantAllow, "GET/public/%41"},
		{"triple encoding stays literal text", "GET", "/public/%25252e%25252e/admin/x", nil, wantAllow, "GET/public/%252e%252e/admin/x"},

		{"overlong UTF-8 slash %c0%af", "GET", "/public/..%c0%afadmin/x", nil, wantBadRequest, ""},
		{"overlong UTF-8 slash %e0%80%af", "GET", "/public/..%e0%80%afadmin/x", nil, wantBadRequest, ""},
		{"overlong UTF-8 dots %c0%ae%c0%ae", "GET", "/public/%c0%ae%c0%ae/admin/x", nil, wantBadRequest, ""},
		{"overlong UTF-8 backslash %c1%9c", "GET", "/public/..%c1%9cadmin/x", nil, wantBadRequest, ""},

		{"matrix parameter then dot-dot", "GET", "/public;/../admin/x", nil, wantBadRequest, ""},
		{"dot-dot with matrix parameter", "GET", "/public/..;/admin/x", nil, wantBadRequest, ""},
		{"encoded dot-dot with matrix parameter", "GET", "/public/%2e%2e;x=1/admin/x", nil, wantBadRequest, ""},
		{"matrix parameter on admin is not a route", "GET", "/admin;x/secret", nil, wantMissingToken, ""},
		{"matrix parameter on public is not a route", "GET", "/public;x/y", nil, wantMissingToken, ""},
		{"matrix parameter inside the proxy path is literal", "GET", "/public/a;b=c/d", nil, wantAllow, "GET/public/a;b=c/d"},
		{"matrix parameter on admin still reaches the backend", "GET", "/admin/x;jsessionid=1", nil, wantExplicitDeny, "GET/admin/x;jsessionid=1"},

		{"raw backslash", "GET", `/public/..\admin\x`, nil, wantBadRequest, ""},
		{"encoded backslash %5C", "GET", "/public/..%5Cadmin/x", nil, wantBadRequest, ""},
		{"encoded backslash %5c", "GET", "/public/..%5cadmin%5cx", nil, wantBadRequest, ""},

		{"duplicate leading slash", "GET", "//admin/x", nil, wantMissingToken, ""},
		{"duplicate slash after public is not a route", "GET", "/public//admin/x", nil, wantMissingToken, ""},
		{"duplicate slash inside admin is not a route", "GET", "/admin//x", nil, wantMissingToken, ""},

		{"fragment is not part of the path", "GET", "/public/x#/../../admin/x", nil, wantAllow, "GET/public/x"},
		{"encoded fragment is a literal character", "GET", "/public/x%23/../../admin", nil, wantBadRequest, ""},
		{"query is not part of the path", "GET", "/public/x?/../../admin/x", nil, wantAllow, "GET/public/x"},
		{"encoded question mark is literal", "GET", "/public/x%3F/y", nil, wantAllow, "GET/public/x?/y"},

		{"absolute-form URI", "GET", "http://evil/admin/x", nil, wantBadRequest, ""},
		{"absolute-form URI of our own host", "GET", "http://paths.example.com/admin/x", nil, wantBadRequest, ""},
		{"asterisk-form", "OPTIONS", "*", nil, wantBadRequest, ""},
		{"relative path", "GET", "admin/x", nil, wantBadRequest, ""},

		{"lower-case method on admin", "get", "/admin/x", nil, wantExplicitDeny, "GET/admin/x"},
		{"mixed-case method on admin", "Get", "/admin/x", nil, wantExplicitDeny, "GET/admin/x"},
		{"mixed-case method on public", "pOsT", "/public/x", nil, wantAllow, "POST/public/x"},
		{"method with a space", "GET /admin/x", "/public/x", nil, wantBadRequest, ""},
		{"method with CRLF", "GET\r\nX: y", "/public/x", nil, wantBadRequest, ""},

		{":path header agrees with the path", "GET", "/public/x", map[string]string{":path": "/public/x"}, wantAllow, "GET/public/x"},
		{":path header names public, path attribute names admin", "GET", "/admin/x",
			map[string]string{":path": "/public/x"}, wantBadRequest, ""},

		{"raw NUL", "GET", "/public/x\x00/../../admin", nil, wantBadRequest, ""},
		{"encoded NUL", "GET", "/admin%00/x", nil, wantBadRequest, ""},
		{"raw CR", "GET", "/public/x\r/y", nil, wantBadRequest, ""},
		{"encoded CR", "GET", "/public/x%0d/y", nil, wantBadRequest, ""},
		{"raw LF", "GET", "/public/x\nHost: evil", nil, wantBadRequest, ""},
		{"encoded LF", "GET", "/public/x%0aX-Injected:%20yes", nil, wantBadRequest, ""},
		{"raw DEL", "GET", "/public/x\x7f", nil, wantBadRequest, ""},
		{"encoded DEL", "GET", "/public/x%7F", nil, wantBadRequest, ""},
		{"encoded C1 control NEL", "GET", "/public/x%c2%85", nil, wantBadRequest, ""},
		{"encoded tab", "GET", "/public/x%09", nil, wantBadRequest, ""},

		{"encoded invalid UTF-8 byte", "GET", "/public/%ff", nil, wantBadRequest, ""},
		{"encoded lone continuation byte", "GET", "/public/%80admin", nil, wantBadRequest, ""},
		{"encoded surrogate half", "GET", "/public/%ed%a0%80", nil, wantBadRequest, ""},
		{"encoded valid UTF-8 is decoded", "GET", "/public/caf%C3%A9", nil, wantAllow, "GET/public/café"},
		{"fullwidth solidus stays a character", "GET", "/public/..%EF%BC%8Fadmin", nil, wantAllow, "GET/public/..／admin"},

		{"invalid escape", "GET", "/public/%zz", nil, wantBadRequest, ""},
		{"truncated escape", "GET", "/public/x%2", nil, wantBadRequest, ""},
		{"IIS %u escape", "GET", "/public/%u002e%u002e/admin", nil, wantBadRequest, ""},

		{"upper-case admin is not a route", "GET", "/ADMIN/x", nil, wantMissingToken, ""},
		{"upper-case public is not a route", "GET", "/PUBLIC/x", nil, wantMissingToken, ""},

		{"path of exactly 8 KiB: its methodArn is over API Gateway's 1,600 bytes", "GET", long, nil, wantURITooLong, ""},
		{"path one byte over 8 KiB", "GET", long + "a", nil, wantBadRequest, ""},
		{"query pushing the target over 8 KiB", "GET", "/public/x?" + strings.Repeat("q", 8<<10), nil, wantBadRequest, ""},
		{"path of 1 MiB", "GET", "/public/" + strings.Repeat("a/", 512<<10), nil, wantBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			res := rig.send(t, tt.method, tt.target, tt.headers)
			expect(t, fmt.Sprintf("%s %.80q", tt.method, tt.target), res.verdict, tt.want)
			if tt.arn != "" && res.logged.MethodArn != pathArnPrefix+tt.arn {
				wrongDecision(t, "decided on %.120q, want %.120q", res.logged.MethodArn, pathArnPrefix+tt.arn)
			}
		})
	}
}

// TestPathHeaderDisagreesWithAttributes sends a CheckRequest whose :path header names /admin
// while attributes.request.http.path names /public. Envoy fills both from one header, so they
// only differ when something rewrote the path between them or the request was forged; the
// upstream routes on the :path it is forwarded, so Portcullis must refuse the request rather
// than allow it on /public.
func TestPathHeaderDisagreesWithAttributes(t *testing.T) {
	rig := newPathRig(t)
	counts.attacks.Add(1)
	res := rig.send(t, "GET", "/public/x", map[string]string{":path": "/admin/x"})
	expect(t, ":path /admin/x, path /public/x", res.verdict, wantBadRequest)
}

// pathAlphabet is what random hostile paths are made of: separators, dots and their encodings,
// matrix parameters, controls, overlong forms, and the two route prefixes.
var pathAlphabet = []string{
	"/", "/", "/", "public", "public", "admin", "admin", "x", ".", "..", "%2e", "%2E", "%2e%2e", ".%2e",
	"%2f", "%2F", "%5c", "%5C", `\`, ";", ";x=1", "%3b", "%252e", "%252f", "%255c", "%25", "%2500",
	"%c0%ae", "%c0%af", "%e0%80%af", "%c1%9c", "//", "%00", "%0a", "%0d", "%09", "%7f", "?", "#",
	"%23", "%3f", "%41", "~", "%7e", "%ff", "%c3%a9", " ", "%20", "ADMIN", "Admin", "%61dmin", "%2561",
}

// TestRandomHostilePaths builds paths from pathAlphabet with a fixed seed and holds every answer
// to the invariants of pathRig.verify; the answer itself must be one the SPEC allows for the
// configuration (allow on /public, 400, 403 missing token, explicit deny from the backend).
func TestRandomHostilePaths(t *testing.T) {
	n := 3000
	if long() {
		n = 200_000
	}
	rig := newPathRig(t)
	rng := rand.New(rand.NewPCG(20260101, 7))
	for i := 0; i < n; i++ {
		var b strings.Builder
		b.WriteString("/")
		for j, parts := 0, 1+rng.IntN(8); j < parts; j++ {
			b.WriteString(pathAlphabet[rng.IntN(len(pathAlphabet))])
		}
		target := b.String()
		counts.attacks.Add(1)
		res := rig.send(t, http.MethodGet, target, nil)
		expectOneOf(t, fmt.Sprintf("GET %q", target), res.verdict, wantAllow, wantBadRequest, wantMissingToken, wantExplicitDeny)
		if t.Failed() {
			return
		}
	}
}
