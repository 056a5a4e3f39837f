package smpp

import "strings"

// GSM 03.38 default alphabet, 3GPP TS 23.038 section 6.2.1. Each character
// is a 7-bit septet. Septet 0x1B escapes to the extension table (section
// 6.2.1.1): the septet after it selects an extension character, so an
// extension character costs two septets.

// gsmEscape is the septet that selects the extension table.
const gsmEscape = 0x1B

// gsmBasic is the basic table indexed by septet. Entry 0x1B is the escape
// and is never decoded through this table.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExtension maps the septet after an escape to its extension character,
// or to 0 where the extension table has none.
var gsmExtension = [128]rune{
	0x0A: '\f', // page break, read as form feed
	0x14: '^',
	0x28: '{',
	0x29: '}',
	0x2F: '\\',
	0x3C: '[',
	0x3D: '~',
	0x3E: ']',
	0x40: '|',
	0x65: '€',
}

// gsmCode is one character's encoding: its septet and whether an escape
// precedes it. The zero value marks a character outside the alphabet.
type gsmCode struct {
	septet   byte
	extended bool
	ok       bool
}

// gsmIsASCII marks the septets whose character is the ASCII character of
// the same value, so decoding can copy them.
var gsmIsASCII [128]bool

// gsmLatin covers runes below 0x100 and gsmOther the rest (Greek capitals
// and the euro sign), so the common case is one array lookup.
var (
	gsmLatin [256]gsmCode
	gsmOther = map[rune]gsmCode{}
)

func init() {
	for septet, r := range gsmBasic {
		if septet == gsmEscape {
			continue
		}
		gsmIsASCII[septet] = r == rune(septet)
		setGSMCode(r, gsmCode{septet: byte(septet), ok: true})
	}
	for septet, r := range gsmExtension {
		if r != 0 {
			setGSMCode(r, gsmCode{septet: byte(septet), extended: true, ok: true})
		}
	}
}

func setGSMCode(r rune, code gsmCode) {
	if r < 0x100 {
		gsmLatin[r] = code
		return
	}
	gsmOther[r] = code
}

// lookupGSM returns the encoding of r in the default alphabet.
func lookupGSM(r rune) gsmCode {
	if r >= 0 && r < 0x100 {
		return gsmLatin[r]
	}
	return gsmOther[r]
}

// gsmCost returns the septets r takes in the default alphabet: 1 for the
// basic table, 2 for the extension table, 1 for a character outside the
// alphabet (which an SMSC replaces with one septet).
func gsmCost(r rune) int {
	if lookupGSM(r).extended {
		return 2
	}
	return 1
}

// gsmSeptetCount returns the septets text takes in the default alphabet, or
// false when some character is outside it.
func gsmSeptetCount(text string) (int, bool) {
	n := 0
	for _, r := range text {
		code := lookupGSM(r)
		if !code.ok {
			return 0, false
		}
		n++
		if code.extended {
			n++
		}
	}
	return n, true
}

// GSMFitsRune reports whether r is in the GSM 03.38 basic or extension
// table.
func GSMFitsRune(r rune) bool {
	return lookupGSM(r).ok
}

// GSMFits reports whether every character of text is in the GSM 03.38
// basic or extension table.
func GSMFits(text string) bool {
	_, ok := gsmSeptetCount(text)
	return ok
}

// GSMSeptets returns the septets text takes in the GSM 03.38 default
// alphabet, counting 2 for each extension character, or false when some
// character is outside the alphabet.
func GSMSeptets(text string) (int, bool) {
	return gsmSeptetCount(text)
}

// EncodeGSM encodes text in the GSM 03.38 default alphabet, one septet per
// octet (the unpacked form most SMSCs take for data_coding 0x00). When some
// characters are outside the alphabet it returns an *TextEncodeError that lists
// them, and no data.
func EncodeGSM(text string) ([]byte, error) {
	return appendGSM(make([]byte, 0, len(text)+8), text)
}

// appendGSM appends the unpacked septets of text to dst.
func appendGSM(dst []byte, text string) ([]byte, error) {
	for i, r := range text {
		code := lookupGSM(r)
		if !code.ok {
			return nil, newTextEncodeError(CodingDefault, GSMFitsRune, text, i)
		}
		if code.extended {
			dst = append(dst, gsmEscape)
		}
		dst = append(dst, code.septet)
	}
	return dst, nil
}

