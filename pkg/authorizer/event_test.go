package authorizer_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/authorizertest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// bare strips the sample request of everything optional: no query, cookies, path parameters or
// stage variables, to pin down how empty members are sent.
func bare(req *authorizer.Request) *authorizer.Request {
	req.Resource, req.Path, req.MethodArn = "/", "/", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/"
	req.RouteKey = "GET /"
	req.PathParameters, req.StageVariables, req.IdentitySource = nil, nil, nil
	req.HTTP.RawPath, req.HTTP.Path, req.HTTP.RawQuery = "/v1/", "/v1/", ""
	req.HTTP.Headers = map[string]string{"user-agent": "curl/8.5.0"}
	return req
}

func TestMarshalEventGolden(t *testing.T) {
	tests := []struct {
		golden string
		req    *authorizer.Request
	}{
		{"event_token.json", authorizertest.Request(authorizer.TypeToken, "")},
		{"event_request_v1.json", authorizertest.Request(authorizer.TypeRequest, "1.0")},
		{"event_request_v1_bare.json", bare(authorizertest.Request(authorizer.TypeRequest, "1.0"))},
		{"event_request_v2.json", authorizertest.Request(authorizer.TypeRequest, "2.0")},
		{"event_request_v2_bare.json", bare(authorizertest.Request(authorizer.TypeRequest, "2.0"))},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := authorizer.MarshalEvent(tt.req)
			if err != nil {
				t.Fatalf("MarshalEvent: %v", err)
			}
			compareGolden(t, filepath.Join("testdata", tt.golden), got)
		})
	}
}

// compareGolden compares compact JSON with an indented golden file, byte for byte after
// indenting, so field order and every value are pinned.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	var indented bytes.Buffer
	if err := json.Indent(&indented, got, "", "  "); err != nil {
		t.Fatalf("event is not valid JSON: %v\n%s", err, got)
	}
	indented.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(indented.Bytes(), want) {
		t.Errorf("event differs from %s:\ngot:\n%s\nwant:\n%s", path, indented.Bytes(), want)
	}
}

func TestMarshalEventRejects(t *testing.T) {
	noFacts := authorizertest.Request(authorizer.TypeRequest, "1.0")
	noFacts.HTTP = nil
	tests := []struct {
		name string
		req  *authorizer.Request
		want string
	}{
		{"nil request", nil, "no request"},
		{"JWT has no event", authorizertest.Request("JWT", ""), `"JWT" has no event`},
		{"unknown type", authorizertest.Request("COOKIE", ""), `"COOKIE" has no event`},
		{"unknown payload version", authorizertest.Request(authorizer.TypeRequest, "3.0"), `"3.0"`},
		{"REQUEST without request facts", noFacts, "request facts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authorizer.MarshalEvent(tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestMarshalEventTokenIsVerbatim(t *testing.T) {
	req := authorizertest.Request(authorizer.TypeToken, "")
	req.Token = "Bearer a\"b\\c <&>"
	b, err := authorizer.MarshalEvent(req)
	if err != nil {
		t.Fatal(err)
	}
	var event map[string]string
	if err := json.Unmarshal(b, &event); err != nil {
		t.Fatal(err)
	}
	if event["authorizationToken"] != req.Token {
		t.Errorf("authorizationToken = %q, want %q", event["authorizationToken"], req.Token)
	}
	if len(event) != 3 {
		t.Errorf("TOKEN event has %d members, want exactly type, authorizationToken, methodArn", len(event))
	}
}

func TestResourceIDIsStableAndShort(t *testing.T) {
	a := authorizer.ResourceID("GET", "/pets/{petId}")
	if a != authorizer.ResourceID("GET", "/pets/{petId}") {
		t.Error("same method and resource gave two ids")
	}
	if a == authorizer.ResourceID("POST", "/pets/{petId}") || a == authorizer.ResourceID("GET", "/pets") {
		t.Error("different method or resource gave the same id")
	}
	if len(a) != 6 {
		t.Errorf("id %q has %d characters, want 6", a, len(a))
	}
}

func BenchmarkMarshalEvent(b *testing.B) {
	for _, kind := range []struct{ name, typ, version string }{
		{"token", authorizer.TypeToken, ""},
		{"request_v1", authorizer.TypeRequest, "1.0"},
		{"request_v2", authorizer.TypeRequest, "2.0"},
	} {
		req := authorizertest.Request(kind.typ, kind.version)
		b.Run(kind.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := authorizer.MarshalEvent(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
