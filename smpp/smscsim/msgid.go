package smscsim

import (
	"fmt"
	"strconv"
	"strings"
)

// IDFormat is the way the simulator writes a message id. Every id is a
// number counted up from Config.FirstMessageID, so the same message can appear in one format
// in submit_sm_resp and in another in its receipt, as some carriers do.
type IDFormat string

// Message id formats, with the id 1234 as an example.
const (
	// IDDecimal writes decimal digits: "1234". The default.
	IDDecimal IDFormat = "decimal"
	// IDHex writes upper-case hex digits without leading zeros: "4D2".
	IDHex IDFormat = "hex"
	// IDHexPadded writes upper-case hex digits padded with zeros to at
	// least 8 digits: "000004D2".
	IDHexPadded IDFormat = "hex_padded"
	// IDAlphanumeric writes "SIM" and 9 upper-case base-36 digits:
	// "SIM0000000YA". It reads as neither a decimal nor a hex number.
	IDAlphanumeric IDFormat = "alphanumeric"
)

// alphanumericPrefix starts every IDAlphanumeric id. S, I and M are not hex
// digits, so such an id never parses as a number.
const alphanumericPrefix = "SIM"

// idFormats lists the formats in the order help texts show them.
var idFormats = []IDFormat{IDDecimal, IDHex, IDHexPadded, IDAlphanumeric}

// ParseIDFormat reads a format name. The empty string is IDDecimal.
func ParseIDFormat(name string) (IDFormat, error) {
	f := IDFormat(strings.ToLower(strings.TrimSpace(name)))
	if f == "" {
		return IDDecimal, nil
	}
	for _, known := range idFormats {
		if f == known {
			return f, nil
		}
	}
	return "", fmt.Errorf("invalid message id format %q: want one of %s", name, idFormatList())
}

func idFormatList() string {
	names := make([]string, len(idFormats))
	for i, f := range idFormats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Format writes the id n in format f. An unknown or empty format writes
// decimal.
func (f IDFormat) Format(n uint64) string {
	switch f {
	case IDHex:
		return strings.ToUpper(strconv.FormatUint(n, 16))
	case IDHexPadded:
		return fmt.Sprintf("%08X", n)
	case IDAlphanumeric:
		return fmt.Sprintf("%s%09s", alphanumericPrefix, strings.ToUpper(strconv.FormatUint(n, 36)))
	}
	return strconv.FormatUint(n, 10)
}

// Parse reads an id written in format f, ignoring case, and reports
// whether it is one.
func (f IDFormat) Parse(id string) (uint64, bool) {
	id = strings.ToUpper(strings.TrimSpace(id))
	var n uint64
	var err error
	switch f {
	case IDHex, IDHexPadded:
		n, err = strconv.ParseUint(id, 16, 64)
	case IDAlphanumeric:
		digits, ok := strings.CutPrefix(id, alphanumericPrefix)
		if !ok {
			return 0, false
		}
		n, err = strconv.ParseUint(digits, 36, 64)
	default:
		n, err = strconv.ParseUint(id, 10, 64)
	}
	return n, err == nil
}
