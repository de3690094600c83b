package identity

import (
	"crypto/sha256"
	"encoding/binary"
)

// Key is the decision cache key of an identity: sha256 over the authorizer's uid (which changes
// with its spec), the name of the Api the answer is kept for (answers are cached per Api, as API
// Gateway caches per API) and each identity value, every one prefixed with its length so that no
// two different inputs share an encoding (("ab", "c") and ("a", "bc") differ). It does not
// allocate.
func Key(authorizerUID, api string, values []string) [32]byte {
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
	write(api)
	for _, v := range values {
		write(v)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
