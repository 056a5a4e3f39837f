package consent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/optgate/optgate/smpp"
)

// maxRawNumber bounds the raw address NormalizeNumber accepts. SMPP 3.4
// limits source_addr and destination_addr to 21 octets, and the extra room
// is for formatting such as "(201) 555-0101".
const maxRawNumber = 40

// ErrInvalidPhoneNumber is the cause every NumberError wraps, for callers
// that only need to know that a number was rejected.
var ErrInvalidPhoneNumber = errors.New("invalid phone number")

// NumberError reports an address that NormalizeNumber cannot turn into an
// E.164 number.
type NumberError struct {
	Raw    string // the address as received
	TON    uint8  // its addr_ton
	NPI    uint8  // its addr_npi
	Reason string // the reason for the rejection
}

func (e *NumberError) Error() string {
	return fmt.Sprintf("consent: invalid phone number %q (ton %s, npi %s): %s",
		e.Raw, smpp.TON(e.TON), smpp.NPI(e.NPI), e.Reason)
}

// Unwrap returns ErrInvalidPhoneNumber.
func (e *NumberError) Unwrap() error { return ErrInvalidPhoneNumber }

// NormalizeNumber returns the E.164 form ("+12015550101") of an address
// received with the given SMPP addr_ton and addr_npi. defaultRegion is the
// ISO 3166 region ("US", "CA") that national numbers belong to. It reads:
//
//   - "+12015550101" with any TON except alphanumeric and abbreviated;
//   - international numbers (TON 1) with or without "+", and with a stray
//     "00" or "011" international prefix, which cannot be part of a number
//     because no country code starts with 0;
//   - "0012015550101" (the ITU international prefix) with any TON, and
//     "01112015550101" (the NANP international prefix) in NANP regions;
//   - national numbers such as "(201) 555-0101", "2015550101" and
//     "12015550101" in defaultRegion for TON unknown, national, network
//     specific and subscriber. With TON unknown, digits that are no possible
//     national number are read as international digits, because many SMSCs
//     send international numbers with TON 0.
//
// It rejects alphanumeric (TON 5) and abbreviated (TON 6) addresses, TON
// values SMPP 3.4 does not define, numbering plans other than unknown, ISDN
// and national (NPI 0, 1, 8), letters, and numbers of impossible length.
// Errors are *NumberError values naming the address.
//
// Validity is checked by length per country (libphonenumber's
// IsPossibleNumber) and, for country code 1, by the NANP structure: the
// area code and exchange begin with 2-9 and are not N11 service codes. The
// stricter IsValidNumber is not used, because it depends on which area codes
// and ranges the library version lists as assigned. It would break on new
// area codes and could reject the fictional 555-01xx test range.
//
// NANP numbers in plain digits skip the library, which is slow; see
// normalizeNANPFast.
func NormalizeNumber(raw string, ton, npi uint8, defaultRegion string) (string, error) {
	if e164, ok := normalizeNANPFast(raw, ton, npi, defaultRegion); ok {
		return e164, nil
	}
	return normalizeNumberSlow(raw, ton, npi, defaultRegion)
}

// normalizeNANPFast handles the common case of a NANP number in plain ASCII
// digits: "+1" and ten digits, "1" and ten digits with TON international,
// or ten or eleven digits with TON unknown or national in a NANP region. It
// reports false for anything else, leaving it to normalizeNumberSlow, which
// returns the same result for every input the fast path accepts.
func normalizeNANPFast(raw string, tonValue, npiValue uint8, region string) (string, bool) {
	ton, npi := smpp.TON(tonValue), smpp.NPI(npiValue)
	if npi != smpp.NPIUnknown && npi != smpp.NPIISDN && npi != smpp.NPINational {
		return "", false
	}
	switch {
	case len(raw) == 12 && raw[0] == '+' && raw[1] == '1':
		if ton <= smpp.TONSubscriberNumber && isNANPNational(raw[2:]) {
			return raw, true
		}
	case len(raw) == 11 && raw[0] == '1':
		national := ton == smpp.TONUnknown || ton == smpp.TONNational
		if (ton == smpp.TONInternational || national && isNANPRegion(region)) &&
			isNANPNational(raw[1:]) {
			return "+" + raw, true
		}
	case len(raw) == 10:
		national := ton == smpp.TONUnknown || ton == smpp.TONNational
		if national && isNANPRegion(region) && isNANPNational(raw) {
			return "+1" + raw, true
		}
	}
	return "", false
}

// isNANPRegion reports whether region uses the North American Numbering
// Plan (country code 1). The two regions optgate serves are checked first.
func isNANPRegion(region string) bool {
	return region == "US" || region == "CA" || phonenumbers.IsNANPACountry(strings.ToUpper(region))
}

// isNANPNational reports whether d is a ten-digit NANP number NXX-NXX-XXXX
// whose area code and exchange begin with 2-9 and are not N11 codes.
func isNANPNational(d string) bool {
	if len(d) != 10 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return isNANPCode(d[0:3]) && isNANPCode(d[3:6])
}

func isNANPCode(c string) bool {
	return c[0] >= '2' && !(c[1] == '1' && c[2] == '1')
}

