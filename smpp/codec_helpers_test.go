package smpp

import (
	"encoding/hex"
	"strings"
	"testing"
)

// mustHex decodes hex written in groups with spaces, newlines and
// "#" comments to the end of a line.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex fixture: %v", err)
	}
	return b
}

// mustDecode decodes b and fails the test on error.
func mustDecode(t testing.TB, b []byte) PDU {
	t.Helper()
	p, err := DecodePDU(b)
	if err != nil {
		t.Fatalf("DecodePDU: %v", err)
	}
	return p
}

// mustEncode encodes p and fails the test on error.
func mustEncode(t testing.TB, p PDU) []byte {
	t.Helper()
	b, err := EncodePDU(p)
	if err != nil {
		t.Fatalf("EncodePDU(%v): %v", p.CommandID(), err)
	}
	return b
}

// asDecodeError returns err as a *DecodeError or fails the test.
func asDecodeError(t testing.TB, err error) *DecodeError {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *DecodeError")
	}
	de, ok := err.(*DecodeError)
	if !ok {
		t.Fatalf("got %T (%v), want *DecodeError", err, err)
	}
	return de
}
