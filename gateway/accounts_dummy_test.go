package gateway

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
)

// The hash compared for an unknown system_id must be one that bcrypt runs
// in full at the cost of the configured hashes. bcrypt rejects a malformed
// hash at once, which would make unknown system_ids quicker to reject.
func TestDummyHashComparesInFull(t *testing.T) {
	acct := testAccount(t)
	h, err := bcrypt.GenerateFromPassword([]byte("secret2"), bcrypt.MinCost+1)
	if err != nil {
		t.Fatal(err)
	}
	acct.ESMEs = append(acct.ESMEs, config.ESME{SystemID: "acme02", PasswordHash: string(h), MaxBinds: 1})
	reg, err := NewRegistry([]config.Account{acct}, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}

	cost, err := bcrypt.Cost(reg.dummy)
	if err != nil {
		t.Fatalf("dummy hash %q is not a bcrypt hash: %v", reg.dummy, err)
	}
	if cost != bcrypt.MinCost+1 {
		t.Errorf("dummy hash cost %d, want %d (the highest configured)", cost, bcrypt.MinCost+1)
	}
	err = bcrypt.CompareHashAndPassword(reg.dummy, []byte("secret1"))
	if !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("comparing with the dummy hash returned %v, want %v", err, bcrypt.ErrMismatchedHashAndPassword)
	}
	if _, err := reg.AuthenticateESME("nobody", "secret1"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("unknown system_id: %v, want %v", err, ErrAuthFailed)
	}

	other, err := NewRegistry([]config.Account{acct}, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(other.dummy) == string(reg.dummy) {
		t.Error("two registries made the same dummy hash; its salt should be random")
	}
}
