package smpp

import (
	"math/big"
	"strings"
)

// IDConversion is a change of base CanonicalMessageID applies to message
// ids, for SMSCs that give an id in hex in submit_sm_resp and in decimal in
// the receipt, or the other way round.
type IDConversion uint8

// Id conversions. The zero value keeps the base.
const (
	IDKeepBase     IDConversion = iota
	IDHexToDecimal              // read the id as hex, write it in decimal
	IDDecimalToHex              // read the id as decimal, write it in upper-case hex
)

// CanonicalMessageID returns the form of a message id used to match a
// receipt to its message. It trims spaces and NULs, upper-cases
// letters, applies conversion and strips leading zeros, so "00b8be19 " and
// "B8BE19" match. An id of only zeros becomes "0". An id that is not a
// number in the base conversion reads, or longer than the 64 characters of
// an SMPP message_id, is only trimmed, upper-cased and stripped. Apply the same call, with the same conversion for the same
// SMSC, when storing an id and when looking it up.
func CanonicalMessageID(id string, conversion IDConversion) string {
	id = strings.ToUpper(strings.Trim(id, " \t\r\n\x00"))
	switch {
	case len(id) >= maxMessageID: // maxMessageID counts the NUL
		// Not an SMPP message id; converting it would cost time for nothing.
	case conversion == IDHexToDecimal && isDigits(id, 16):
		n, _ := new(big.Int).SetString(id, 16)
		return n.Text(10)
	case conversion == IDDecimalToHex && isDigits(id, 10):
		n, _ := new(big.Int).SetString(id, 10)
		return strings.ToUpper(n.Text(16))
	}
	trimmed := strings.TrimLeft(id, "0")
	if trimmed == "" && id != "" {
		return "0"
	}
	return trimmed
}

// isDigits reports whether s is non-empty and only digits of base (10 or
// 16, upper case). big.Int.SetString alone would also take a sign.
func isDigits(s string, base int) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case base == 16 && c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}
