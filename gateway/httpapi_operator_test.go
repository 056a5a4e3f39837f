package gateway

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestOperatorTokenHash(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("operator-token-5d0c44"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	check := OperatorTokenHash(string(hash))
	for range 2 { // the second round runs from the cache
		if !check("operator-token-5d0c44") {
			t.Error("the operator's token was rejected")
		}
		for _, wrong := range []string{"", "operator-token-5d0c4", "operator-token-5d0c44 ", string(hash)} {
			if check(wrong) {
				t.Errorf("token %q was accepted", wrong)
			}
		}
	}
	if OperatorTokenHash("")("") {
		t.Error("an empty hash accepted the empty token")
	}
}

// TestOperatorTokenHashForgetsRejections checks that a rejected token is
// checked again once its cache entry expires, and that the cache stays
// within its bound.
func TestOperatorTokenHashForgetsRejections(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("operator-token-5d0c44"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	c := &operatorCache{hash: hash, rejected: map[[32]byte]time.Time{}, now: func() time.Time { return now }}
	if c.check("acme-token-7f3a9c") {
		t.Fatal("an account token was accepted as the operator's")
	}
	if len(c.rejected) != 1 {
		t.Fatalf("%d rejected tokens cached, want 1", len(c.rejected))
	}

	// With a hash of that token in place, only a new bcrypt run accepts it.
	c.hash, err = bcrypt.GenerateFromPassword([]byte("acme-token-7f3a9c"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if c.check("acme-token-7f3a9c") {
		t.Error("a token rejected a moment ago was checked again")
	}
	now = now.Add(operatorRejectedTTL + time.Second)
	if !c.check("acme-token-7f3a9c") {
		t.Error("a token whose rejection expired was not checked again")
	}

	for i := range maxOperatorRejected + 5 {
		c.rejected[[32]byte{byte(i), byte(i >> 8)}] = now.Add(time.Minute)
	}
	c.check("another-wrong-token")
	if n := len(c.rejected); n > maxOperatorRejected {
		t.Errorf("%d rejected tokens cached, want at most %d", n, maxOperatorRejected)
	}
}
