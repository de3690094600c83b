package identity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Key is the decision cache key of an identity: sha256 over the authorizer's uid, its spec
// generation and each identity value, every one prefixed with its length so that no two
// different inputs share an encoding (("ab", "c") and ("a", "bc") differ). It does not allocate.
func Key(authorizerUID, generation string, values []string) [32]byte {
	h := sha256.New()
	// Strings are copied through a stack buffer: converting them to []byte for Write would
	// allocate for anything longer than a few dozen bytes.
	var buf [512]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(buf[:8], uint64(len(s)))
		n := 8 + copy(buf[8:], s)
		h.Write(buf[:n])
		for s = s[n-8:]; s != ""; s = s[n:] {
			n = copy(buf[:], s)
			h.Write(buf[:n])
		}
	}
	write(authorizerUID)
	write(generation)
	for _, v := range values {
		write(v)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// ShortHash returns the first 12 hex characters of the sha256 of a token: enough to correlate
// log lines, useless for recovering the token.
func ShortHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
