package request

import (
	"errors"
	"maps"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

func rawHeaders(kv ...string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for i := 0; i+1 < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return hm
}

func TestHeadersOf(t *testing.T) {
	tests := []struct {
		name string
		http *authv3.AttributeContext_HttpRequest
		want map[string]string
	}{
		{
			name: "headers map used as sent",
			http: &authv3.AttributeContext_HttpRequest{Headers: map[string]string{"authorization": "Bearer x"}},
			want: map[string]string{"authorization": "Bearer x"},
		},
		{
			name: "raw header map converted",
			http: &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("authorization", "Bearer x", "x-a", "1")},
			want: map[string]string{"authorization": "Bearer x", "x-a": "1"},
		},
		{
			name: "raw repeated headers joined with comma as Envoy joins them",
			http: &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("x-a", "1", "x-b", "b", "x-a", "2", "x-a", "3")},
			want: map[string]string{"x-a": "1,2,3", "x-b": "b"},
		},
		{
			name: "raw names lower-cased and merged across case",
			http: &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("X-A", "1", "x-a", "2")},
			want: map[string]string{"x-a": "1,2"},
		},
		{
			name: "raw entry with empty name skipped",
			http: &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("", "v", "x-a", "1")},
			want: map[string]string{"x-a": "1"},
		},
		{
			name: "value used when raw value unset",
			http: &authv3.AttributeContext_HttpRequest{HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "x-a", Value: "v"}}}},
			want: map[string]string{"x-a": "v"},
		},
		{
			name: "map preferred over raw header map",
			http: &authv3.AttributeContext_HttpRequest{
				Headers:   map[string]string{"x-a": "map"},
				HeaderMap: rawHeaders("x-a", "raw"),
			},
			want: map[string]string{"x-a": "map"},
		},
		{
			name: "no headers",
			http: &authv3.AttributeContext_HttpRequest{},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := headersOf(tt.http)
			if err != nil {
				t.Fatalf("headersOf error: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("headersOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHeadersOfSizeLimit(t *testing.T) {
	big := strings.Repeat("v", MaxHeaderBytes)
	manyEmpty := make([]string, 0, 2*(MaxHeaderBytes/headerOverhead+1))
	for range MaxHeaderBytes/headerOverhead + 1 {
		manyEmpty = append(manyEmpty, "a", "")
	}
	fits := strings.Repeat("v", MaxHeaderBytes-len("x-a")-headerOverhead)
	tests := []struct {
		name   string
		http   *authv3.AttributeContext_HttpRequest
		tooBig bool
	}{
		{"map over limit", &authv3.AttributeContext_HttpRequest{Headers: map[string]string{"x-a": big}}, true},
		{"raw map over limit", &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("x-a", big)}, true},
		{"flood of empty raw headers counted", &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders(manyEmpty...)}, true},
		{"map exactly at limit", &authv3.AttributeContext_HttpRequest{Headers: map[string]string{"x-a": fits}}, false},
		{"raw map exactly at limit", &authv3.AttributeContext_HttpRequest{HeaderMap: rawHeaders("x-a", fits)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := headersOf(tt.http)
			if tt.tooBig != errors.Is(err, ErrTooLarge) {
				t.Errorf("headersOf error = %v, want ErrTooLarge: %v", err, tt.tooBig)
			}
			if !tt.tooBig && err != nil {
				t.Errorf("headersOf error = %v, want none", err)
			}
		})
	}
}