// DecodeGSM decodes unpacked GSM 03.38 septets, one per octet. Septet 0x00
// is '@', never a terminator. An escape followed by a septet with no
// extension character decodes as that septet's basic-table character
// (3GPP TS 23.038 section 6.2.1.1). An escape followed by a second escape
// is reserved for a further extension table and decodes as a space, as the
// same section requires. An escape at the end of data also decodes as a
// space. An octet with
// bit 7 set is not a septet and yields a *TextDecodeError.
func DecodeGSM(septets []byte) (string, error) {
	var out strings.Builder
	out.Grow(len(septets) + len(septets)/4)
	for i := 0; i < len(septets); i++ {
		b := septets[i]
		if b > 0x7F {
			return "", notSeptetError(i)
		}
		if gsmIsASCII[b] {
			out.WriteByte(b)
			continue
		}
		if b != gsmEscape {
			out.WriteRune(gsmBasic[b])
			continue
		}
		if i+1 == len(septets) {
			out.WriteByte(' ')
			continue
		}
		i++
		next := septets[i]
		switch {
		case next > 0x7F:
			return "", notSeptetError(i)
		case gsmExtension[next] != 0:
			out.WriteRune(gsmExtension[next])
		case next == gsmEscape:
			out.WriteByte(' ')
		default:
			out.WriteRune(gsmBasic[next])
		}
	}
	return out.String(), nil
}

func notSeptetError(offset int) *TextDecodeError {
	return &TextDecodeError{Coding: CodingDefault, Offset: offset,
		Reason: "octet has bit 7 set, so it is not a GSM 7-bit septet"}
}

// PackSeptets packs septets (one per octet, high bit ignored) into octets,
// least significant bit first (3GPP TS 23.038 section 6.1.2.1.1). First come
// fillBits zero bits (0-6, other values count as 0). A UDH of n octets in
// the same user data needs (7 - n*8%7) % 7 of them, so the text starts on a
// septet boundary (3GPP TS 23.040 section 9.2.3.24). When the last octet would end with 7
// spare bits, they hold a carriage return rather than zeros, so a receiver
// does not read an extra '@' (section 6.1.2.3.1).
func PackSeptets(septets []byte, fillBits int) []byte {
	fillBits = validFillBits(fillBits)
	totalBits := fillBits + 7*len(septets)
	out := make([]byte, (totalBits+7)/8)
	bit := fillBits
	for _, s := range septets {
		putSeptet(out, bit, s&0x7F)
		bit += 7
	}
	if totalBits%8 == 1 {
		putSeptet(out, bit, '\r')
	}
	return out
}

// putSeptet writes the 7 bits of s into out starting at bit offset bit,
// dropping bits past the end of out.
func putSeptet(out []byte, bit int, s byte) {
	i, shift := bit/8, uint(bit%8)
	out[i] |= s << shift
	if shift > 1 && i+1 < len(out) {
		out[i+1] |= s >> (8 - shift)
	}
}

// UnpackSeptets reverses PackSeptets: it skips fillBits bits and returns
// count septets, one per octet. With count < 0 it returns every whole
// septet in packed. If that leaves exactly 7 spare bits at the end holding
// a carriage return, the padding that PackSeptets writes, the carriage
// return is dropped.
//
// NOTE: without a septet count, 7 spare zero bits are read as a final '@'
// and a wanted final carriage return on an octet boundary is lost unless
// the sender doubled it as section 6.1.2.3.1 requires.
func UnpackSeptets(packed []byte, fillBits, count int) []byte {
	fillBits = validFillBits(fillBits)
	available := (len(packed)*8 - fillBits) / 7
	if available < 0 {
		available = 0
	}
	n := count
	if count < 0 || count > available {
		n = available
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = getSeptet(packed, fillBits+7*i)
	}
	// Septets that end exactly on the last bit leave no spare bits, so the
	// last one may be the padding of a text one septet shorter.
	exact := (len(packed)*8-fillBits)%7 == 0
	if count < 0 && n > 0 && exact && out[n-1] == '\r' {
		out = out[:n-1]
	}
	return out
}

// validFillBits returns fillBits when it is 0-6, the only counts a septet
// boundary needs, and 0 otherwise.
func validFillBits(fillBits int) int {
	if fillBits < 0 || fillBits > 6 {
		return 0
	}
	return fillBits
}

// getSeptet reads the 7 bits starting at bit offset bit.
func getSeptet(packed []byte, bit int) byte {
	i, shift := bit/8, uint(bit%8)
	s := packed[i] >> shift
	if shift > 1 && i+1 < len(packed) {
		s |= packed[i+1] << (8 - shift)
	}
	return s & 0x7F
}
