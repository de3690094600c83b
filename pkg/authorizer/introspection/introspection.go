// Package introspection is the authorizer backend for opaque OAuth2 tokens: it asks the
// authorization server's introspection endpoint (RFC 7662) whether the bearer token is active,
// and turns the answer's members into the principal, context and IAM policy as the jwt backend
// does with a JWT's claims (package claims).
//
// An inactive token is authorizer.ErrUnauthorized (401). Everything else that is not a 200 with
// an RFC 7662 answer (another status, among them a 401 for our own client credentials, a
// timeout, a refused connection, a body that is not a JSON object with a boolean "active") fails
// closed: 500, never an allow.
package introspection

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/authorizer/claims"
	httpbackend "github.com/portcullis-dev/portcullis/pkg/authorizer/http"
)

// Timeout bounds.
const (
	DefaultTimeout = 5 * time.Second
	MaxTimeout     = 30 * time.Second
)

// defaultPrincipalClaims are tried in order when no principalIdClaim is configured: RFC 7662's
// sub, then username, then client_id (a client-credentials token has no user).
var defaultPrincipalClaims = []string{"sub", "username", "client_id"}

// Config is one introspection backend, its secret already resolved.
type Config struct {
	URL           string
	ClientID      string
	ClientSecret  string
	TokenTypeHint string        // sent as token_type_hint when set
	Timeout       time.Duration // zero: DefaultTimeout; at most MaxTimeout
	// PrincipalIDClaim names the member that is the principalId; empty: sub, username, client_id.
	PrincipalIDClaim string
	ContextClaims    []string
	Policy           []v1alpha1.PolicyRule
	// Now is the clock the answer's exp and nbf are read against; default time.Now.
	Now func() time.Time
}

// Backend introspects one authorizer's tokens. It is safe for concurrent use.
type Backend struct {
	name          string
	url           string
	authorization string // the Basic credentials, made once
	tokenTypeHint string
	timeout       time.Duration
	claims        *claims.Mapper
	client        *http.Client
	now           func() time.Time
}

var _ authorizer.Backend = (*Backend)(nil)

// New checks cfg and returns the backend of the authorizer called name. client is shared with
// the other HTTP backends (see the http backend's NewClient: no redirects followed, so a token
// is never resent elsewhere); nil means a client of its own from NewClient.
func New(name string, cfg Config, client *http.Client) (*Backend, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("authorizer %q: introspection url: %w", name, err)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("authorizer %q: introspection: no client id", name)
	}
	timeout := cfg.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultTimeout
	case timeout < 0 || timeout > MaxTimeout:
		return nil, fmt.Errorf("authorizer %q: introspection timeout %s is outside (0, %s]", name, timeout, MaxTimeout)
	}
	principal := defaultPrincipalClaims
	if cfg.PrincipalIDClaim != "" {
		principal = []string{cfg.PrincipalIDClaim}
	}
	mapper, err := claims.NewMapper(principal, cfg.ContextClaims, cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: introspection.policy: %w", name, err)
	}
	if client == nil {
		client = httpbackend.NewClient()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Backend{
		name:          name,
		url:           cfg.URL,
		authorization: basicAuth(cfg.ClientID, cfg.ClientSecret),
		tokenTypeHint: cfg.TokenTypeHint,
		timeout:       timeout,
		claims:        mapper,
		client:        client,
		now:           cfg.Now,
	}, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q, want http or https", u.Scheme)
	case u.Host == "":
		return errors.New("no host")
	case u.User != nil:
		return errors.New("credentials in the URL would be logged with it; use clientId and clientSecret")
	}
	return nil
}

// basicAuth is the Authorization value of RFC 6749 section 2.3.1: id and secret each
// form-encoded, then joined and base64-encoded as HTTP Basic does.
func basicAuth(id, secret string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r.Header.Get("Authorization")
}

// Authorize introspects req.Token ("Bearer " removed) and answers with the policy the token's
// members earn. No error holds the token or the answer's body.
func (b *Backend) Authorize(ctx context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	token := bearer(req.Token)
	if token == "" {
		return nil, fmt.Errorf("%w: no token", authorizer.ErrUnauthorized)
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	body, err := b.post(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", b.name, err)
	}
	answer, err := decodeAnswer(body)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: %w", b.name, err)
	}
	if err := b.checkActive(answer); err != nil {
		return nil, err
	}
	resp, err := b.claims.Response(req, answer)
	if err != nil {
		return nil, err
	}
	if exp, ok := numericDate(answer, "exp"); ok {
		resp.ExpiresAt = exp
	}
	return resp, nil
}

// bearer removes a leading "Bearer " (any case) and surrounding space.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	return v
}

// post sends the introspection request and returns the body of a 200 answer.
func (b *Backend) post(ctx context.Context, token string) ([]byte, error) {
	form := url.Values{"token": {token}}
	if b.tokenTypeHint != "" {
		form.Set("token_type_hint", b.tokenTypeHint)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "portcullis")
	hreq.Header.Set("Authorization", b.authorization)
	resp, err := b.client.Do(hreq)
	if err != nil {
		return nil, authorizer.TransportError(ctx, b.url, b.timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("POST %s: HTTP 401: the endpoint refused our client credentials", authorizer.RedactURL(b.url))
		}
		return nil, fmt.Errorf("POST %s: unexpected HTTP status %s", authorizer.RedactURL(b.url), resp.Status)
	}
	if resp.ContentLength > authorizer.MaxResponseBytes {
		return nil, authorizer.ErrResponseTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, authorizer.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("POST %s: read answer: %w", authorizer.RedactURL(b.url), err)
	}
	if len(body) > authorizer.MaxResponseBytes {
		return nil, authorizer.ErrResponseTooLarge
	}
	return body, nil
}

// decodeAnswer reads an RFC 7662 answer: a JSON object whose "active" member is a boolean.
// Numbers keep their text (json.Number), as claims in the jwt backend do.
func decodeAnswer(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var answer map[string]any
	if err := dec.Decode(&answer); err != nil || answer == nil {
		return nil, fmt.Errorf("%w: introspection answer is not a JSON object", authorizer.ErrConfiguration)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: introspection answer has data after its JSON object", authorizer.ErrConfiguration)
	}
	if _, ok := answer["active"].(bool); !ok {
		return nil, fmt.Errorf("%w: introspection answer has no boolean \"active\"", authorizer.ErrConfiguration)
	}
	return answer, nil
}

// checkActive refuses an inactive token, and an "active" one whose own times say it is not
// (a server whose clock or cache lags), or that is a refresh token: none may call the API.
func (b *Backend) checkActive(answer map[string]any) error {
	if answer["active"] != true {
		return fmt.Errorf("%w: token not active", authorizer.ErrUnauthorized)
	}
	now := b.now()
	if exp, ok := numericDate(answer, "exp"); ok && !now.Before(exp) {
		return fmt.Errorf("%w: token expired", authorizer.ErrUnauthorized)
	}
	if nbf, ok := numericDate(answer, "nbf"); ok && now.Before(nbf) {
		return fmt.Errorf("%w: token not valid yet", authorizer.ErrUnauthorized)
	}
	if typ, _ := answer["token_type"].(string); strings.EqualFold(typ, "refresh_token") {
		return fmt.Errorf("%w: a refresh token is not an access credential", authorizer.ErrUnauthorized)
	}
	return nil
}

// numericDate reads a member holding seconds since the epoch (RFC 7519 NumericDate), as
// introspection answers give exp, iat and nbf.
func numericDate(answer map[string]any, name string) (time.Time, bool) {
	n, ok := answer[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}
