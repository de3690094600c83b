package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	gojwt "github.com/golang-jwt/jwt/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
	"github.com/portcullis-dev/portcullis/pkg/authorizer"
	"github.com/portcullis-dev/portcullis/pkg/policy"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// signer is a key made in the test, published under kid.
type signer struct {
	kid    string
	method gojwt.SigningMethod
	key    crypto.Signer
}

func newRSA(t testing.TB, kid string) signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid, gojwt.SigningMethodRS256, k}
}

func newEC(t testing.TB, kid string) signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid, gojwt.SigningMethodES256, k}
}

func newEd(t testing.TB, kid string) signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid, gojwt.SigningMethodEdDSA, k}
}

func (s signer) sign(t testing.TB, claims gojwt.MapClaims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(s.method, claims)
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// jwksServer is a real JWKS (and OIDC discovery) endpoint on 127.0.0.1:0.
type jwksServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     []signer
	down     atomic.Bool
	requests atomic.Int64
}

func newJWKS(t testing.TB, keys ...signer) *jwksServer {
	j := &jwksServer{keys: keys}
	j.srv = httptest.NewServer(http.HandlerFunc(j.serve))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(keys ...signer) { j.mu.Lock(); j.keys = keys; j.mu.Unlock() }

func (j *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/.well-known/openid-configuration" {
		json.NewEncoder(w).Encode(map[string]string{"issuer": j.srv.URL, "jwks_uri": j.srv.URL + "/keys"})
		return
	}
	j.requests.Add(1)
	if j.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var set jwkset.JWKSMarshal
	for _, k := range j.keys {
		jwk, err := jwkset.NewJWKFromKey(k.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	json.NewEncoder(w).Encode(set)
}

func claims(over map[string]any) gojwt.MapClaims {
	c := gojwt.MapClaims{"iss": "https://issuer.test", "aud": "api", "sub": "alice",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read write"}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func spec(jwksURI string, algs ...string) *v1alpha1.JWTBackend {
	return &v1alpha1.JWTBackend{Issuer: "https://issuer.test", Audience: []string{"api"}, JWKSURI: jwksURI,
		Algorithms: algs, ContextClaims: []string{"email", "groups"}}
}

func newAuthorizer(t testing.TB, s *v1alpha1.JWTBackend) *Authorizer {
	t.Helper()
	a, err := New(context.Background(), "corp", s, Options{
		Now:    func() time.Time { return now },
		Secret: func(v v1alpha1.SecretValue) (string, error) { return v.Value, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	deadline := time.Now().Add(10 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("keys never fetched")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a
}

func request(token string) *authorizer.Request {
	return &authorizer.Request{Type: "JWT", Token: token, Region: "us-east-1", AccountID: "123456789012", APIID: "api1", Stage: "prod"}
}

func TestVerify(t *testing.T) {
	rsaKey, ecKey, edKey := newRSA(t, "rsa1"), newEC(t, "ec1"), newEd(t, "ed1")
	other := newRSA(t, "rsa1") // same kid, different key
	jwks := newJWKS(t, rsaKey, ecKey, edKey)
	a := newAuthorizer(t, spec(jwks.srv.URL+"/keys", "RS256", "ES256", "EdDSA"))
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, rsaKey.key.Public())})
	hsWithPublicKey := func() string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims(nil))
		tok.Header["kid"] = "rsa1"
		s, _ := tok.SignedString(rsaPublicPEM)
		return s
	}()
	noneToken := func() string {
		s, _ := gojwt.NewWithClaims(gojwt.SigningMethodNone, claims(nil)).SignedString(gojwt.UnsafeAllowNoneSignatureType)
		return s
	}()

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256 good token", rsaKey.sign(t, claims(nil)), true},
		{"ES256 good token", ecKey.sign(t, claims(nil)), true},
		{"EdDSA good token", edKey.sign(t, claims(nil)), true},
		{"Bearer prefix tolerated", "Bearer " + rsaKey.sign(t, claims(nil)), true},
		{"expired", rsaKey.sign(t, claims(map[string]any{"exp": now.Add(-2 * time.Hour).Unix()})), false},
		{"expired within the clock skew", rsaKey.sign(t, claims(map[string]any{"exp": now.Add(-59 * time.Second).Unix()})), true},
		{"expired one second beyond the skew", rsaKey.sign(t, claims(map[string]any{"exp": now.Add(-61 * time.Second).Unix()})), false},
		{"no exp", rsaKey.sign(t, claims(map[string]any{"exp": nil})), false},
		{"not yet valid", rsaKey.sign(t, claims(map[string]any{"nbf": now.Add(10 * time.Minute).Unix()})), false},
		{"issued in the future", rsaKey.sign(t, claims(map[string]any{"iat": now.Add(10 * time.Minute).Unix()})), false},
		{"wrong issuer", rsaKey.sign(t, claims(map[string]any{"iss": "https://evil.test"})), false},
		{"wrong audience", rsaKey.sign(t, claims(map[string]any{"aud": "other"})), false},
		{"audience in a list", rsaKey.sign(t, claims(map[string]any{"aud": []string{"x", "api"}})), true},
		{"client_id as audience", rsaKey.sign(t, claims(map[string]any{"aud": nil, "client_id": "api"})), true},
		{"no sub", rsaKey.sign(t, claims(map[string]any{"sub": nil})), false},
		{"signed by another key", other.sign(t, claims(nil)), false},
		{"alg none", noneToken, false},
		{"HS256 signed with the RSA public key", hsWithPublicKey, false},
		{"garbage", "not.a.jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := a.Authorize(context.Background(), request(tt.token))
			if tt.ok {
				if err != nil || resp.PrincipalID != "alice" {
					t.Fatalf("want accepted, got %v, %v", resp, err)
				}
				return
			}
			if !errors.Is(err, authorizer.ErrUnauthorized) {
				t.Fatalf("want Unauthorized, got %v, %v", resp, err)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Fatal("the error quotes the token")
			}
		})
	}
}

