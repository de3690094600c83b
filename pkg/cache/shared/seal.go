package shared

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// MinSecretBytes is the shortest secret accepted: 256 bits, the AES key's own strength.
const MinSecretBytes = 32

// sealVersion starts every sealed value, so a later format can be told apart (and refused).
const sealVersion = 1

// keyPrefix starts every key Portcullis writes, so an operator can tell them apart in a store
// shared with other programs.
const keyPrefix = "portcullis:"

// errUnsealed is a value that fails to open: corrupted, moved from another key, or sealed
// under another secret.
var errUnsealed = errors.New("shared cache value failed to open")

// sealer turns cache keys into store keys and answers into sealed values. Both the AEAD key
// and the key-naming key are derived from the one secret with HKDF-SHA256, under different
// labels, so neither reveals the other.
type sealer struct {
	aead   cipher.AEAD
	naming []byte // HMAC-SHA256 key for store keys
}

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("shared cache secret is %d bytes, want at least %d", len(secret), MinSecretBytes)
	}
	aeadKey, err := hkdf.Key(sha256.New, secret, nil, "portcullis shared cache v1: AES-256-GCM", 32)
	if err != nil {
		return nil, err
	}
	naming, err := hkdf.Key(sha256.New, secret, nil, "portcullis shared cache v1: key names", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(aeadKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, naming: naming}, nil
}

func (s *sealer) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.naming)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// authorizerPrefix is the store-key prefix of one authorizer's answers: dropping all of them is
// one SCAN over it. The name is MACed, so the store does not learn the authorizers' names.
func (s *sealer) authorizerPrefix(authorizer string) string {
	return keyPrefix + hex.EncodeToString(s.mac([]byte("authorizer\x00"), []byte(authorizer))[:8]) + ":"
}

// storeKey names an answer in the store: the authorizer's prefix and a MAC of the cache key.
// The cache key itself (a sha256 of the identity) is not written: for an identity with few
// possible values (a user id header) it could be confirmed by hashing guesses, a MAC under the
// secret cannot. 128 bits of the MAC keep two identities apart.
func (s *sealer) storeKey(authorizer string, key *[32]byte) string {
	return s.authorizerPrefix(authorizer) + base64.RawURLEncoding.EncodeToString(s.mac([]byte("answer\x00"), key[:])[:16])
}

// seal encrypts plaintext with a fresh random nonce, binding aad (the store key) in: the value
// opens only under the key it was written for.
func (s *sealer) seal(aad string, plaintext []byte) []byte {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		// crypto/rand does not fail on supported platforms (it panics itself if it cannot read).
		panic(err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, []byte(aad))
}

// open returns the plaintext of a value sealed for aad, or errUnsealed.
func (s *sealer) open(aad string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errUnsealed
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(aad))
	if err != nil {
		return nil, errUnsealed
	}
	return plain, nil
}
