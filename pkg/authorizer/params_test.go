package authorizer

import (
	"reflect"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/request"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		wantSingle map[string]string
		wantMulti  map[string][]string
	}{
		{"empty query gives empty maps, not nil", "", map[string]string{}, map[string][]string{}},
		{"repeated name keeps last in single, all in multi", "a=1&a=2&a=3",
			map[string]string{"a": "3"}, map[string][]string{"a": {"1", "2", "3"}}},
		{"percent escapes and plus are decoded", "q=a+b%20c&k%3D=v",
			map[string]string{"q": "a b c", "k=": "v"}, map[string][]string{"q": {"a b c"}, "k=": {"v"}}},
		{"name without value has empty value", "flag&x=",
			map[string]string{"flag": "", "x": ""}, map[string][]string{"flag": {""}, "x": {""}}},
		{"bad escape is kept as sent", "q=100%&r=%zz",
			map[string]string{"q": "100%", "r": "%zz"}, map[string][]string{"q": {"100%"}, "r": {"%zz"}}},
		{"semicolon is part of the value", "a=1;b=2",
			map[string]string{"a": "1;b=2"}, map[string][]string{"a": {"1;b=2"}}},
		{"empty parts and empty names are skipped", "&&=x&a=1&",
			map[string]string{"a": "1"}, map[string][]string{"a": {"1"}}},
		{"value may hold =", "t=a=b",
			map[string]string{"t": "a=b"}, map[string][]string{"t": {"a=b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			single, multi := parseQuery(tt.raw)
			if !reflect.DeepEqual(single, tt.wantSingle) {
				t.Errorf("single = %#v, want %#v", single, tt.wantSingle)
			}
			if !reflect.DeepEqual(multi, tt.wantMulti) {
				t.Errorf("multi = %#v, want %#v", multi, tt.wantMulti)
			}
		})
	}
}

func TestJoinedQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]string
	}{
		{"empty query is nil so the member is omitted", "", nil},
		{"only empty names is nil", "&=x", nil},
		{"repeated name is comma-joined in order", "p=v1&p=v2&q=x", map[string]string{"p": "v1,v2", "q": "x"}},
		{"decoded before joining", "p=a%2Cb&p=c+d", map[string]string{"p": "a,b,c d"}},
		{"repeated empty values keep their commas", "p=&p=", map[string]string{"p": ","}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinedQuery(tt.raw); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("joinedQuery(%q) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestSplitCookies(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   []string
	}{
		{"no cookie header gives nil", "", nil},
		{"one cookie", "a=1", []string{"a=1"}},
		{"cookies split on semicolon and space", "a=1; b=2;c=3", []string{"a=1", "b=2", "c=3"}},
		{"empty pieces dropped", " ; a=1;; ", []string{"a=1"}},
		{"comma stays inside a cookie value", "a=x,y; b=2", []string{"a=x,y", "b=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitCookies(tt.header); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitCookies(%q) = %#v, want %#v", tt.header, got, tt.want)
			}
		})
	}
}

func TestEventHeaders(t *testing.T) {
	facts := func(headers map[string]string) *request.Request {
		return &request.Request{Authority: "api.example.com:8443", Headers: headers}
	}
	tests := []struct {
		name       string
		headers    map[string]string
		dropCookie bool
		want       map[string]string
	}{
		{"pseudo-headers dropped, host from authority",
			map[string]string{":authority": "x", ":path": "/", "accept": "*/*"}, false,
			map[string]string{"accept": "*/*", "host": "api.example.com:8443"}},
		{"host header sent by Envoy wins over authority",
			map[string]string{"host": "other.example.com"}, false,
			map[string]string{"host": "other.example.com"}},
		{"cookie kept in 1.0",
			map[string]string{"cookie": "a=1"}, false,
			map[string]string{"cookie": "a=1", "host": "api.example.com:8443"}},
		{"cookie moved out in 2.0",
			map[string]string{"cookie": "a=1"}, true,
			map[string]string{"host": "api.example.com:8443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := eventHeaders(facts(tt.headers), tt.dropCookie); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eventHeaders = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEventHeadersDoesNotChangeTheRequest(t *testing.T) {
	headers := map[string]string{":authority": "x", "cookie": "a=1"}
	eventHeaders(&request.Request{Authority: "x", Headers: headers}, true)
	if len(headers) != 2 || headers["cookie"] != "a=1" {
		t.Errorf("request headers changed: %#v", headers)
	}
}
