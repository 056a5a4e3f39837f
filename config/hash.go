package config

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// HashCost is the bcrypt cost of the hashes HashPassword makes.
const HashCost = 12

// HashPassword returns the bcrypt hash of a password or API token, for
// ESME.PasswordHash and APIToken.Hash. bcrypt reads at most 72 bytes, so a
// longer secret is rejected rather than silently cut.
func HashPassword(secret string) (string, error) {
	if secret == "" {
		return "", errors.New("password is empty")
	}
	if len(secret) > 72 {
		return "", fmt.Errorf("password is %d bytes long; bcrypt uses at most 72", len(secret))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), HashCost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	return string(hash), nil
}

// Digest algorithms for DigestHA1.
const (
	DigestMD5    = "MD5"     // RFC 2617 section 3.2.2.2
	DigestSHA256 = "SHA-256" // RFC 8760
)

// DigestHA1 returns the hex H(A1) = H(username ":" realm ":" password) of
// SIP digest authentication, for SIPTrunk.PasswordHA1.
func DigestHA1(algorithm, username, realm, password string) (string, error) {
	a1 := []byte(username + ":" + realm + ":" + password)
	switch algorithm {
	case DigestMD5:
		sum := md5.Sum(a1)
		return hex.EncodeToString(sum[:]), nil
	case DigestSHA256:
		sum := sha256.Sum256(a1)
		return hex.EncodeToString(sum[:]), nil
	}
	return "", fmt.Errorf("digest algorithm %q is not supported; use MD5 or SHA-256", algorithm)
}
