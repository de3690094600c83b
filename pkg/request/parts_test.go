package request

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFromPartsInto(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	headers := map[string]string{"authorization": "Bearer t", "host": "API.example.com:8443"}
	p := &Parts{Method: "get", Authority: "API.example.com:8443", Target: "/prod/my%20pets/42?limit=10",
		Scheme: "http", Protocol: "HTTP/1.1", Headers: headers, SourceIP: "203.0.113.7", RequestID: "id-1"}
	// A reused Request keeps nothing of its last use.
	got := &Request{ContextExtensions: map[string]string{"authorizer": "NONE"}, RawQuery: "old"}
	if err := FromPartsInto(got, p, now); err != nil {
		t.Fatal(err)
	}
	want := &Request{Method: "GET", Host: "api.example.com", Authority: "API.example.com:8443", Scheme: "http",
		Protocol: "HTTP/1.1", RawPath: "/prod/my%20pets/42", Path: "/prod/my pets/42", RawQuery: "limit=10",
		Headers: headers, SourceIP: "203.0.113.7", RequestID: "id-1", Time: now}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FromPartsInto =\n%+v\nwant\n%+v", got, want)
	}
}

// FromPartsInto must refuse what FromCheckInto refuses, with the same sentinels.
func TestFromPartsIntoRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Parts)
		want error
	}{
		{"dot-dot segment", func(p *Parts) { p.Target = "/a/../admin" }, ErrBadPath},
		{"encoded dot-dot", func(p *Parts) { p.Target = "/a/%2e%2e/admin" }, ErrBadPath},
		{"encoded slash", func(p *Parts) { p.Target = "/a%2Fb" }, ErrBadPath},
		{"control character", func(p *Parts) { p.Target = "/a%00b" }, ErrBadPath},
		{"absolute-form target", func(p *Parts) { p.Target = "http://evil/x" }, ErrBadPath},
		{"empty target", func(p *Parts) { p.Target = "" }, ErrBadPath},
		{"method not a token", func(p *Parts) { p.Method = "GET X" }, ErrBadMethod},
		{"empty method", func(p *Parts) { p.Method = "" }, ErrBadMethod},
		{"host with userinfo", func(p *Parts) { p.Authority = "a@b" }, ErrBadHost},
		{"target over limit", func(p *Parts) { p.Target = "/?" + strings.Repeat("q", MaxPathBytes) }, ErrTooLarge},
		{"headers over limit", func(p *Parts) { p.Headers = map[string]string{"cookie": strings.Repeat("c", MaxHeaderBytes)} }, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Parts{Method: "GET", Authority: "api.example.com", Target: "/pets"}
			tt.edit(p)
			if err := FromPartsInto(new(Request), p, time.Time{}); !errors.Is(err, tt.want) {
				t.Errorf("FromPartsInto error = %v, want %v", err, tt.want)
			}
		})
	}
}
