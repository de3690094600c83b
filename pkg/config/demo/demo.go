// Package demo holds the embedded demo configuration and mints tokens for it, so that
// `portcullis serve` and `portcullis token` give a working gateway with no setup.
package demo

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Config is the embedded demo configuration (demo.yaml).
//
//go:embed demo.yaml
var Config []byte

// The demo's token settings; they must match demo.yaml.
const (
	Issuer   = "https://demo.portcullis.dev"
	Audience = "portcullis-demo"
	// Secret is public on purpose: the demo is for trying Portcullis, never for production.
	Secret = "portcullis-demo-secret-not-for-production-use"
)

// Mint returns an HS256 token for the demo: sub, the space-separated scope claim, iat, exp,
// jti, plus extra claims (which cannot replace the standard ones).
func Mint(sub string, scopes []string, ttl time.Duration, extra map[string]any, now time.Time) (string, error) {
	if sub == "" {
		return "", errors.New("a subject (--sub) is required")
	}
	if ttl <= 0 {
		return "", errors.New("the token lifetime (--ttl) must be positive")
	}
	claims := gojwt.MapClaims{}
	for k, v := range extra {
		claims[k] = v
	}
	var jti [8]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	claims["iss"] = Issuer
	claims["aud"] = Audience
	claims["sub"] = sub
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(ttl).Unix()
	claims["jti"] = hex.EncodeToString(jti[:])
	if len(scopes) > 0 {
		s := scopes[0]
		for _, x := range scopes[1:] {
			s += " " + x
		}
		claims["scope"] = s
	}
	return gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(Secret))
}
