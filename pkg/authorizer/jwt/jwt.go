// Package jwt is the built-in JWT authorizer: it verifies a bearer JWT as API Gateway HTTP API JWT
// authorizers do (issuer, audience, expiry, an algorithm allow-list, keys from a JWKS, OIDC
// discovery or the config) and turns the token's claims into an IAM policy from the authorizer's
// rules, so no Lambda function is needed.
package jwt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	tokenclaims "github.com/portcullis-dev/portcullis/pkg/authorizer/claims"
)

// Options carry what the authorizer needs from its surroundings.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// Secret resolves a SecretValue (the HMAC secret).
	Secret func(v v1alpha1.SecretValue) (string, error)
	// RefreshInterval is how often a remote key set is refetched; default 15 minutes.
	RefreshInterval time.Duration
}

// Authorizer verifies JWTs and produces the principal, context, scopes and policy.
type Authorizer struct {
	name     string
	issuer   string
	audience []string
	claims   *tokenclaims.Mapper
	keys     *keySource
	parser   *gojwt.Parser
	now      func() time.Time
	cancel   context.CancelFunc
}

var _ authorizer.Backend = (*Authorizer)(nil)

// New builds the JWT authorizer called name. A remote key set is fetched in the background,
// starting now; Ready reports when it has been.
func New(ctx context.Context, name string, spec *v1alpha1.JWTBackend, opts Options) (*Authorizer, error) {
	copied := *spec // Default writes only top-level fields of the copy
	spec = &copied
	spec.Default()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 15 * time.Minute
	}
	mapper, err := tokenclaims.NewMapper([]string{spec.PrincipalIDClaim}, spec.ContextClaims, spec.Policy)
	if err != nil {
		return nil, fmt.Errorf("authorizer %q: jwt.policy: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	keys, err := newKeySource(ctx, name, spec, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("authorizer %q: jwt: %w", name, err)
	}
	a := &Authorizer{
		name:     name,
		issuer:   spec.Issuer,
		audience: spec.Audience,
		claims:   mapper,
		keys:     keys,
		now:      opts.Now,
		cancel:   cancel,
	}
	a.parser = gojwt.NewParser(
		gojwt.WithValidMethods(spec.Algorithms),
		gojwt.WithIssuer(spec.Issuer),
		gojwt.WithLeeway(spec.ClockSkew.Duration),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithTimeFunc(opts.Now),
		gojwt.WithJSONNumber(),
	)
	return a, nil
}

// Ready reports whether the signing keys are at hand (a remote set fetched at least once).
func (a *Authorizer) Ready() bool { return a.keys.ready() }

// Close stops the background key set refresh.
func (a *Authorizer) Close() { a.cancel() }

// Authorize verifies req.Token and answers with the policy its claims earn.
func (a *Authorizer) Authorize(ctx context.Context, req *authorizer.Request) (*authorizer.Response, error) {
	raw := strings.TrimSpace(req.Token)
	if len(raw) >= 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return nil, fmt.Errorf("%w: no token", authorizer.ErrUnauthorized)
	}
	held := gojwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, held, a.keys.keyfunc(ctx))
	if err != nil {
		if errors.Is(err, errNoKeys) {
			return nil, fmt.Errorf("authorizer %q: %w", a.name, errNoKeys)
		}
		return nil, fmt.Errorf("%w: %s", authorizer.ErrUnauthorized, reason(err))
	}
	if !a.audienceOK(held) {
		return nil, fmt.Errorf("%w: audience not accepted", authorizer.ErrUnauthorized)
	}
	resp, err := a.claims.Response(req, held)
	if err != nil {
		return nil, err
	}
	if exp, err := held.GetExpirationTime(); err == nil && exp != nil {
		resp.ExpiresAt = exp.Time
	}
	return resp, nil
}

// reason names why a token failed without quoting it.
func reason(err error) string {
	switch {
	case errors.Is(err, gojwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, gojwt.ErrTokenNotValidYet):
		return "token not valid yet"
	case errors.Is(err, gojwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, gojwt.ErrTokenInvalidIssuer):
		return "issuer not accepted"
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		return "signature invalid"
	case errors.Is(err, gojwt.ErrTokenRequiredClaimMissing):
		return "required claim missing"
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, gojwt.ErrTokenUnverifiable):
		return "token unverifiable (algorithm or key)"
	}
	return "token invalid"
}

// audienceOK: with an audience configured, aud or client_id must hold one of its values.
func (a *Authorizer) audienceOK(held gojwt.MapClaims) bool {
	if len(a.audience) == 0 {
		return true
	}
	auds, _ := held.GetAudience()
	if cid, ok := tokenclaims.String(held, "client_id"); ok {
		auds = append(auds, cid)
	}
	for _, want := range a.audience {
		for _, h := range auds {
			if h == want {
				return true
			}
		}
	}
	return false
}
