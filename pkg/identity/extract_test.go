package identity

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

func TestExtract(t *testing.T) {
	req := &request.Request{
		Headers:  map[string]string{"authorization": "Bearer abc", "x-empty": ""},
		RawQuery: "a=1&token=t%20o+k&token=second&empty=",
	}
	stage := map[string]string{"env": "prod"}
	ctx := func(name string) (string, bool) {
		v, ok := map[string]string{"identity.sourceIp": "10.0.0.1"}[name]
		return v, ok
	}
	tests := []struct {
		name        string
		exprs       []string
		ctx         ContextFunc
		want        []string
		wantMissing int
	}{
		{"header by any case", []string{"method.request.header.AUTHORIZATION"}, ctx, []string{"Bearer abc"}, NoneMissing},
		{"query first value unescaped", []string{"$request.querystring.token"}, ctx, []string{"t o k"}, NoneMissing},
		{"every kind in order",
			[]string{"$request.header.authorization", "method.request.querystring.a", "stageVariables.env", "context.identity.sourceIp"},
			ctx, []string{"Bearer abc", "1", "prod", "10.0.0.1"}, NoneMissing},
		{"absent header reported", []string{"$request.header.authorization", "$request.header.x-nope"}, ctx,
			[]string{"Bearer abc", ""}, 1},
		{"empty header counts as missing", []string{"$request.header.x-empty"}, ctx, []string{""}, 0},
		{"empty query value counts as missing", []string{"$request.querystring.empty"}, ctx, []string{""}, 0},
		{"first missing reported, all values filled",
			[]string{"$stageVariables.nope", "$request.header.authorization", "$context.nope"}, ctx,
			[]string{"", "Bearer abc", ""}, 0},
		{"nil context lookup means absent", []string{"$context.identity.sourceIp"}, nil, []string{""}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(tt.exprs)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]string, 0, e.Len())
			got, missing := e.Extract(dst, req, stage, tt.ctx)
			if !slices.Equal(got, tt.want) || missing != tt.wantMissing {
				t.Fatalf("Extract = %q, %d; want %q, %d", got, missing, tt.want, tt.wantMissing)
			}
		})
	}
}

func TestCompileRejectsBadSource(t *testing.T) {
	if _, err := Compile([]string{"$request.header.a", "header.b"}); err == nil {
		t.Fatal("Compile accepted header.b")
	}
}

func TestExtractReusesCallerSlice(t *testing.T) {
	e := NewExtractor(Source{Kind: KindHeader, Name: "a"})
	dst := make([]string, 3, 4)
	got, _ := e.Extract(dst, &request.Request{Headers: map[string]string{"a": "x"}}, nil, nil)
	if len(got) != 1 || &got[0] != &dst[0] {
		t.Fatalf("Extract did not fill the caller's slice from index 0: %q", got)
	}
}

func TestQueryValueMatchesParseQuery(t *testing.T) {
	tests := []struct {
		name, query, key string
		want             string
		wantOK           bool
	}{
		{"plain", "a=1&b=2", "b", "2", true},
		{"first of repeated", "a=1&a=2", "a", "1", true},
		{"escaped key", "my%20key=v", "my key", "v", true},
		{"plus is space", "q=a+b", "q", "a b", true},
		{"key without value", "flag&x=1", "flag", "", true},
		{"semicolon pair skipped", "a=1;b=2&a=3", "a", "3", true},
		{"bad escape skipped", "a=%zz&a=ok", "a", "ok", true},
		{"absent", "a=1", "b", "", false},
		{"empty query", "", "a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := queryValue(tt.query, tt.key)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("queryValue(%q, %q) = %q, %v; want %q, %v", tt.query, tt.key, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// FuzzQueryValue holds queryValue to url.ParseQuery, which builds the event's query parameters.
func FuzzQueryValue(f *testing.F) {
	f.Add("a=1&b=2", "a")
	f.Add("a=%41&a=2", "a")
	f.Add("x;y=1&x=2", "x")
	f.Add("%zz=1&k=%", "k")
	f.Add("a+b=c", "a b")
	f.Fuzz(func(t *testing.T, query, key string) {
		if strings.Count(query, "&") > 1000 {
			return // url.ParseQuery refuses very long queries outright
		}
		values, _ := url.ParseQuery(query)
		want, wantOK := "", len(values[key]) > 0
		if wantOK {
			want = values[key][0]
		}
		got, ok := queryValue(query, key)
		if got != want || ok != wantOK {
			t.Fatalf("queryValue(%q, %q) = %q, %v; url.ParseQuery gives %q, %v", query, key, got, ok, want, wantOK)
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	e, err := Compile([]string{"$request.header.authorization", "$request.querystring.tenant", "$stageVariables.env", "$context.identity.sourceIp"})
	if err != nil {
		b.Fatal(err)
	}
	req := &request.Request{
		Headers:  map[string]string{"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "accept": "*/*", "user-agent": "bench"},
		RawQuery: "page=2&tenant=acme&sort=name",
	}
	stage := map[string]string{"env": "prod"}
	ctx := func(name string) (string, bool) { return "10.0.0.1", name == "identity.sourceIp" }
	dst := make([]string, 0, e.Len())
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = e.Extract(dst, req, stage, ctx)
	}
}
