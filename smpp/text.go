package smpp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// DefaultAlphabet is the character set a peer means by data_coding 0x00,
// the "SMSC default alphabet" of SMPP 3.4 section 5.2.19. It is a per-peer
// setting because SMSCs differ.
type DefaultAlphabet uint8

// Default alphabets; the zero value is the GSM 03.38 default alphabet.
const (
	DefaultGSM    DefaultAlphabet = iota // GSM 03.38 default alphabet (3GPP TS 23.038)
	DefaultLatin1                        // ISO-8859-1
	DefaultIA5                           // IA5, which is ASCII
)

// TextOptions are the per-peer text settings. The zero value reads
// data_coding 0x00 as unpacked GSM 03.38 septets, one per octet.
type TextOptions struct {
	// Default is the alphabet of data_coding 0x00. Default: DefaultGSM.
	Default DefaultAlphabet
	// Packed means GSM 7-bit text is packed, 8 septets in 7 octets
	// (3GPP TS 23.038 section 6.1.2.1.1). Default: false, one septet per
	// octet. It applies to data_coding 0x00 with DefaultGSM and to the
	// GSM 03.38 coding groups that select the default alphabet.
	Packed bool
}

// ErrUnsupportedCoding is returned for a data_coding value whose character
// set this package does not convert (JIS, pictograms, ISO-2022-JP, Kanji,
// KS C 5601, compressed text and reserved values).
var ErrUnsupportedCoding = errors.New("smpp: unsupported data_coding")

// TextEncodeError reports characters that the requested encoding cannot hold.
type TextEncodeError struct {
	Coding DataCoding // the requested data_coding
	Offset int        // byte offset in the text of the first such character
	Chars  []rune     // each such character once, in order of first use
}

func (e *TextEncodeError) Error() string {
	var quoted strings.Builder
	for i, r := range e.Chars {
		if i > 0 {
			quoted.WriteString(", ")
		}
		fmt.Fprintf(&quoted, "%q (U+%04X)", r, r)
	}
	return fmt.Sprintf("smpp: encode text as data_coding %s: %d character(s) not in the alphabet, "+
		"first at byte %d: %s", e.Coding, len(e.Chars), e.Offset, quoted.String())
}

// newTextEncodeError builds the error for text whose first unencodable
// character is at byte first, listing every character fits rejects.
func newTextEncodeError(coding DataCoding, fits func(rune) bool, text string, first int) *TextEncodeError {
	e := &TextEncodeError{Coding: coding, Offset: first}
	for _, r := range text[first:] {
		if !fits(r) && !containsRune(e.Chars, r) {
			e.Chars = append(e.Chars, r)
		}
	}
	return e
}

func containsRune(runes []rune, r rune) bool {
	for _, x := range runes {
		if x == r {
			return true
		}
	}
	return false
}

// TextDecodeError reports data that is not valid in its data_coding.
type TextDecodeError struct {
	Coding DataCoding // the data_coding of the data
	Offset int        // octet offset of the fault in the data
	Reason string
}

func (e *TextDecodeError) Error() string {
	return fmt.Sprintf("smpp: decode data_coding %s at octet %d: %s", e.Coding, e.Offset, e.Reason)
}

// DecodeText decodes short_message or message_payload octets (without a
// UDH) in the character set coding selects, with opts saying what 0x00
// means for the peer.
//
// Binary codings (0x02, 0x04 and 8-bit GSM 03.38 groups) are returned
// unchanged as a string that need not be valid UTF-8. UCS2 is read as
// big-endian UTF-16, so surrogate pairs become one character; a lone
// surrogate becomes U+FFFD and an odd octet count is a *TextDecodeError.
// Unsupported codings yield an error wrapping ErrUnsupportedCoding.
func DecodeText(coding DataCoding, data []byte, opts TextOptions) (string, error) {
	switch alphabetOf(coding, opts.Default) {
	case alphabetGSM7:
		if opts.Packed {
			data = UnpackSeptets(data, 0, -1)
		}
		text, err := DecodeGSM(data)
		if err != nil {
			err.(*TextDecodeError).Coding = coding
		}
		return text, err
	case alphabetIA5:
		return decodeIA5(coding, data)
	case alphabetLatin1:
		return decodeLatin1(data), nil
	case alphabetBinary:
		return string(data), nil
	case alphabetCyrillic:
		return decodeCharmap(charmap.ISO8859_5, data), nil
	case alphabetHebrew:
		return decodeCharmap(charmap.ISO8859_8, data), nil
	case alphabetUCS2:
		return decodeUCS2(coding, data)
	}
	return "", fmt.Errorf("decode text with data_coding %s: %w", coding, ErrUnsupportedCoding)
}

