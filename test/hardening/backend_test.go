package hardening

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// event is the part of the Lambda authorizer event (TOKEN) the tests look at.
type event struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// authzServer is an HTTP authorizer on 127.0.0.1:0 that records the events it receives and
// answers with answer. It stops when the test ends.
type authzServer struct {
	*httptest.Server
	calls  atomic.Int64
	mu     sync.Mutex
	events map[string][]event // by authorizationToken
}

// answerFunc writes the authorizer's HTTP answer to the n-th call (from 1).
type answerFunc func(w http.ResponseWriter, r *http.Request, ev event, n int64)

func newAuthzServer(t testing.TB, answer answerFunc) *authzServer {
	t.Helper()
	s := &authzServer{events: map[string][]event{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.calls.Add(1)
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var ev event
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		if err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.events[ev.AuthorizationToken] = append(s.events[ev.AuthorizationToken], ev)
		s.mu.Unlock()
		answer(w, r, ev, n)
	}))
	t.Cleanup(s.Close)
	return s
}

// takeEvents returns the events received for token and forgets them, so long runs hold nothing.
func (s *authzServer) takeEvents(token string) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.events[token]
	delete(s.events, token)
	return ev
}

// statement is one IAM policy statement of an answer.
type statement struct {
	Effect   string `json:"Effect"`
	Action   string `json:"Action"`
	Resource any    `json:"Resource"`
}

// iamPolicy is a policy document of the statements.
func iamPolicy(statements []statement) []byte {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		panic(err) // only maps, strings and slices: cannot fail
	}
	return b
}

// iamAnswer is a Lambda authorizer answer in the IAM form.
func iamAnswer(principal string, ctx map[string]any, statements ...statement) []byte {
	doc := map[string]any{
		"principalId":    principal,
		"policyDocument": json.RawMessage(iamPolicy(statements)),
	}
	if ctx != nil {
		doc["context"] = ctx
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only maps, strings and slices: cannot fail
	}
	return b
}

func allowAll() statement { return statement{"Allow", "execute-api:Invoke", "*"} }
func denyAll() statement  { return statement{"Deny", "execute-api:Invoke", "*"} }

// answerWith answers every call 200 with body.
func answerWith(body []byte) answerFunc {
	return func(w http.ResponseWriter, _ *http.Request, _ event, _ int64) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}
