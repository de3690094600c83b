package request

import (
	"errors"
	"testing"
)

func TestHostOf(t *testing.T) {
	tests := []struct {
		name, authority, want string
	}{
		{"name", "api.example.com", "api.example.com"},
		{"upper-case lowered", "API.Example.COM", "api.example.com"},
		{"port stripped", "api.example.com:8443", "api.example.com"},
		{"empty port stripped", "api.example.com:", "api.example.com"},
		{"trailing dot dropped", "api.example.com.", "api.example.com"},
		{"trailing dot dropped before port", "api.example.com.:443", "api.example.com"},
		{"IPv4", "10.0.0.1:80", "10.0.0.1"},
		{"IPv6 brackets removed", "[::1]", "::1"},
		{"IPv6 port stripped", "[2001:DB8::1]:8080", "2001:db8::1"},
		{"empty authority", "", ""},
		{"underscore allowed", "my_host", "my_host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostOf(tt.authority)
			if err != nil {
				t.Fatalf("hostOf(%q) error: %v", tt.authority, err)
			}
			if got != tt.want {
				t.Errorf("hostOf(%q) = %q, want %q", tt.authority, got, tt.want)
			}
		})
	}
}

func TestHostOfRejects(t *testing.T) {
	tests := []struct {
		name, authority string
	}{
		{"unterminated IPv6", "[::1"},
		{"empty IPv6", "[]"},
		{"name in brackets", "[example.com]"},
		{"text after IPv6", "[::1]x"},
		{"unbracketed IPv6", "::1"},
		{"non-numeric port", "example.com:http"},
		{"port too long", "example.com:123456"},
		{"userinfo", "user@example.com"},
		{"slash", "example.com/evil"},
		{"space", "example .com"},
		{"control character", "example.com\r\n"},
		{"percent-encoding", "ex%61mple.com"},
		{"non-ASCII", "ex\u00e4mple.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hostOf(tt.authority)
			if err == nil {
				t.Fatalf("hostOf(%q) = %q, want error", tt.authority, got)
			}
			if !errors.Is(err, ErrBadHost) || !errors.Is(err, ErrBadRequest) {
				t.Errorf("hostOf(%q) error %v does not wrap ErrBadHost and ErrBadRequest", tt.authority, err)
			}
		})
	}
}
