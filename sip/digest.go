package sip

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest verification errors. Each one leads to a new challenge.
var (
	// errStaleNonce marks credentials computed with a nonce optgate issued
	// to the source that has expired. The new challenge has stale=true
	// (RFC 2617 section 3.2.1), so the client retries without asking its
	// user.
	errStaleNonce = errors.New("digest nonce expired")
	// errBadDigest marks credentials that do not match although their
	// nonce is one optgate issued to the source and still valid: only
	// these count as a failed attempt.
	errBadDigest = errors.New("digest credentials do not match")
	// errUnknownNonce marks credentials whose nonce optgate did not issue
	// to the source, or whose nonce count was already used. Anyone can
	// send these, even with a forged source address over UDP, so they do
	// not count as a failed attempt.
	errUnknownNonce = errors.New("digest nonce unknown or reused")
)

// Nonce layout: the issue time in Unix seconds, random bytes that make
// every nonce unique, and an HMAC tag of both, the realm and the source
// the nonce was issued to (IPv6 sources per /64, as failures are
// counted).
const (
	nonceTimeSize   = 8
	nonceRandomSize = 8
	nonceMACSize    = 16
	nonceDataSize   = nonceTimeSize + nonceRandomSize
)

// maxNonceUses bounds the table of nonce counts kept against replays.
const maxNonceUses = 100000

// digestVerifier issues nonces and checks digest credentials against a
// trunk's H(A1), since bcrypt hashes cannot serve digest authentication.
// Nonces carry their issue time and an HMAC under a random key, so any
// nonce optgate issued within the lifetime verifies without a table, and
// only from the source it was issued to.
// The nonce count (nc) of each nonce is kept until the nonce expires, and
// a count that does not increase is rejected as a replay.
type digestVerifier struct {
	key      [32]byte
	lifetime time.Duration
	now      func() time.Time

	mu   sync.Mutex
	uses map[string]nonceUse
}

type nonceUse struct {
	count   int
	expires time.Time
}

func newDigestVerifier(lifetime time.Duration, now func() time.Time) (*digestVerifier, error) {
	v := &digestVerifier{lifetime: lifetime, now: now, uses: map[string]nonceUse{}}
	if _, err := rand.Read(v.key[:]); err != nil {
		return nil, fmt.Errorf("digest key: %w", err)
	}
	return v, nil
}

// challenge returns a WWW-Authenticate value for realm and algorithm
// with a new nonce for source and qop "auth" (RFC 3261 section 22.4,
// RFC 2617 section 3.2.1).
func (v *digestVerifier) challenge(realm, algorithm string, stale bool, source netip.Addr) string {
	c := digest.Challenge{
		Realm:     realm,
		Nonce:     v.nonce(realm, source, v.now()),
		Algorithm: algorithm,
		QOP:       []string{"auth"},
		Stale:     stale,
	}
	return c.String()
}

func (v *digestVerifier) nonce(realm string, source netip.Addr, issued time.Time) string {
	var b [nonceDataSize + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:nonceTimeSize], uint64(issued.Unix()))
	// Since Go 1.24 crypto/rand.Read crashes the program instead of
	// returning an error.
	_, _ = rand.Read(b[nonceTimeSize:nonceDataSize])
	copy(b[nonceDataSize:], v.mac(b[:nonceDataSize], realm, source))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (v *digestVerifier) mac(data []byte, realm string, source netip.Addr) []byte {
	key := sourceKey(source)
	a := key.Addr().As16()
	h := hmac.New(sha256.New, v.key[:])
	h.Write(data)
	// The source goes in with a fixed length ahead of the realm, so that
	// no two sources and realms give the same input.
	h.Write(a[:])
	h.Write([]byte{byte(key.Bits())})
	h.Write([]byte(realm))
	return h.Sum(nil)[:nonceMACSize]
}

