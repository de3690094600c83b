// Package introspectiontest runs a real OAuth2 authorization server for tests of the
// introspection backend: zitadel/oidc's OpenID provider (package op) with its in-memory example
// storage, on 127.0.0.1. Its tokens are opaque (encrypted, not JWTs) and its introspection
// endpoint is the library's RFC 7662 implementation, client authentication included.
package introspectiontest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The client Portcullis introspects as, and the users the example storage knows.
const (
	ClientID     = "portcullis"
	ClientSecret = "introspect-me"
	User1        = "id1" // test-user@127.0.0.1
	User2        = "id2" // test-user2
)

// Server is one running provider.
type Server struct {
	URL      string // the issuer
	provider *op.Provider
	client   op.Client
	srv      *httptest.Server
	calls    atomic.Int64
}

// IntrospectionURL is the provider's introspection endpoint.
func (s *Server) IntrospectionURL() string { return s.URL + "/oauth/introspect" }

// Calls counts the introspection requests the server received.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Close stops the server; further introspection requests are refused connections.
func (s *Server) Close() { s.srv.Close() }

// New starts a provider on 127.0.0.1:0, stopped when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	var handler http.Handler
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/introspect" {
			s.calls.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	clients := map[string]*storage.Client{ClientID: storage.WebClient(ClientID, ClientSecret)}
	st := storage.NewStorageWithClients(storage.NewUserStore(s.URL), clients)
	var key [32]byte
	copy(key[:], "portcullis introspection tests!!")
	provider, err := op.NewProvider(&op.Config{CryptoKey: key}, st, op.StaticIssuer(s.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	s.provider, handler = provider, provider
	if s.client, err = st.GetClientByClientID(context.Background(), ClientID); err != nil {
		t.Fatal(err)
	}
	return s
}

// Mint issues an opaque access token for user with scopes (openid is added so the answer names
// the subject), for the Portcullis client's audience, as the provider's token endpoint would.
// It lives five minutes (the example storage's lifetime).
func (s *Server) Mint(t testing.TB, user string, scopes ...string) string {
	t.Helper()
	req := &oidc.JWTTokenRequest{Subject: user, Audience: []string{ClientID}, Scopes: append([]string{oidc.ScopeOpenID, oidc.ScopeProfile}, scopes...)}
	token, _, _, err := op.CreateAccessToken(context.Background(), req, op.AccessTokenTypeBearer, s.provider, s.client, "")
	if err != nil {
		t.Fatal(err)
	}
	return token
}
