package engine

import (
	"reflect"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/policy"
)

func TestUpstreamHeaders(t *testing.T) {
	got, err := newUpstreamNames("x-authorizer-").headers("alice", policy.NewContext(map[string]any{
		"Tier Level":   3,
		"principal_id": "root", // would read as the principal header upstream: dropped
		"Role_Name":    "admin",
		"role-name":    "second spelling of the same header: the first key in order wins",
		"ok":           true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{Name: "x-authorizer-principal-id", Value: "alice"},
		{Name: "x-authorizer-role-name", Value: "admin"},
		{Name: "x-authorizer-tier-level", Value: "3"},
		{Name: "x-authorizer-ok", Value: "true"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers = %v\nwant      %v", got, want)
	}
	if _, err := newUpstreamNames("x-authorizer-").headers("alice", policy.NewContext(map[string]any{"k": "a\r\nx-admin: 1"})); err == nil {
		t.Fatal("a context value with CR LF was accepted")
	}
}
