package hardening

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portcullis-dev/portcullis/pkg/engine"
)

const jwtConfig = `
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: corp}
spec:
  type: JWT
  jwt:
    issuer: https://issuer.test
    audience: [api]
    jwksUri: JWKS_URL
    principalIdClaim: sub
    contextClaims: [tenant, deep]
    policy:
      - {scopes: [admins], effect: Allow, routes: ["* *"]}
      - {effect: Allow, routes: ["GET *", "POST /users/{sub}"]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Authorizer
metadata: {name: shared}
spec:
  type: JWT
  jwt:
    issuer: https://issuer.test
    audience: [api]
    algorithms: [HS256]
    keys: {hmacSecret: {value: HMAC_SECRET}}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: jwtapi}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: jwtapi0001
  stage: prod
  hosts: [jwt.example.com]
  defaultAuthorizer: corp
  routes:
    - {path: "/users/{id}", methods: [ANY]}
    - {path: "/pets/{proxy+}", methods: [ANY]}
    - {path: "/admin/{proxy+}", methods: [ANY], authorizationScopes: [admin]}
---
apiVersion: portcullis.dev/v1alpha1
kind: Api
metadata: {name: hmacapi}
spec:
  region: us-east-1
  accountId: "123456789012"
  apiId: hmacapi001
  stage: prod
  hosts: [hmac.example.com]
  defaultAuthorizer: shared
  routes:
    - {path: "/pets/{proxy+}", methods: [ANY]}
`

const hmacSecret = "hardening-hmac-secret-0123456789abcdef"

// jwtRig is an issuer (an RSA key published on a JWKS server), an attacker (its own RSA and EC
// keys, and a JWKS server of its own that tokens point at), and Portcullis trusting the issuer.
type jwtRig struct {
	svc          *service
	issuerKey    *rsa.PrivateKey
	attackerKey  *rsa.PrivateKey
	attackerEC   *ecdsa.PrivateKey
	jwksCalls    atomic.Int64
	attackerURL  string
	attackerHits atomic.Int64
}

func newJWTRig(t *testing.T) *jwtRig {
	t.Helper()
	r := &jwtRig{issuerKey: rsaKey(t), attackerKey: rsaKey(t)}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r.attackerEC = ec
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.jwksCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks("good-1", &r.issuerKey.PublicKey))
	}))
	t.Cleanup(issuer.Close)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.attackerHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks("evil-1", &r.attackerKey.PublicKey))
	}))
	t.Cleanup(attacker.Close)
	r.attackerURL = attacker.URL
	cfg := strings.NewReplacer("JWKS_URL", issuer.URL, "HMAC_SECRET", hmacSecret).Replace(jwtConfig)
	r.svc = startService(t, cfg, engine.Options{})
	return r
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwk(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
}

func jwks(kid string, pub *rsa.PublicKey) []byte {
	b, _ := json.Marshal(map[string]any{"keys": []any{jwk(kid, pub)}})
	return b
}

// claims are valid claims for the issuer, changed by edit.
func claims(edit func(gojwt.MapClaims)) gojwt.MapClaims {
	now := time.Now()
	c := gojwt.MapClaims{"iss": "https://issuer.test", "aud": "api", "sub": "alice", "tenant": "acme",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(c)
	}
	return c
}

