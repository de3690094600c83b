package arn

import (
	"errors"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		want   string
	}{
		{"root path keeps the trailing slash", "GET", "/", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/"},
		{"empty path is the root", "GET", "", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/"},
		{"path values in place", "GET", "/pets/42", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42"},
		{"path without leading slash", "POST", "pets", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/pets"},
		{"only one leading slash removed", "GET", "//x", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET//x"},
		{"decoded characters kept", "DELETE", "/files/a b:c", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/DELETE/files/a b:c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build("us-east-1", "123456789012", "a1b2c3d4e5", "prod", tt.method, tt.path)
			if got != tt.want {
				t.Errorf("Build = %q, want %q", got, tt.want)
			}
			buf := Append([]byte("x"), "us-east-1", "123456789012", "a1b2c3d4e5", "prod", tt.method, tt.path)
			if string(buf) != "x"+tt.want {
				t.Errorf("Append = %q, want %q", buf, "x"+tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    MethodArn
		wantErr string
	}{
		{
			name: "root path",
			in:   "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/",
			want: MethodArn{"us-east-1", "123456789012", "a1b2c3d4e5", "prod", "GET", "/"},
		},
		{
			name: "deep path with colons",
			in:   "arn:aws:execute-api:eu-west-3:000000000000:api/$default/POST/v1/items:batchGet/x",
			want: MethodArn{"eu-west-3", "000000000000", "api", "$default", "POST", "/v1/items:batchGet/x"},
		},
		{"missing arn prefix", "aws:execute-api:us-east-1:123456789012:a/prod/GET/", MethodArn{}, `does not start with "arn:"`},
		{"other partition", "arn:aws-cn:execute-api:cn-north-1:123456789012:a/prod/GET/", MethodArn{}, "partition"},
		{"other service", "arn:aws:lambda:us-east-1:123456789012:a/prod/GET/", MethodArn{}, "service"},
		{"too few fields", "arn:aws:execute-api:us-east-1", MethodArn{}, "want arn:aws:execute-api"},
		{"no trailing slash after method", "arn:aws:execute-api:us-east-1:123456789012:a/prod/GET", MethodArn{}, "resource"},
		{"upper-case region", "arn:aws:execute-api:US-EAST-1:123456789012:a/prod/GET/", MethodArn{}, "region"},
		{"empty region", "arn:aws:execute-api::123456789012:a/prod/GET/", MethodArn{}, "region"},
		{"short account", "arn:aws:execute-api:us-east-1:1234:a/prod/GET/", MethodArn{}, "account"},
		{"wildcard account", "arn:aws:execute-api:us-east-1:*:a/prod/GET/", MethodArn{}, "account"},
		{"empty api id", "arn:aws:execute-api:us-east-1:123456789012:/prod/GET/", MethodArn{}, "API id"},
		{"empty stage", "arn:aws:execute-api:us-east-1:123456789012:a//GET/", MethodArn{}, "stage"},
		{"empty method", "arn:aws:execute-api:us-east-1:123456789012:a/prod//x", MethodArn{}, "empty method"},
		{"method with space", "arn:aws:execute-api:us-east-1:123456789012:a/prod/G T/x", MethodArn{}, "method"},
		{"control character in path", "arn:aws:execute-api:us-east-1:123456789012:a/prod/GET/a\nb", MethodArn{}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalid containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name                          string
		region, account, apiID, stage string
		wantErr                       string
	}{
		{"typical parts", "us-east-1", "123456789012", "a1b2c3d4e5", "prod", ""},
		{"default stage of an HTTP API", "us-east-1", "123456789012", "a1b2c3d4e5", "$default", ""},
		{"colon in region", "us:east", "123456789012", "a", "prod", "region"},
		{"letters in account", "us-east-1", "12345678901x", "a", "prod", "account"},
		{"slash in api id", "us-east-1", "123456789012", "a/b", "prod", "API id"},
		{"slash in stage", "us-east-1", "123456789012", "a", "pr/od", "stage"},
		{"dollar in api id", "us-east-1", "123456789012", "$a", "prod", "API id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.region, tt.account, tt.apiID, tt.stage)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate error = %v, want one about %q", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = Append(buf[:0], "us-east-1", "123456789012", "a1b2c3d4e5", "prod", "GET", "/pets/42")
	}
}