// EncodeText encodes text in the character set coding selects, the
// reverse of DecodeText. Characters the character set cannot hold yield an
// *TextEncodeError listing them. Binary codings copy the bytes of text.
// Invalid UTF-8 in text is read as U+FFFD.
func EncodeText(text string, coding DataCoding, opts TextOptions) ([]byte, error) {
	data, err := encodeUnpacked(text, coding, opts.Default)
	if err != nil {
		return nil, err
	}
	if opts.Packed && alphabetOf(coding, opts.Default) == alphabetGSM7 {
		data = PackSeptets(data, 0)
	}
	return data, nil
}

// encodeUnpacked encodes text, leaving GSM 7-bit text one septet per octet.
func encodeUnpacked(text string, coding DataCoding, def DefaultAlphabet) ([]byte, error) {
	switch alphabetOf(coding, def) {
	case alphabetGSM7:
		data, err := appendGSM(make([]byte, 0, len(text)+8), text)
		if err != nil {
			err.(*TextEncodeError).Coding = coding
		}
		return data, err
	case alphabetIA5:
		return encodeSingleByte(text, coding, func(r rune) (byte, bool) { return byte(r), r < 0x80 })
	case alphabetLatin1:
		return encodeSingleByte(text, coding, func(r rune) (byte, bool) { return byte(r), r < 0x100 })
	case alphabetBinary:
		return []byte(text), nil
	case alphabetCyrillic:
		return encodeSingleByte(text, coding, charmap.ISO8859_5.EncodeRune)
	case alphabetHebrew:
		return encodeSingleByte(text, coding, charmap.ISO8859_8.EncodeRune)
	case alphabetUCS2:
		return appendUCS2(make([]byte, 0, 2*len(text)), text), nil
	}
	return nil, fmt.Errorf("encode text with data_coding %s: %w", coding, ErrUnsupportedCoding)
}

func decodeIA5(coding DataCoding, data []byte) (string, error) {
	for i, b := range data {
		if b > 0x7F {
			return "", &TextDecodeError{Coding: coding, Offset: i,
				Reason: fmt.Sprintf("octet 0x%02x is outside IA5 (ASCII)", b)}
		}
	}
	return string(data), nil
}

func decodeLatin1(data []byte) string {
	out := make([]rune, len(data))
	for i, b := range data {
		out[i] = rune(b)
	}
	return string(out)
}

// decodeCharmap decodes a single-byte character set; octets the set leaves
// undefined become U+FFFD.
func decodeCharmap(cm *charmap.Charmap, data []byte) string {
	out := make([]rune, len(data))
	for i, b := range data {
		out[i] = cm.DecodeByte(b)
	}
	return string(out)
}

// encodeSingleByte encodes text with a one-octet-per-character mapping.
func encodeSingleByte(text string, coding DataCoding, encode func(rune) (byte, bool)) ([]byte, error) {
	out := make([]byte, 0, len(text))
	for i, r := range text {
		b, ok := encode(r)
		if !ok {
			fits := func(r rune) bool { _, ok := encode(r); return ok }
			return nil, newTextEncodeError(coding, fits, text, i)
		}
		out = append(out, b)
	}
	return out, nil
}

// decodeUCS2 reads big-endian UTF-16. A lone surrogate becomes U+FFFD.
func decodeUCS2(coding DataCoding, data []byte) (string, error) {
	if len(data)%2 != 0 {
		return "", &TextDecodeError{Coding: coding, Offset: len(data) - 1,
			Reason: fmt.Sprintf("UCS2 data has an odd length of %d octets", len(data))}
	}
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); i += 2 {
		u := rune(data[i])<<8 | rune(data[i+1])
		if utf16.IsSurrogate(u) && i+3 < len(data) {
			next := rune(data[i+2])<<8 | rune(data[i+3])
			if r := utf16.DecodeRune(u, next); r != utf8.RuneError {
				b.WriteRune(r)
				i += 2
				continue
			}
		}
		// A lone surrogate is not a character; WriteRune turns it into U+FFFD.
		b.WriteRune(u)
	}
	return b.String(), nil
}

// appendUCS2 appends text as big-endian UTF-16 to dst.
func appendUCS2(dst []byte, text string) []byte {
	for _, r := range text {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			dst = append(dst, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		dst = append(dst, byte(r>>8), byte(r))
	}
	return dst
}