// sign signs c with method and key, with the given extra header fields.
func sign(t *testing.T, method gojwt.SigningMethod, key any, header map[string]any, c gojwt.MapClaims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(method, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a token by hand: header and claims as JSON, then sig as it is.
func unsigned(header map[string]any, c gojwt.MapClaims, sig string) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(c)
	return b64(h) + "." + b64(p) + "." + sig
}

// pemPublicKey is the issuer's public key as a PEM file, the secret of the classic RS256-to-HS256
// confusion attack.
func pemPublicKey(t *testing.T, pub *rsa.PublicKey, pkcs1 bool) []byte {
	t.Helper()
	if pkcs1 {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func selfSignedCert(t *testing.T, key *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// nested is a JSON value depth objects deep.
func nested(depth int) any {
	var v any = "bottom"
	for i := 0; i < depth; i++ {
		v = map[string]any{"a": v}
	}
	return v
}

// TestJWTAttacks sends forged, confused and out-of-date tokens to the built-in JWT authorizer
// whose keys come from a JWKS server. Every forgery is 401; tokens are never allowed past their
// claims; the key URLs a token names are never fetched.
func TestJWTAttacks(t *testing.T) {
	r := newJWTRig(t)
	good := func(c gojwt.MapClaims) string {
		return sign(t, gojwt.SigningMethodRS256, r.issuerKey, map[string]any{"kid": "good-1"}, c)
	}
	evil := func(kid string, header map[string]any) string {
		h := map[string]any{"kid": kid}
		for k, v := range header {
			h[k] = v
		}
		return sign(t, gojwt.SigningMethodRS256, r.attackerKey, h, claims(nil))
	}
	goodParts := strings.Split(good(claims(nil)), ".")
	padding := func(n int) func(gojwt.MapClaims) {
		return func(c gojwt.MapClaims) { c["pad"] = strings.Repeat("p", n) }
	}
	// sizedToken is a valid token whose identity value ("Bearer " and the token) is within
	// [lo, hi] bytes; base64 moves in steps of one or two characters, so a range of 4 is enough.
	sizedToken := func(lo, hi int) string {
		pad := (lo - len("Bearer ") - len(good(claims(padding(0))))) * 3 / 4
		for range 64 {
			tok := good(claims(padding(pad)))
			switch n := len("Bearer ") + len(tok); {
			case n < lo:
				pad++
			case n > hi:
				pad--
			default:
				return tok
			}
		}
		t.Fatalf("no token of %d..%d bytes", lo, hi)
		return ""
	}
	ago := func(d time.Duration) int64 { return time.Now().Add(-d).Unix() }
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		want   want
	}{
		{"control: valid token", "GET", "/pets/1", good(claims(nil)), wantAllow},
		{"control: own user", "POST", "/users/alice", good(claims(nil)), wantAllow},
		{"control: another user", "POST", "/users/bob", good(claims(nil)), wantImplicitDeny},
		{"control: lower-case bearer", "GET", "/pets/2", good(claims(nil)), wantAllow},

		{"alg none, no signature", "GET", "/pets/1", unsigned(map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), ""), wantUnauthorized},
		{"alg None", "GET", "/pets/1", unsigned(map[string]any{"alg": "None"}, claims(nil), ""), wantUnauthorized},
		{"alg NONE with kid", "GET", "/pets/1", unsigned(map[string]any{"alg": "NONE", "kid": "good-1"}, claims(nil), ""), wantUnauthorized},
		{"alg none with a real signature attached", "GET", "/pets/1",
			unsigned(map[string]any{"alg": "none", "kid": "good-1"}, claims(nil), goodParts[2]), wantUnauthorized},
		{"header swapped to none on a signed token", "GET", "/pets/1",
			b64([]byte(`{"alg":"none","kid":"good-1"}`)) + "." + goodParts[1] + "." + goodParts[2], wantUnauthorized},
		{"no alg", "GET", "/pets/1", unsigned(map[string]any{"kid": "good-1"}, claims(nil), goodParts[2]), wantUnauthorized},

		{"HS256 keyed with the issuer's PEM public key (PKIX)", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodHS256, pemPublicKey(t, &r.issuerKey.PublicKey, false), map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},
		{"HS256 keyed with the issuer's PEM public key (PKCS#1)", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodHS256, pemPublicKey(t, &r.issuerKey.PublicKey, true), map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},
		{"HS256 keyed with the modulus", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodHS256, r.issuerKey.PublicKey.N.Bytes(), map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},
		{"HS256 keyed with the JWKS document", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodHS256, jwks("good-1", &r.issuerKey.PublicKey), map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},
		{"RS512 by the issuer, outside the algorithm list", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodRS512, r.issuerKey, map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},

		{"attacker key under the issuer's kid", "GET", "/pets/1", evil("good-1", nil), wantUnauthorized},
		{"attacker key without kid", "GET", "/pets/1", sign(t, gojwt.SigningMethodRS256, r.attackerKey, nil, claims(nil)), wantUnauthorized},
		{"attacker EC key under the issuer's kid", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodES256, r.attackerEC, map[string]any{"kid": "good-1"}, claims(nil)), wantUnauthorized},
		{"kid path traversal", "GET", "/pets/1", evil("../../etc/passwd", nil), wantUnauthorized},
		{"kid path traversal to /dev/null", "GET", "/pets/1",
			sign(t, gojwt.SigningMethodHS256, []byte(""), map[string]any{"kid": "../../../../../../dev/null"}, claims(nil)), wantUnauthorized},
		{"kid SQL injection", "GET", "/pets/1", evil("' OR '1'='1", nil), wantUnauthorized},
		{"kid SQL union", "GET", "/pets/1", evil("x' UNION SELECT 'secret' --", nil), wantUnauthorized},
		{"kid command injection", "GET", "/pets/1", evil("good-1|cat /etc/passwd", nil), wantUnauthorized},
		{"kid with NUL", "GET", "/pets/1", evil("good-1\x00evil", nil), wantUnauthorized},
		{"kid of 4 KiB", "GET", "/pets/1", evil(strings.Repeat("k", 4096), nil), wantUnauthorized},

		{"jku pointing at the attacker's key set", "GET", "/pets/1",
			evil("evil-1", map[string]any{"jku": r.attackerURL + "/jwks.json"}), wantUnauthorized},
		{"jku with the issuer's kid", "GET", "/pets/1",
			evil("good-1", map[string]any{"jku": r.attackerURL + "/jwks.json"}), wantUnauthorized},
		{"x5u pointing at the attacker", "GET", "/pets/1",
			evil("evil-1", map[string]any{"x5u": r.attackerURL + "/cert.pem"}), wantUnauthorized},
		{"embedded jwk of the attacker", "GET", "/pets/1",
			evil("evil-1", map[string]any{"jwk": jwk("evil-1", &r.attackerKey.PublicKey)}), wantUnauthorized},
		{"embedded x5c of the attacker", "GET", "/pets/1",
			evil("evil-1", map[string]any{"x5c": []string{selfSignedCert(t, r.attackerKey)}}), wantUnauthorized},

		{"token just under 16 KiB", "GET", "/pets/1", sizedToken(16<<10-4, 16<<10), wantAllow},
		{"token over 16 KiB", "GET", "/pets/1", sizedToken(16<<10+1, 16<<10+4), wantUnauthorized},
		{"claim nested 1,000 objects deep, passed as context", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { c["deep"] = nested(1000) })), wantAllow},
		{"claim nested 1,000 arrays deep", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) {
				c["arrays"] = json.RawMessage(strings.Repeat("[", 1000) + strings.Repeat("]", 1000))
			})), wantAllow},

		{"expired one second beyond the 60 s skew", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { c["exp"] = ago(61 * time.Second) })), wantUnauthorized},
		{"control: expired within the skew", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { c["exp"] = ago(55 * time.Second) })), wantAllow},
		// nbf is whole seconds and the token is made before the cases run, so one second beyond
		// the skew could come within it by the time the Check is sent: three seconds.
		{"not valid before, three seconds beyond the skew", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { c["nbf"] = ago(-63 * time.Second) })), wantUnauthorized},
		{"issued in the future beyond the skew", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { c["iat"] = ago(-120 * time.Second) })), wantUnauthorized},
		{"no exp", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { delete(c, "exp") })), wantUnauthorized},
		{"exp as a string", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["exp"] = "9999999999" })), wantUnauthorized},

		{"issuer mismatch", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["iss"] = "https://evil.test" })), wantUnauthorized},
		{"issuer with a trailing slash", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["iss"] = "https://issuer.test/" })), wantUnauthorized},
		{"issuer in another case", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["iss"] = "https://ISSUER.test" })), wantUnauthorized},
		{"audience mismatch", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["aud"] = "other" })), wantUnauthorized},
		{"audience list without ours", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["aud"] = []string{"a", "b"} })), wantUnauthorized},
		{"no audience", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { delete(c, "aud") })), wantUnauthorized},
		{"control: client_id instead of aud", "GET", "/pets/1",
			good(claims(func(c gojwt.MapClaims) { delete(c, "aud"); c["client_id"] = "api" })), wantAllow},
		{"no subject", "GET", "/pets/1", good(claims(func(c gojwt.MapClaims) { delete(c, "sub") })), wantUnauthorized},

		{"subject * does not widen the own-user rule", "POST", "/users/bob", good(claims(func(c gojwt.MapClaims) { c["sub"] = "*" })), wantImplicitDeny},
		{"subject ? does not widen the own-user rule", "POST", "/users/b", good(claims(func(c gojwt.MapClaims) { c["sub"] = "?" })), wantImplicitDeny},
		{"subject with a policy variable", "POST", "/users/x", good(claims(func(c gojwt.MapClaims) { c["sub"] = "${*}" })), wantImplicitDeny},
		{"subject reaching into another path", "POST", "/users/bob",
			good(claims(func(c gojwt.MapClaims) { c["sub"] = "alice/../bob" })), wantImplicitDeny},
		{"scope in another case", "DELETE", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["scope"] = "Admins" })), wantImplicitDeny},
		{"scope as a prefix", "DELETE", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["scope"] = "admins2 user" })), wantImplicitDeny},
		{"control: scope held", "DELETE", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["scope"] = "user admins" })), wantAllow},
		{"control: scp list held", "DELETE", "/pets/1", good(claims(func(c gojwt.MapClaims) { c["scp"] = []string{"admins"} })), wantAllow},
		{"route scope not held", "GET", "/admin/x", good(claims(func(c gojwt.MapClaims) { c["scope"] = "admins" })), wantImplicitDeny},
		{"control: route scope held", "GET", "/admin/x", good(claims(func(c gojwt.MapClaims) { c["scope"] = "admin" })), wantAllow},

		{"garbage after the signature", "GET", "/pets/1", good(claims(nil)) + ".extra", wantUnauthorized},
		{"whitespace inside the token", "GET", "/pets/1", strings.Replace(good(claims(nil)), ".", " .", 1), wantUnauthorized},
		{"empty token", "GET", "/pets/1", "", wantUnauthorized},
		{"not base64", "GET", "/pets/1", "!!!.!!!.!!!", wantUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			auth := "Bearer " + tt.token
			if strings.HasPrefix(tt.name, "control: lower-case") {
				auth = "bearer " + tt.token
			}
			res := r.svc.check(t, httpReq{method: tt.method, host: "jwt.example.com", path: tt.path,
				headers: map[string]string{"authorization": auth}})
			if !expect(t, tt.method+" "+tt.path, res.verdict, tt.want) {
				t.Logf("decision log: %+v", res.logged)
			}
			if res.code == codes.OK {
				checkOwnHeaders(t, res, principalOf(t, tt.token))
				if d := messageDepth(res.resp.ProtoReflect()); d > 100 {
					t.Logf("note: this CheckResponse nests messages %d deep (dynamic_metadata); C++ protobuf parsers stop at 100 by default", d)
				}
			}
			if tt.want == wantUnauthorized && res.headers["www-authenticate"] != "Bearer" {
				wrongDecision(t, "401 of a JWT authorizer without www-authenticate: Bearer: %v", res.headers)
			}
		})
	}
	if n := r.attackerHits.Load(); n != 0 {
		wrongDecision(t, "the attacker's key server got %d requests, want 0", n)
	}
	// One fetch at start, and at most one refetch for unknown kids per 10 s.
	if n := r.jwksCalls.Load(); n > 2 {
		wrongDecision(t, "the issuer's JWKS was fetched %d times, want at most 2", n)
	}
	t.Logf("issuer JWKS fetches: %d, attacker key server requests: %d", r.jwksCalls.Load(), r.attackerHits.Load())
}

