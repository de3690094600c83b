package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/request"
)

// seenFacts are what a backend call read of its request, as the event would carry them.
type seenFacts struct {
	methodArn, path, token, header, param, identity string
}

func factsOf(r *authorizer.Request) seenFacts {
	return seenFacts{
		methodArn: r.MethodArn, path: r.HTTP.Path, token: r.Token, header: r.HTTP.Headers["x-extra"],
		param: r.PathParameters["petId"], identity: fmt.Sprint(r.IdentitySource),
	}
}

// A backend call can outlive the request that started it: its caller gave up waiting (the
// client went away) while the slow backend still works. That request is released at once, its
// state going back to the pool and its Request struct and header map reused by the next request
// (as both fronts do), and the call still sends the event of its own request and stores its
// answer under its own identity's key, not under whatever the reused memory holds by then.
func TestReleaseWhileBackendCallRuns(t *testing.T) {
	entered, proceed := make(chan struct{}), make(chan struct{})
	seen := make(chan seenFacts, 1)
	fb := newFake()
	fb.answer = func(r *authorizer.Request) (*authorizer.Response, error) {
		if r.Token == "slow" {
			close(entered)
			<-proceed
			seen <- factsOf(r) // read after the request's memory was reused
		}
		return &authorizer.Response{PrincipalID: "user-" + r.Token, PolicyDocument: policyFor("Allow", "*")}, nil
	}
	e := newTestEngine(t, fb)
	// One Request struct and one header map, reused from request to request as a front does.
	headers := map[string]string{"authorization": "slow", "x-extra": "slow-extra"}
	r := req("GET", "api.example.com", "/v1/pets/1", nil)
	r.Headers = headers

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan *Decision)
	go func() { gaveUp <- e.Decide(ctx, r) }()
	<-entered
	cancel()
	d := <-gaveUp
	if d.Outcome == Allow || d.Cached {
		t.Fatalf("a caller that gave up: %v, cached %v", d.Outcome, d.Cached)
	}
	st := d.state
	if st == nil {
		t.Fatal("the Decision of a request whose backend call runs on holds no pooled state")
	}
	e.Release(d)
	if st.d.state != nil || st.t.methodArn != "" || st.id.key != ([32]byte{}) {
		t.Fatal("Release did not take back the state of a request whose backend call runs on")
	}
	// What the next request would write there, done by hand so that it does not depend on the
	// pool handing this state out again; then a real next request that may take it and hold it,
	// its own key in it, while the slow call finishes.
	for i := range st.t.arn {
		st.t.arn[i] = 'X'
	}
	st.id.key, st.d.key = [32]byte{1}, [32]byte{1}
	clear(headers)
	headers["authorization"], headers["x-extra"] = "other", "other-extra"
	*r = request.Request{Method: "GET", Host: "api.example.com", Path: "/v1/pets/2", Headers: headers, Scheme: "https"}
	held := e.Decide(context.Background(), r)
	if held.Outcome != Allow || held.PrincipalID != "user-other" {
		t.Fatalf("other: %v %q (%v)", held.Outcome, held.PrincipalID, held.Err)
	}

	close(proceed)
	want := seenFacts{
		methodArn: "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/1",
		path:      "/v1/pets/1", token: "slow", header: "slow-extra", param: "1", identity: "[slow]",
	}
	if got := <-seen; got != want {
		t.Fatalf("the backend call read another request's facts:\n got %+v\nwant %+v", got, want)
	}
	// This joins the slow call, returning once it stored, or finds what it stored.
	slow := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets/3", map[string]string{"authorization": "slow"}))
	if slow.Outcome != Allow || slow.PrincipalID != "user-slow" || !slow.Cached {
		t.Fatalf("slow after its call: %v %q, cached %v (%v)", slow.Outcome, slow.PrincipalID, slow.Cached, slow.Err)
	}
	e.Release(slow)
	e.Release(held)
	other := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets/4", map[string]string{"authorization": "other"}))
	if other.PrincipalID != "user-other" || !other.Cached {
		t.Fatalf("other after the slow call stored: %q, cached %v", other.PrincipalID, other.Cached)
	}
	e.Release(other)
	if n, m := fb.Calls("slow"), fb.Calls("other"); n != 1 || m != 1 {
		t.Fatalf("backend calls: slow %d, other %d; want 1 each", n, m)
	}
}

// A released Decision's memory serves the next request, and nothing of the previous one shows:
// neither after a cached allow nor after a backend call.
func TestReleasedStateStartsClean(t *testing.T) {
	e := newTestEngine(t, newFake())
	a := req("GET", "api.example.com", "/v1/pets/1", map[string]string{"authorization": "alice"})
	open := req("GET", "api.example.com", "/v1/open", nil)
	for i := range 20 {
		d := e.Decide(context.Background(), a)
		if d.Cached != (i > 0) || d.MethodArn != "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/1" {
			t.Fatalf("a: cached %v, methodArn %q", d.Cached, d.MethodArn)
		}
		e.Release(d)
		d = e.Decide(context.Background(), open)
		if d.Outcome != Allow || d.Answer != nil || d.PrincipalID != "" || d.Cached || d.TokenHash() != "" || d.Backend != 0 {
			t.Fatalf("a NONE route's decision kept a previous request's parts: %+v", d)
		}
		e.Release(d)
	}
}

// A Decision from Reject holds no pooled state; releasing it is harmless.
func TestReleaseRejected(t *testing.T) {
	e := newTestEngine(t, newFake())
	d := e.Reject(context.Background(), BadRequest, "id", errMissingIdentity)
	e.Release(d)
	if d.Outcome != BadRequest || d.RequestID != "id" {
		t.Fatalf("a rejected Decision changed on Release: %+v", d)
	}
}
