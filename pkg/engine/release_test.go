package engine

import (
	"context"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

// A backend call can outlive the request that started it (its caller gave up waiting) and still
// stores its answer under that request's cache key, which lives in the request's state. Released
// decisions are reused by later requests, so that state must not go back to the pool: if it did,
// the late answer would be stored under another identity's key.
func TestReleaseKeepsAnOutlivingFetchsState(t *testing.T) {
	entered, proceed := make(chan struct{}), make(chan struct{})
	fb := newFake()
	fb.answer = func(r *authorizer.Request) (*authorizer.Response, error) {
		if r.Token == "slow" {
			close(entered)
			<-proceed
		}
		return &authorizer.Response{PrincipalID: "user-" + r.Token, PolicyDocument: policyFor("Allow", "*")}, nil
	}
	e := newTestEngine(t, fb)
	slow := req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": "slow"})
	other := req("GET", "api.example.com", "/v1/pets/2", map[string]string{"authorization": "other"})

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan *Decision)
	go func() { gaveUp <- e.Decide(ctx, slow) }()
	<-entered
	cancel()
	d := <-gaveUp
	if d.Outcome == Allow {
		t.Fatalf("a caller that gave up was allowed: %v", d.Outcome)
	}
	if e.Release(d) {
		t.Fatal("Release took back a Decision whose backend call is still running")
	}
	// The next request takes what went back to the pool, if anything did, and holds it, with its
	// own key in it, while the slow flight stores its answer.
	held := e.Decide(context.Background(), other)
	if held.Outcome != Allow || held.PrincipalID != "user-other" {
		t.Fatalf("other: %v %q", held.Outcome, held.PrincipalID)
	}
	close(proceed)
	// This joins the slow flight, returning once it stored, or finds what it stored.
	d = e.Decide(context.Background(), slow)
	if d.Outcome != Allow || d.PrincipalID != "user-slow" {
		t.Fatalf("slow after its flight: %v %q (%v)", d.Outcome, d.PrincipalID, d.Err)
	}
	e.Release(d)
	e.Release(held)
	d = e.Decide(context.Background(), other)
	if d.PrincipalID != "user-other" || !d.Cached {
		t.Fatalf("other after the slow flight stored: %q, cached %v", d.PrincipalID, d.Cached)
	}
	if !e.Release(d) {
		t.Fatal("Release did not take back a cached allow's Decision")
	}
	if n, m := fb.Calls("slow"), fb.Calls("other"); n != 1 || m != 1 {
		t.Fatalf("backend calls: slow %d, other %d; want 1 each", n, m)
	}
}

// A released Decision's memory serves the next request, and nothing of the previous one shows.
func TestReleasedStateStartsClean(t *testing.T) {
	e := newTestEngine(t, newFake())
	a := req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": "alice"})
	open := req("GET", "api.example.com", "/v1/open", nil)
	e.Decide(context.Background(), a) // fills the cache: from now on a's decisions are pooled
	for range 20 {
		d := e.Decide(context.Background(), a)
		if !d.Cached || d.MethodArn != "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/1" {
			t.Fatalf("a: cached %v, methodArn %q", d.Cached, d.MethodArn)
		}
		e.Release(d)
		d = e.Decide(context.Background(), open)
		if d.Outcome != Allow || d.Answer != nil || d.PrincipalID != "" || d.Cached || d.TokenHash() != "" {
			t.Fatalf("a NONE route's decision kept a previous request's parts: %+v", d)
		}
		e.Release(d)
	}
}
