package config

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	hash, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("s3cret")); err != nil {
		t.Errorf("hash does not match its password: %v", err)
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil || cost != HashCost {
		t.Errorf("cost: got %d (%v), want %d", cost, err, HashCost)
	}
	v := &validator{c: &Config{}}
	v.bcryptHash("h", hash)
	if len(v.errs)+len(v.warnings) != 0 {
		t.Errorf("the validator rejects HashPassword output: %v %v", ErrorList(v.errs), ErrorList(v.warnings))
	}
}

func TestHashPasswordRejects(t *testing.T) {
	if _, err := HashPassword(""); err == nil {
		t.Errorf("empty password accepted")
	}
	_, err := HashPassword(strings.Repeat("x", 73))
	if err == nil || !strings.Contains(err.Error(), "72") {
		t.Errorf("73-byte password: got %v, want an error naming the 72-byte limit", err)
	}
}

func TestDigestHA1(t *testing.T) {
	tests := []struct {
		algorithm, user, realm, password, want string
	}{
		// Checked with: printf 'Mufasa:testrealm@host.com:Circle Of Life' | md5sum
		{DigestMD5, "Mufasa", "testrealm@host.com", "Circle Of Life", "939e7578ed9e3c518a452acee763bce9"},
		// Checked with: printf 'Mufasa:http-auth@example.org:Circle of Life' | sha256sum
		{DigestSHA256, "Mufasa", "http-auth@example.org", "Circle of Life",
			"7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"},
	}
	for _, tt := range tests {
		got, err := DigestHA1(tt.algorithm, tt.user, tt.realm, tt.password)
		if err != nil {
			t.Errorf("%s: %v", tt.algorithm, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.algorithm, got, tt.want)
		}
	}
	if _, err := DigestHA1("SHA-512-256", "u", "r", "p"); err == nil {
		t.Errorf("unsupported algorithm accepted")
	}
}
