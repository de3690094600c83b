package engine

import (
	"fmt"
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

// Past 16 keys duplicates are found with a set instead of a search: the same answers.
func TestUpstreamHeadersManyKeys(t *testing.T) {
	ctx := map[string]any{"principal_id": "root", "Role_Name": "admin", "role-name": "second"}
	for i := range 30 {
		ctx[fmt.Sprintf("k%02d", i)] = i
	}
	got, err := newUpstreamNames("x-authorizer-").headers("alice", policy.NewContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, h := range got {
		if _, dup := byName[h.Name]; dup {
			t.Fatalf("header %s twice in %v", h.Name, got)
		}
		byName[h.Name] = h.Value
	}
	if len(got) != 32 || byName["x-authorizer-principal-id"] != "alice" || byName["x-authorizer-role-name"] != "admin" || byName["x-authorizer-k07"] != "7" {
		t.Fatalf("%d headers: %v", len(got), got)
	}
}
