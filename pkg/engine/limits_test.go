package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/pkg/authorizer"
)

func TestBackendCallsAreBoundedPerAuthorizer(t *testing.T) {
	fb := newFake()
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	fb.answer = func(req *authorizer.Request) (*authorizer.Response, error) {
		entered <- struct{}{}
		<-release
		return &authorizer.Response{PrincipalID: "p", PolicyDocument: policyFor("Allow", "*")}, nil
	}
	e := newTestEngine(t, fb, Options{BackendMaxInflight: 1, BackendQueueWait: 20 * time.Millisecond})
	first := make(chan *Decision)
	go func() {
		first <- e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "one"}))
	}()
	<-entered
	// The only slot is taken by a slow call: another identity fails closed instead of piling up.
	d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "two"}))
	if d.Outcome != AuthorizerFailure || !errors.Is(d.Err, errBackendBusy) {
		t.Fatalf("second identity: %s (%v), want an authorizer failure for a busy backend", d.Outcome, d.Err)
	}
	close(release)
	if d := <-first; d.Outcome != Allow {
		t.Fatalf("first identity: %s (%v)", d.Outcome, d.Err)
	}
	if d := e.Decide(context.Background(), req("GET", "api.example.com", "/v1/pets", map[string]string{"authorization": "two"})); d.Outcome != Allow {
		t.Fatalf("after the slot freed: %s (%v)", d.Outcome, d.Err)
	}
}
