package jwt

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	gojwt "github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// errNoKeys means the key set could not be fetched yet: an authorizer failure (500), not a bad
// token.
var errNoKeys = errors.New("signing keys not available yet")

// keySource finds the key that verifies a token: an HMAC secret, inline or PEM keys, or a remote
// JWKS (from jwksUri or OIDC discovery) that is refreshed in the background.
type keySource struct {
	hmac   []byte
	static gojwt.Keyfunc
	remote atomic.Pointer[keyfunc.Keyfunc]
}

// unknownKIDEvery bounds refetches of a remote key set for tokens whose kid it lacks.
const unknownKIDEvery = 10 * time.Second

func newKeySource(ctx context.Context, name string, spec *v1alpha1.JWTBackend, opts Options) (*keySource, error) {
	ks := &keySource{}
	switch {
	case spec.Keys != nil && spec.Keys.HMACSecret != nil:
		if opts.Secret == nil {
			return nil, errors.New("keys.hmacSecret: no secret resolver")
		}
		s, err := opts.Secret(*spec.Keys.HMACSecret)
		if err != nil {
			return nil, fmt.Errorf("keys.hmacSecret: %w", err)
		}
		if len(s) < 32 {
			return nil, errors.New("keys.hmacSecret: shorter than 32 bytes")
		}
		ks.hmac = []byte(s)
	case spec.Keys != nil && spec.Keys.JWKS != "":
		kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(spec.Keys.JWKS))
		if err != nil {
			return nil, fmt.Errorf("keys.jwks: %w", err)
		}
		ks.static = kf.Keyfunc
	case spec.Keys != nil && spec.Keys.PEMFile != "":
		set, err := readPEMKeys(spec.Keys.PEMFile)
		if err != nil {
			return nil, fmt.Errorf("keys.pemFile: %w", err)
		}
		ks.static = func(*gojwt.Token) (any, error) { return set, nil }
	default:
		go ks.fetch(ctx, name, spec, opts)
	}
	return ks, nil
}

func (ks *keySource) ready() bool {
	return ks.hmac != nil || ks.static != nil || ks.remote.Load() != nil
}

// keyfunc returns the golang-jwt key function. The algorithm family decides where a key may come
// from: HMAC only from the configured secret, everything else never from it, so a public key can
// never be used as an HMAC secret and a symmetric key in a JWKS is never trusted.
func (ks *keySource) keyfunc(ctx context.Context) gojwt.Keyfunc {
	return func(t *gojwt.Token) (any, error) {
		if strings.HasPrefix(t.Method.Alg(), "HS") {
			if ks.hmac == nil {
				return nil, errors.New("HMAC token but no HMAC secret configured")
			}
			return ks.hmac, nil
		}
		if ks.hmac != nil {
			return nil, errors.New("asymmetric token but only an HMAC secret configured")
		}
		var key any
		var err error
		switch {
		case ks.static != nil:
			key, err = ks.static(t)
		default:
			kf := ks.remote.Load()
			if kf == nil {
				return nil, errNoKeys
			}
			key, err = (*kf).KeyfuncCtx(ctx)(t)
		}
		if err != nil {
			return nil, err
		}
		if _, symmetric := key.([]byte); symmetric {
			return nil, errors.New("symmetric key in a key set refused")
		}
		return key, nil
	}
}

// fetch resolves the JWKS URL (discovering it from the issuer when not configured) and starts
// keyfunc's refreshing storage, retrying with backoff until it works or ctx ends.
func (ks *keySource) fetch(ctx context.Context, name string, spec *v1alpha1.JWTBackend, opts Options) {
	log := opts.Logger.With("authorizer", name)
	backoff := 500 * time.Millisecond
	for {
		kf, err := ks.start(ctx, spec, opts, log)
		if err == nil {
			ks.remote.Store(&kf)
			log.Info("jwt signing keys fetched")
			return
		}
		log.Warn("jwt signing keys not fetched; retrying", "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (ks *keySource) start(ctx context.Context, spec *v1alpha1.JWTBackend, opts Options, log *slog.Logger) (keyfunc.Keyfunc, error) {
	uri := spec.JWKSURI
	if uri == "" {
		var err error
		if uri, err = discover(ctx, opts.HTTPClient, spec.Issuer); err != nil {
			return nil, err
		}
	}
	// The first fetch must succeed before the key set counts as ready; later failures keep the
	// last good set.
	noErrorFirst := false
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{uri}, keyfunc.Override{
		Client:                    opts.HTTPClient,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		RefreshInterval:           opts.RefreshInterval,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
		// Bounds both the wait for a refetch slot and the refetch itself (jwkset applies it to
		// the refresh's context). A token whose kid is unknown while the next slot is further
		// away than this is refused at once.
		RateLimitWaitMax: 5 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				log.Warn("jwks refresh failed; the last good key set stays in use", "jwks_uri", u, "error", err.Error())
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks %s: %w", uri, err)
	}
	return kf, nil
}

// discover reads jwks_uri from the issuer's OpenID Connect discovery document.
func discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery %s: HTTP %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("discovery %s: %w", u, err)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("discovery %s: no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}

// readPEMKeys reads every public key and certificate of a PEM file.
func readPEMKeys(path string) (gojwt.VerificationKeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return gojwt.VerificationKeySet{}, err
	}
	var set gojwt.VerificationKeySet
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var key any
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			return set, fmt.Errorf("%s: PEM block %q is not a public key or certificate", path, block.Type)
		}
		if err != nil {
			return set, fmt.Errorf("%s: %w", path, err)
		}
		set.Keys = append(set.Keys, key)
	}
	if len(set.Keys) == 0 {
		return set, fmt.Errorf("%s: no PEM public key found", path)
	}
	return set, nil
}
