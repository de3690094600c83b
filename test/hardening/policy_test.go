package hardening

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

// pathologicalPath is the request path of the pathological policy tests: long runs of the
// character the patterns look for, so every pattern with '?' backtracks over all of it. Its
// methodArn stays just under API Gateway's 1,600 bytes, the longest a policy is evaluated on.
var pathologicalPath = "/x/" + strings.Repeat("a", 1520)

// pathologicalResources are 1,000 resource patterns built to backtrack: stars and '?' between
// many 'a's, needing a 'b' the methodArn never holds after them. Four shapes in turn: the
// textbook pattern, the same ending in a star (no literal suffix to reject on), '?' chains (the
// general matcher), and a '?' chain anchored at "arn:". Each stays short enough that 1,000
// statements fit in the 64 KiB document limit.
func pathologicalResources() []string {
	out := make([]string, 1000)
	for i := range out {
		k := 5 + i%4 // 5..8 'a's, so the patterns are not all alike
		switch i % 4 {
		case 0:
			out[i] = strings.Repeat("*a", k) + "*b"
		case 1:
			out[i] = strings.Repeat("*a", k) + "*b*"
		case 2:
			out[i] = "*" + strings.Repeat("a?", k) + "b*"
		default:
			out[i] = "arn:*" + strings.Repeat("a?", k) + "b"
		}
	}
	return out
}

// pathologicalDoc is a policy document of one Allow statement per resource.
func pathologicalDoc(t testing.TB, resources []string) []byte {
	t.Helper()
	st := make([]statement, len(resources))
	for i, r := range resources {
		st[i] = statement{"Allow", "*", r}
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": st})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > policy.MaxDocumentSize {
		t.Fatalf("test document is %d bytes, over the %d the SPEC allows", len(doc), policy.MaxDocumentSize)
	}
	return doc
}

// globRegexp is an independent reading of an IAM resource pattern: '*' any run, '?' one
// character, the rest literal, the whole string. Go's regexp runs in linear time.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// TestPathologicalPolicy serves a 1,000-statement policy of backtracking patterns and checks that
// it decides as an independent matcher does: no pattern matches, so implicit deny; with one
// matching statement appended in place of the last, allow.
func TestPathologicalPolicy(t *testing.T) {
	resources := pathologicalResources()
	matching := append(append([]string(nil), resources[:999]...), "*a?a?a?a?a?a?a?a")
	arn := loadArnPrefix + "GET" + pathologicalPath
	tests := []struct {
		name      string
		resources []string
		want      want
	}{
		{"1,000 backtracking patterns, none matching", resources, wantImplicitDeny},
		{"the same with the last one matching", matching, wantAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reference := wantImplicitDeny
			matched := map[string]bool{} // the patterns repeat: match each distinct one once
			for _, r := range tt.resources {
				m, seen := matched[r]
				if !seen {
					m = globRegexp(r).MatchString(arn)
					matched[r] = m
				}
				if m {
					reference = wantAllow
					break
				}
			}
			if reference != tt.want {
				t.Fatalf("the reference matcher says %s; the case is built wrong", reference)
			}
			counts.attacks.Add(1)
			srv := newAuthzServer(t, answerWith(iamAnswer("alice", nil, statementsFor(pathologicalDoc(t, tt.resources))...)))
			svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
			req := httpReq{method: "GET", host: "load.example.com", path: pathologicalPath,
				headers: map[string]string{"authorization": "Bearer pathological"}}
			for n := 1; n <= 2; n++ { // the second evaluates the cached policy
				expect(t, fmt.Sprintf("request %d", n), svc.check(t, req).verdict, tt.want)
			}
		})
	}
}

// statementsFor reads the statements back out of a document built by pathologicalDoc.
func statementsFor(doc []byte) []statement {
	var d struct{ Statement []statement }
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(err) // the document was marshaled from statements a moment ago
	}
	return d.Statement
}

// TestPolicyLimits: 1,000 statements are accepted, 1,001 are refused, and so is a document over
// 64 KiB or nested beyond any policy's shape; refusals are 500 AuthorizerConfigurationException.
func TestPolicyLimits(t *testing.T) {
	// Short statements, so that 1,000 of them fit in 64 KiB and 10,000 in the 1 MiB answer.
	deny := statement{"Deny", "*", "*/DELETE/*"}
	allow := statement{"Allow", "*", "*/GET/x/*"}
	repeat := func(n int, last statement) []statement {
		st := make([]statement, n)
		for i := range st {
			st[i] = deny
		}
		st[n-1] = last
		return st
	}
	bigResources := make([]string, 800)
	for i := range bigResources {
		bigResources[i] = fmt.Sprintf(loadArnPrefix+"GET/x/%080d", i)
	}
	tests := []struct {
		name string
		body []byte
		want want
	}{
		{"1,000 statements", iamAnswer("alice", nil, repeat(1000, allow)...), wantAllow},
		{"1,001 statements", iamAnswer("alice", nil, repeat(1001, allow)...), wantConfiguration},
		{"10,000 statements", iamAnswer("alice", nil, repeat(10_000, allow)...), wantConfiguration},
		{"document over 64 KiB in one statement", iamAnswer("alice", nil,
			statement{"Allow", "execute-api:Invoke", append(bigResources, loadArnPrefix+"GET/x/*")}), wantConfiguration},
		{"policy nested 100,000 arrays deep", []byte(`{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":` +
			strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}}`), wantConfiguration},
		{"answer nested 150,000 objects deep", []byte(strings.Repeat(`{"a":`, 150_000) + "1" + strings.Repeat("}", 150_000)), wantConfiguration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			srv := newAuthzServer(t, answerWith(tt.body))
			svc := startService(t, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
			req := httpReq{method: "GET", host: "load.example.com", path: "/x/1",
				headers: map[string]string{"authorization": "Bearer limits"}}
			expect(t, tt.name, svc.check(t, req).verdict, tt.want)
		})
	}
}

// BenchmarkPathologicalPolicy is the time of one evaluation of the 1,000 backtracking patterns
// against a methodArn of 7 KiB: what a cached answer costs per request.
func BenchmarkPathologicalPolicy(b *testing.B) {
	p, err := policy.Compile(pathologicalDoc(b, pathologicalResources()))
	if err != nil {
		b.Fatal(err)
	}
	arn := loadArnPrefix + "GET" + pathologicalPath
	f := &policy.Facts{}
	b.ReportAllocs()
	for b.Loop() {
		if p.Evaluate(arn, f).Decision != policy.ImplicitDeny {
			b.Fatal("a pathological pattern matched")
		}
	}
}

// BenchmarkPathologicalPolicyCheck is a whole cached Check over gRPC with that policy.
func BenchmarkPathologicalPolicyCheck(b *testing.B) {
	doc := pathologicalDoc(b, pathologicalResources())
	srv := newAuthzServer(b, answerWith(iamAnswer("alice", nil, statementsFor(doc)...)))
	svc := startService(b, strings.Replace(tokensConfig, "URL", srv.URL, 1), engine.Options{})
	req := httpReq{method: "GET", host: "load.example.com", path: pathologicalPath,
		headers: map[string]string{"authorization": "Bearer pathological"}}
	b.ReportAllocs()
	for b.Loop() {
		if res := svc.check(b, req); !res.matches(wantImplicitDeny) {
			b.Fatalf("got %s", res.verdict)
		}
	}
}
