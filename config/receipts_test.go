package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReceiptsDefaults(t *testing.T) {
	c, err := parse([]byte("logging: {level: info}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Receipts.IDMapTTL != 72*time.Hour {
		t.Errorf("id_map_ttl = %s, want 72h", c.Receipts.IDMapTTL)
	}
	if c.Receipts.KeepAfterFinal != time.Hour {
		t.Errorf("keep_after_final = %s, want 1h", c.Receipts.KeepAfterFinal)
	}
}

func TestReceiptsOverride(t *testing.T) {
	c, err := parse([]byte("receipts: {id_map_ttl: 168h, keep_after_final: 30s}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Receipts.IDMapTTL != 168*time.Hour {
		t.Errorf("id_map_ttl = %s, want 168h", c.Receipts.IDMapTTL)
	}
	if c.Receipts.KeepAfterFinal != 30*time.Second {
		t.Errorf("keep_after_final = %s, want 30s", c.Receipts.KeepAfterFinal)
	}
}

func TestReceiptsInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, path, message string
	}{
		{"zero ttl", "receipts: {id_map_ttl: 0s}", "receipts.id_map_ttl", "positive duration"},
		{"negative ttl", "receipts: {id_map_ttl: -1h}", "receipts.id_map_ttl", "positive duration"},
		{"zero keep", "receipts: {keep_after_final: 0s}", "receipts.keep_after_final", "positive duration"},
		{"keep beyond ttl", "receipts: {id_map_ttl: 2h, keep_after_final: 3h}", "receipts.keep_after_final",
			"exceeds receipts.id_map_ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.yaml+"\n"), "t.yaml", lookupTestEnv)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("parse error %v, want a *FieldError", err)
			}
			if fe.Path != tc.path {
				t.Errorf("error path = %q, want %q", fe.Path, tc.path)
			}
			if !strings.Contains(fe.Message, tc.message) {
				t.Errorf("error message = %q, want it to contain %q", fe.Message, tc.message)
			}
		})
	}
}
