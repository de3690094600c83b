package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/config"
	"github.com/portcullis-dev/portcullis/pkg/config/demo"
	"github.com/portcullis-dev/portcullis/pkg/engine"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// TestBlueprint runs minted tokens through the embedded demo: admins may do everything, others
// GET anything and POST only to their own /users/{sub}.
func TestBlueprint(t *testing.T) {
	snap, err := config.Build(context.Background(), config.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Demo {
		t.Fatal("no paths must serve the embedded demo")
	}
	e, err := engine.New(snap, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	mint := func(sub string, scopes ...string) string {
		tok, err := demo.Mint(sub, scopes, time.Hour, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	alice, admin := mint("alice"), mint("root", "admins")
	expired, _ := demo.Mint("alice", nil, time.Minute, nil, time.Now().Add(-time.Hour))
	tests := []struct {
		name, method, path, auth string
		want                     engine.Outcome
	}{
		{"anyone may GET", "GET", "/pets/1", alice, engine.Allow},
		{"anyone may GET the root", "GET", "/", alice, engine.MissingToken}, // /{proxy+} needs a segment
		{"a user may POST to their own record", "POST", "/users/alice", alice, engine.Allow},
		{"but not to another's", "POST", "/users/bob", alice, engine.ImplicitDeny},
		{"nor DELETE", "DELETE", "/pets/1", alice, engine.ImplicitDeny},
		{"admins may DELETE", "DELETE", "/pets/1", admin, engine.Allow},
		{"admins may POST anywhere", "POST", "/users/bob", admin, engine.Allow},
		{"health needs no token", "GET", "/health", "", engine.Allow},
		{"no token", "GET", "/pets", "", engine.Unauthorized},
		{"expired token", "GET", "/pets", "Bearer " + expired, engine.Unauthorized},
		{"token of another secret", "GET", "/pets", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", engine.Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &request.Request{Method: tt.method, Host: "localhost", Path: tt.path, Headers: map[string]string{}}
			if tt.auth != "" {
				r.Headers["authorization"] = tt.auth
			}
			if d := e.Decide(context.Background(), r); d.Outcome != tt.want {
				t.Fatalf("got %s (%v), want %s", d.Outcome, d.Err, tt.want)
			}
		})
	}
}

func TestMintRejectsBadInput(t *testing.T) {
	if _, err := demo.Mint("", nil, time.Hour, nil, time.Now()); err == nil {
		t.Error("empty subject accepted")
	}
	if _, err := demo.Mint("a", nil, 0, nil, time.Now()); err == nil {
		t.Error("zero lifetime accepted")
	}
}
