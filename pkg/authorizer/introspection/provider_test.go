package introspection_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/introspection"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/introspection/introspectiontest"
)

// The backend against a real authorization server: zitadel/oidc's provider, its opaque tokens
// and its RFC 7662 endpoint.
func TestAgainstOIDCProvider(t *testing.T) {
	as := introspectiontest.New(t)
	backend := func(secret string) *introspection.Backend {
		b, err := introspection.New("opaque", introspection.Config{
			URL: as.IntrospectionURL(), ClientID: introspectiontest.ClientID, ClientSecret: secret,
			TokenTypeHint: "access_token", ContextClaims: []string{"preferred_username"},
			Policy: []v1alpha1.PolicyRule{{Scopes: []string{"pets:write"}, Effect: "Allow", Routes: []string{"* *"}}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := backend(introspectiontest.ClientSecret)
	token := as.Mint(t, introspectiontest.User1, "pets:write")
	if strings.Count(token, ".") == 2 {
		t.Fatalf("the provider minted a JWT; want an opaque token")
	}

	resp, err := good.Authorize(context.Background(), tokenRequest("Bearer "+token))
	if err != nil {
		t.Fatal(err)
	}
	if resp.PrincipalID != introspectiontest.User1 || resp.Context["preferred_username"] != "test-user@127.0.0.1" {
		t.Errorf("principal %q context %v", resp.PrincipalID, resp.Context)
	}
	if left := time.Until(resp.ExpiresAt); left <= 0 || left > 5*time.Minute+time.Second {
		t.Errorf("ExpiresAt %v is not the token's exp, five minutes ahead", resp.ExpiresAt)
	}
	if got := resources(t, resp.PolicyDocument)["Allow"]; len(got) != 1 || got[0] != arn+"*/*" {
		t.Errorf("policy allows %v", got)
	}

	if _, err := good.Authorize(context.Background(), tokenRequest("Bearer not-a-token")); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("unknown token: err %v, want ErrUnauthorized", err)
	}
	if _, err := backend("wrong").Authorize(context.Background(), tokenRequest("Bearer "+token)); err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
		t.Errorf("wrong client secret: err %v, want a failure (500), not a 401 for the caller", err)
	}
}