func mustPKIX(t testing.TB, k crypto.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnswer(t *testing.T) {
	k := newRSA(t, "k")
	jwks := newJWKS(t, k)
	a := newAuthorizer(t, spec(jwks.srv.URL+"/keys", "RS256"))
	resp, err := a.Authorize(context.Background(), request(k.sign(t, claims(map[string]any{
		"email": "alice@example.com", "groups": []string{"dev"}, "scp": []string{"admin"}}))))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Context["email"] != "alice@example.com" || resp.Context["groups"] == nil {
		t.Errorf("context = %v", resp.Context)
	}
	if strings.Join(resp.Scopes, ",") != "read,write,admin" {
		t.Errorf("scopes = %v", resp.Scopes)
	}
	if !resp.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Second)) {
		t.Errorf("expires at %v", resp.ExpiresAt)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowGuardedRoutes","Effect":"Allow","Action":"execute-api:Invoke","Resource":["arn:aws:execute-api:us-east-1:123456789012:api1/prod/*"]}]}`
	if string(resp.PolicyDocument) != want {
		t.Errorf("policy without rules = %s", resp.PolicyDocument)
	}
}

func TestUnknownKIDRefetchesOncePer10s(t *testing.T) {
	old, rotated, stranger := newRSA(t, "old"), newRSA(t, "new"), newRSA(t, "stranger")
	jwks := newJWKS(t, old)
	a := newAuthorizer(t, spec(jwks.srv.URL+"/keys", "RS256"))
	fetched := jwks.requests.Load()

	jwks.set(old, rotated)
	if _, err := a.Authorize(context.Background(), request(rotated.sign(t, claims(nil)))); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
	if n := jwks.requests.Load() - fetched; n != 1 {
		t.Fatalf("refetches for the unknown kid = %d, want 1", n)
	}
	if _, err := a.Authorize(context.Background(), request(stranger.sign(t, claims(nil)))); !errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("stranger key: %v", err)
	}
	if n := jwks.requests.Load() - fetched; n != 1 {
		t.Fatalf("refetches after a second unknown kid within 10s = %d, want still 1", n)
	}
}

func TestIssuerDownKeepsTheLastGoodKeys(t *testing.T) {
	k := newRSA(t, "k")
	jwks := newJWKS(t, k)
	a, err := New(context.Background(), "corp", spec(jwks.srv.URL+"/keys", "RS256"), Options{
		Now: func() time.Time { return now }, RefreshInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for !a.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	jwks.down.Store(true)
	before := jwks.requests.Load()
	for jwks.requests.Load() < before+3 { // several failed refreshes
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.Authorize(context.Background(), request(k.sign(t, claims(nil)))); err != nil {
		t.Fatalf("token refused while the issuer is down: %v", err)
	}
}

func TestKeysFromDiscovery(t *testing.T) {
	k := newEC(t, "k")
	jwks := newJWKS(t, k)
	s := spec("", "ES256")
	s.Issuer = jwks.srv.URL
	a := newAuthorizer(t, s)
	if _, err := a.Authorize(context.Background(), request(k.sign(t, claims(map[string]any{"iss": jwks.srv.URL})))); err != nil {
		t.Fatal(err)
	}
}

func TestNotReadyWhileTheIssuerIsDown(t *testing.T) {
	jwks := newJWKS(t)
	jwks.down.Store(true)
	a, err := New(context.Background(), "corp", spec(jwks.srv.URL+"/keys", "RS256"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Ready() {
		t.Fatal("ready without keys")
	}
	k := newRSA(t, "k")
	_, err = a.Authorize(context.Background(), request(k.sign(t, claims(nil))))
	if err == nil || errors.Is(err, authorizer.ErrUnauthorized) {
		t.Fatalf("no keys yet must fail closed as an authorizer failure (500), got %v", err)
	}
}

func TestInlineKeys(t *testing.T) {
	rk := newRSA(t, "pem")
	pemFile := filepath.Join(t.TempDir(), "keys.pem")
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, rk.key.Public())}), 0o600)
	ek := newEC(t, "inline")
	jwk, _ := jwkset.NewJWKFromKey(ek.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "inline", ALG: jwkset.AlgES256}})
	inline, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	const secret = "0123456789abcdef0123456789abcdef"

	tests := []struct {
		name  string
		keys  *v1alpha1.JWTKeys
		algs  []string
		token string
	}{
		{"PEM file", &v1alpha1.JWTKeys{PEMFile: pemFile}, []string{"RS256"}, rk.sign(t, claims(nil))},
		{"inline JWKS", &v1alpha1.JWTKeys{JWKS: string(inline)}, []string{"ES256"}, ek.sign(t, claims(nil))},
		{"HMAC secret", &v1alpha1.JWTKeys{HMACSecret: &v1alpha1.SecretValue{Value: secret}}, []string{"HS256"},
			func() string {
				s, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims(nil)).SignedString([]byte(secret))
				return s
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("", tt.algs...)
			s.Keys = tt.keys
			a := newAuthorizer(t, s)
			if _, err := a.Authorize(context.Background(), request(tt.token)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBlueprint evaluates the launch blueprint's policy for an admin and a non-admin.
func TestBlueprint(t *testing.T) {
	k := newRSA(t, "k")
	jwks := newJWKS(t, k)
	s := spec(jwks.srv.URL+"/keys", "RS256")
	s.Policy = []v1alpha1.PolicyRule{
		{Scopes: []string{"admins"}, Effect: "Allow", Routes: []string{"* *"}},
		{Effect: "Allow", Routes: []string{"GET /*", "POST /users/{sub}"}},
	}
	a := newAuthorizer(t, s)
	arn := func(m, p string) string { return "arn:aws:execute-api:us-east-1:123456789012:api1/prod/" + m + "/" + p }
	tests := []struct {
		who, scope, method, path string
		want                     policy.Decision
	}{
		{"alice", "read", "GET", "pets", policy.Allow},
		{"alice", "read", "GET", "", policy.Allow},
		{"alice", "read", "POST", "users/alice", policy.Allow},
		{"alice", "read", "POST", "users/bob", policy.ImplicitDeny},
		{"alice", "read", "DELETE", "pets/1", policy.ImplicitDeny},
		{"a*", "read", "POST", "users/alice", policy.ImplicitDeny}, // a wildcard in a claim stays literal
		{"root", "admins", "DELETE", "pets/1", policy.Allow},
		{"root", "admins", "POST", "users/bob", policy.Allow},
	}
	for _, tt := range tests {
		resp, err := a.Authorize(context.Background(), request(k.sign(t, claims(map[string]any{"sub": tt.who, "scope": tt.scope}))))
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.Compile(resp.PolicyDocument)
		if err != nil {
			t.Fatalf("generated policy does not compile: %v\n%s", err, resp.PolicyDocument)
		}
		if got := p.Evaluate(arn(tt.method, tt.path), &policy.Facts{}).Decision; got != tt.want {
			t.Errorf("%s (%s) %s /%s = %s, want %s\n%s", tt.who, tt.scope, tt.method, tt.path, got, tt.want, resp.PolicyDocument)
		}
	}
}

func TestClockSkewIsConfigurable(t *testing.T) {
	k := newRSA(t, "k")
	jwks := newJWKS(t, k)
	s := spec(jwks.srv.URL+"/keys", "RS256")
	s.ClockSkew = &metav1.Duration{Duration: 0}
	a := newAuthorizer(t, s)
	if _, err := a.Authorize(context.Background(), request(k.sign(t, claims(map[string]any{"exp": now.Add(-time.Second).Unix()})))); err == nil {
		t.Fatal("expired token accepted with no skew")
	}
}

func benchmarkVerify(b *testing.B, k signer) {
	jwks := newJWKS(b, k)
	a := newAuthorizer(b, spec(jwks.srv.URL+"/keys", k.method.Alg()))
	req := request(k.sign(b, claims(nil)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authorize(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, newRSA(b, "k")) }
func BenchmarkVerifyES256(b *testing.B) { benchmarkVerify(b, newEC(b, "k")) }