func normalizeNumberSlow(raw string, ton, npi uint8, region string) (string, error) {
	fail := func(format string, args ...any) error {
		return &NumberError{Raw: raw, TON: ton, NPI: npi, Reason: fmt.Sprintf(format, args...)}
	}
	if err := checkTONNPI(smpp.TON(ton), smpp.NPI(npi)); err != "" {
		return "", fail("%s", err)
	}
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", fail("empty address")
	case len(s) > maxRawNumber:
		return "", fail("longer than %d characters", maxRawNumber)
	}
	plus := s[0] == '+'
	if plus {
		s = s[1:]
	}
	digits, reason := digitsOnly(s)
	if reason != "" {
		return "", fail("%s", reason)
	}
	if digits == "" {
		return "", fail("no digits")
	}
	region = strings.ToUpper(region)

	international := plus || smpp.TON(ton) == smpp.TONInternational
	switch {
	case international && strings.HasPrefix(digits, "011"):
		digits, international = digits[3:], true
	case strings.HasPrefix(digits, "00"):
		digits, international = digits[2:], true
	case !plus && strings.HasPrefix(digits, "011") && isNANPRegion(region):
		digits, international = digits[3:], true
	}
	if international {
		return parsePossible("+"+digits, "", fail)
	}
	if region == "" {
		return "", fail("national number and no default region")
	}
	if _, ok := phonenumbers.GetSupportedRegions()[region]; !ok {
		return "", fail("unknown default region %q", region)
	}
	e164, err := parsePossible(digits, region, fail)
	if err != nil && smpp.TON(ton) == smpp.TONUnknown {
		if alt, altErr := parsePossible("+"+digits, "", fail); altErr == nil {
			return alt, nil
		}
	}
	return e164, err
}

// checkTONNPI returns why the addr_ton or addr_npi rule out a phone number,
// or "" when they allow one.
func checkTONNPI(ton smpp.TON, npi smpp.NPI) string {
	switch ton {
	case smpp.TONUnknown, smpp.TONInternational, smpp.TONNational,
		smpp.TONNetworkSpecific, smpp.TONSubscriberNumber:
	case smpp.TONAlphanumeric:
		return "an alphanumeric address (TON 5) is not a phone number"
	case smpp.TONAbbreviated:
		return "an abbreviated number (TON 6) has no E.164 form"
	default:
		return fmt.Sprintf("TON %d is not defined by SMPP 3.4 section 5.2.5", ton)
	}
	switch npi {
	case smpp.NPIUnknown, smpp.NPIISDN, smpp.NPINational:
		return ""
	case smpp.NPIData, smpp.NPITelex, smpp.NPILandMobile, smpp.NPIPrivate,
		smpp.NPIERMES, smpp.NPIInternet, smpp.NPIWAPClient:
		return fmt.Sprintf("numbering plan %s (NPI %d) is not a public telephone numbering plan", npi, npi)
	}
	return fmt.Sprintf("NPI %d is not defined by SMPP 3.4 section 5.2.6", npi)
}

// digitsOnly returns the digits of s, dropping the separators people write
// inside numbers (space, "-", ".", "(", ")"). It returns a reason when s
// holds anything else, such as letters or a second "+".
func digitsOnly(s string) (string, string) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			return "", "contains letters (an alphanumeric sender uses TON 5)"
		default:
			return "", fmt.Sprintf("contains %q, which is not part of a phone number", r)
		}
	}
	return b.String(), ""
}

// parsePossible parses number with libphonenumber and checks that it has a
// possible length for its country and, for country code 1, the NANP
// structure.
func parsePossible(number, region string, fail func(string, ...any) error) (string, error) {
	n, err := phonenumbers.Parse(number, region)
	if err != nil {
		return "", fail("%v", err)
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", fail("unknown country code")
	case phonenumbers.TOO_SHORT:
		return "", fail("too short")
	case phonenumbers.TOO_LONG:
		return "", fail("too long")
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", fail("local number without area code")
	default:
		return "", fail("impossible length for its country")
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if n.GetCountryCode() == 1 && !isNANPNational(e164[2:]) {
		return "", fail("not a NANP number: area code and exchange must begin with 2-9 and not be N11")
	}
	return e164, nil
}

// tollFreeCodes are the NANP toll-free area codes.
var tollFreeCodes = [...]string{"800", "833", "844", "855", "866", "877", "888"}

// IsTollFree reports whether e164 is a US/CA toll-free number: "+1", one of
// the toll-free area codes 800, 833, 844, 855, 866, 877 or 888, and seven
// more digits. It expects the E.164 form that NormalizeNumber returns.
func IsTollFree(e164 string) bool {
	if len(e164) != 12 || e164[0] != '+' || e164[1] != '1' || !isNANPNational(e164[2:]) {
		return false
	}
	for _, code := range tollFreeCodes {
		if e164[2:5] == code {
			return true
		}
	}
	return false
}

// formatNANP returns a NANP E.164 number in the readable national form
// "(888) 555-0100", and any other number unchanged.
func formatNANP(e164 string) string {
	if len(e164) != 12 || !strings.HasPrefix(e164, "+1") || !isNANPNational(e164[2:]) {
		return e164
	}
	d := e164[2:]
	return "(" + d[:3] + ") " + d[3:6] + "-" + d[6:]
}