// messageDepth is how deeply m nests messages.
func messageDepth(m protoreflect.Message) int {
	deepest := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		var d int
		switch {
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				d = max(d, 1+messageDepth(mv.Message()))
				return true
			})
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				d = max(d, messageDepth(v.List().Get(i).Message()))
			}
		case fd.Message() != nil:
			d = messageDepth(v.Message())
		}
		deepest = max(deepest, d)
		return true
	})
	return 1 + deepest
}

// principalOf reads the sub claim of a token without verifying it.
func principalOf(t *testing.T, token string) string {
	t.Helper()
	c := gojwt.MapClaims{}
	if _, _, err := gojwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatalf("control token does not parse: %v", err)
	}
	sub, _ := c["sub"].(string)
	return sub
}

// TestJWTAttacksHMAC sends forged tokens to a JWT authorizer keyed with an HMAC secret.
func TestJWTAttacksHMAC(t *testing.T) {
	r := newJWTRig(t)
	secret := []byte(hmacSecret)
	tests := []struct {
		name  string
		token string
		want  want
	}{
		{"control: HS256 with the secret", sign(t, gojwt.SigningMethodHS256, secret, nil, claims(nil)), wantAllow},
		{"HS256 with another secret", sign(t, gojwt.SigningMethodHS256, []byte("not-the-secret-0123456789abcdefgh"), nil, claims(nil)), wantUnauthorized},
		{"HS256 with an empty secret", sign(t, gojwt.SigningMethodHS256, []byte(""), nil, claims(nil)), wantUnauthorized},
		{"HS256 with a prefix of the secret", sign(t, gojwt.SigningMethodHS256, secret[:16], nil, claims(nil)), wantUnauthorized},
		{"HS384 with the secret, outside the algorithm list", sign(t, gojwt.SigningMethodHS384, secret, nil, claims(nil)), wantUnauthorized},
		{"HS512 with the secret, outside the algorithm list", sign(t, gojwt.SigningMethodHS512, secret, nil, claims(nil)), wantUnauthorized},
		{"alg none", unsigned(map[string]any{"alg": "none"}, claims(nil), ""), wantUnauthorized},
		{"RS256 by the attacker", sign(t, gojwt.SigningMethodRS256, r.attackerKey, map[string]any{"kid": "evil-1"}, claims(nil)), wantUnauthorized},
		{"RS256 with an embedded jwk", sign(t, gojwt.SigningMethodRS256, r.attackerKey,
			map[string]any{"jwk": jwk("evil-1", &r.attackerKey.PublicKey)}, claims(nil)), wantUnauthorized},
		{"jku pointing at the attacker", sign(t, gojwt.SigningMethodRS256, r.attackerKey,
			map[string]any{"kid": "evil-1", "jku": r.attackerURL}, claims(nil)), wantUnauthorized},
		{"expired one second beyond the skew", sign(t, gojwt.SigningMethodHS256, secret, nil,
			claims(func(c gojwt.MapClaims) { c["exp"] = time.Now().Add(-61 * time.Second).Unix() })), wantUnauthorized},
		{"issuer mismatch", sign(t, gojwt.SigningMethodHS256, secret, nil,
			claims(func(c gojwt.MapClaims) { c["iss"] = "https://evil.test" })), wantUnauthorized},
		{"audience mismatch", sign(t, gojwt.SigningMethodHS256, secret, nil,
			claims(func(c gojwt.MapClaims) { c["aud"] = "other" })), wantUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts.attacks.Add(1)
			res := r.svc.check(t, httpReq{method: "GET", host: "hmac.example.com", path: "/pets/1",
				headers: map[string]string{"authorization": "Bearer " + tt.token}})
			expect(t, tt.name, res.verdict, tt.want)
			if res.code == codes.OK {
				checkOwnHeaders(t, res, "alice")
			}
			if tt.want == wantUnauthorized && res.headers["www-authenticate"] != "Bearer" {
				wrongDecision(t, "401 of a JWT authorizer without www-authenticate: Bearer: %v", res.headers)
			}
		})
	}
	if n := r.attackerHits.Load(); n != 0 {
		wrongDecision(t, "the attacker's key server got %d requests, want 0", n)
	}
}