// checkNonce verifies that nonce was issued by v for realm to source and
// returns when it expires.
func (v *digestVerifier) checkNonce(nonce, realm string, source netip.Addr) (time.Time, error) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceDataSize+nonceMACSize {
		return time.Time{}, fmt.Errorf("%w: nonce not issued by optgate", errUnknownNonce)
	}
	if !hmac.Equal(b[nonceDataSize:], v.mac(b[:nonceDataSize], realm, source)) {
		return time.Time{}, fmt.Errorf("%w: nonce not issued by optgate for realm %q to source %s",
			errUnknownNonce, realm, sourceKey(source))
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:nonceTimeSize])), 0)
	expires := issued.Add(v.lifetime)
	if !v.now().Before(expires) {
		return time.Time{}, errStaleNonce
	}
	return expires, nil
}

// verify checks the credentials of req from source against t. The
// request-digest is computed with H(A1) in place of the password
// (RFC 2617 section 3.2.2), for MD5 or SHA-256 (RFC 8760), with or
// without qop. The nonce is checked first: errUnknownNonce or
// errStaleNonce when it is not a valid nonce issued to source, and
// errBadDigest only for credentials that do not match a valid nonce.
func (v *digestVerifier) verify(req *sip.Request, cred *digest.Credentials, t *trunk, source netip.Addr) error {
	expires, err := v.checkNonce(cred.Nonce, t.realm, source)
	if err != nil {
		return err
	}
	if cred.Realm != t.realm {
		return fmt.Errorf("%w: realm %q, want %q", errBadDigest, cred.Realm, t.realm)
	}
	algorithm := cred.Algorithm
	if algorithm == "" {
		algorithm = "MD5" // RFC 2617 section 3.2.1: MD5 when absent.
	}
	if !strings.EqualFold(algorithm, t.algorithm) || cred.Userhash {
		return fmt.Errorf("%w: algorithm %q, want %s", errBadDigest, cred.Algorithm, t.algorithm)
	}
	if !sameTarget(cred.URI, req.Recipient) {
		return fmt.Errorf("%w: digest uri %q is not the request-URI", errBadDigest, cred.URI)
	}
	count := 1 // without qop a nonce serves one request
	switch cred.QOP {
	case "":
	case "auth", "auth-int":
		if cred.Nc <= 0 || cred.Cnonce == "" {
			return fmt.Errorf("%w: qop %s without nc or cnonce", errBadDigest, cred.QOP)
		}
		count = cred.Nc
	default:
		return fmt.Errorf("%w: unsupported qop %q", errBadDigest, cred.QOP)
	}

	chal := &digest.Challenge{Realm: t.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method: string(req.Method), URI: cred.URI, Username: cred.Username, A1: t.ha1,
		Cnonce: cred.Cnonce, Count: cred.Nc,
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(req.Body())), nil },
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errBadDigest, err)
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.Response)), []byte(want.Response)) != 1 {
		return errBadDigest
	}
	return v.use(cred.Nonce, count, expires)
}

// use records the nonce count of a verified request. A count that is not
// higher than the last one seen for the nonce is a replay.
func (v *digestVerifier) use(nonce string, count int, expires time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if len(v.uses) >= maxNonceUses {
		for n, u := range v.uses {
			if !now.Before(u.expires) {
				delete(v.uses, n)
			}
		}
		if len(v.uses) >= maxNonceUses {
			// Forgetting a live nonce would let its requests be replayed,
			// so the new nonce is refused and the client gets a fresh one.
			return errStaleNonce
		}
	}
	if u, ok := v.uses[nonce]; ok && count <= u.count {
		return fmt.Errorf("%w: nonce count %d repeated", errUnknownNonce, count)
	}
	v.uses[nonce] = nonceUse{count: count, expires: expires}
	return nil
}

// sameTarget reports whether the digest-uri names the request-URI
// (RFC 2617 section 3.2.2.5): the same host, compared case-insensitively,
// and port, and the same user or none. User agents such as sipp leave the
// user out of the digest-uri.
func sameTarget(digestURI string, recipient sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	return (u.User == "" || u.User == recipient.User) &&
		strings.EqualFold(u.Host, recipient.Host) && u.Port == recipient.Port
}
