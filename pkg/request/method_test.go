package request

import (
	"errors"
	"testing"
)

func TestMethodOf(t *testing.T) {
	tests := []struct {
		name, method, want string
		wantErr            bool
	}{
		{name: "upper-case kept", method: "GET", want: "GET"},
		{name: "lower-case raised", method: "post", want: "POST"},
		{name: "mixed case raised", method: "PaTcH", want: "PATCH"},
		{name: "extension method", method: "PROPFIND", want: "PROPFIND"},
		{name: "token punctuation", method: "M-SEARCH", want: "M-SEARCH"},
		{name: "empty", method: "", wantErr: true},
		{name: "space", method: "GET ", wantErr: true},
		{name: "slash", method: "GE/T", wantErr: true},
		{name: "NUL", method: "GET\x00", wantErr: true},
		{name: "non-ASCII", method: "G\u00c9T", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := methodOf(tt.method)
			if tt.wantErr {
				if !errors.Is(err, ErrBadMethod) || !errors.Is(err, ErrBadRequest) {
					t.Fatalf("methodOf(%q) = %q, %v; want ErrBadMethod", tt.method, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("methodOf(%q) = %q, %v; want %q", tt.method, got, err, tt.want)
			}
		})
	}
}
