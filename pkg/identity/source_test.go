package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want Source
	}{
		{"REST header lower-cased", "method.request.header.Authorization",
			Source{KindHeader, "authorization", "method.request.header.Authorization"}},
		{"HTTP API header lower-cased", "$request.header.X-Api-Key",
			Source{KindHeader, "x-api-key", "$request.header.X-Api-Key"}},
		{"REST query string keeps case", "method.request.querystring.Token",
			Source{KindQueryString, "Token", "method.request.querystring.Token"}},
		{"HTTP API query string", "$request.querystring.token",
			Source{KindQueryString, "token", "$request.querystring.token"}},
		{"REST stage variable", "stageVariables.env_name",
			Source{KindStageVariable, "env_name", "stageVariables.env_name"}},
		{"HTTP API stage variable", "$stageVariables.env",
			Source{KindStageVariable, "env", "$stageVariables.env"}},
		{"REST dotted context variable", "context.identity.sourceIp",
			Source{KindContext, "identity.sourceIp", "context.identity.sourceIp"}},
		{"HTTP API context variable", "$context.requestId",
			Source{KindContext, "requestId", "$context.requestId"}},
		{"surrounding spaces ignored", "  $request.header.Auth ",
			Source{KindHeader, "auth", "$request.header.Auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		wantMsg string
	}{
		{"empty", "", "want method.request.header.NAME"},
		{"unknown prefix", "method.request.path.id", "want method.request.header.NAME"},
		{"misspelt prefix", "method.request.heder.Authorization", "want method.request.header.NAME"},
		{"prefix case matters", "Method.Request.Header.Authorization", "want method.request.header.NAME"},
		{"REST prefix with dollar", "$method.request.header.Authorization", "want method.request.header.NAME"},
		{"empty header name", "method.request.header.", "empty name"},
		{"header name with space", "$request.header.X Api", "header name"},
		{"header name with colon", "$request.header.x:y", "header name"},
		{"query name with ampersand", "$request.querystring.a&b", "query parameter name"},
		{"query name with comma", "method.request.querystring.a,b", "query parameter name"},
		{"stage variable with dash", "stageVariables.my-var", "stage variable name"},
		{"context with empty segment", "context.identity..sourceIp", "context variable name"},
		{"context ending in dot", "$context.identity.", "context variable name"},
		{"bare name", "Authorization", "want method.request.header.NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tt.expr)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error %v is not ErrSyntax", tt.expr, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.expr, err, tt.wantMsg)
			}
		})
	}
}

func TestParseAllStopsAtFirstError(t *testing.T) {
	_, err := ParseAll([]string{"$request.header.a", "nope", "$request.header.b"})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("ParseAll error = %v, want one naming \"nope\"", err)
	}
	got, err := ParseAll([]string{"$request.header.A", "$context.stage"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[1].Kind != KindContext {
		t.Fatalf("ParseAll = %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"method.request.header.Authorization", "$request.querystring.q", "stageVariables.x",
		"$context.identity.sourceIp", "context.", "$request.header.", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		src, err := Parse(expr)
		if err != nil {
			return
		}
		if src.Name == "" || src.Kind < KindHeader || src.Kind > KindContext {
			t.Fatalf("Parse(%q) = %+v: accepted without a name or kind", expr, src)
		}
		if src.Kind == KindHeader && src.Name != strings.ToLower(src.Name) {
			t.Fatalf("Parse(%q): header name %q not lower-case", expr, src.Name)
		}
		again, err := Parse(src.Expr)
		if err != nil || again != src {
			t.Fatalf("Parse(%q) = %+v does not round-trip: %+v, %v", expr, src, again, err)
		}
	})
}
