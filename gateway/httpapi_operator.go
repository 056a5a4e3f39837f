package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// Limits of the cache of OperatorTokenHash.
const (
	// operatorRejectedTTL is how long a token that is not the operator's
	// is remembered, so that a token the API checks against the operator's
	// does not cost a bcrypt run on every request.
	operatorRejectedTTL = 10 * time.Minute
	// maxOperatorRejected bounds the remembered tokens. Past it the cache
	// starts afresh.
	maxOperatorRejected = 10000
)

// OperatorTokenHash returns an Operator function that accepts the token
// whose bcrypt hash is hash, the operator.token_hash of the
// configuration. bcrypt runs once per distinct token within the cache
// limits: the SHA-256 digest of the accepted token and of tokens recently
// rejected are remembered, and the digest of the accepted one is compared
// in constant time. bcrypt runs in one of the process's bcryptSlots. An
// empty hash accepts nothing.
func OperatorTokenHash(hash string) func(token string) bool {
	if hash == "" {
		return func(string) bool { return false }
	}
	c := &operatorCache{hash: []byte(hash), rejected: map[[32]byte]time.Time{}, now: time.Now}
	return c.check
}

type operatorCache struct {
	hash []byte
	now  func() time.Time

	mu       sync.Mutex
	accepted *[32]byte
	rejected map[[32]byte]time.Time // digest → when it is forgotten
}

func (c *operatorCache) check(token string) bool {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	if c.accepted != nil && subtle.ConstantTimeCompare(sum[:], c.accepted[:]) == 1 {
		c.mu.Unlock()
		return true
	}
	now := c.now()
	if until, ok := c.rejected[sum]; ok && now.Before(until) {
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()

	// bcrypt runs outside the lock, so one slow comparison does not hold
	// up the cached ones, and in one of the slots account tokens use too,
	// so a flood of unknown tokens cannot run it without bound.
	ok := compareBcrypt(c.hash, token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.accepted = &sum
		return true
	}
	if len(c.rejected) >= maxOperatorRejected {
		clear(c.rejected)
	}
	c.rejected[sum] = now.Add(operatorRejectedTTL)
	return false
}
