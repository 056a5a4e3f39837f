package consent

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Look-alike reading. A reply that reads as no keyword gets a second
// reading in which letters that look like Latin letters count as those
// letters. These are Cyrillic and Greek look-alikes ("SТОP" with a Cyrillic
// Т and О), small capitals ("ꜱᴛᴏᴘ") and a zero for the letter O ("ST0P").
// Accents and stray combining marks are dropped ("stóp", "s̶t̶o̶p̶"), and
// punctuation inside words reads as a space ("opt.out", "S.T.O.P"). The second reading may only opt out:
// failing to honour a STOP that a person plainly wrote is worse than a
// wrong opt-out, which the subscriber undoes with UNSTOP, while a wrong
// opt-in or resume would mean texting without consent.

// lookalikes maps lower-case letters of other scripts, and Latin small
// capitals, to the ASCII letter they show. Normalize folds case first, so
// the lower-case forms stand for the capitals too: "Т" and "т" map to "t".
var lookalikes = map[rune]byte{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'к': 'k', 'м': 'm', 'н': 'h',
	'о': 'o', 'р': 'p', 'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
	'ү': 'y', 'һ': 'h', 'ӏ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'ζ': 'z', 'η': 'h', 'ι': 'i', 'κ': 'k', 'μ': 'm', 'ν': 'n',
	'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'y', 'χ': 'x', 'ϲ': 'c', 'ϳ': 'j',
	// Armenian
	'հ': 'h', 'ո': 'n', 'ս': 'u', 'օ': 'o',
	// Latin dotless i and j, and small capitals
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g',
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i',
	'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ʀ': 'r', 'ꜱ': 's',
	'ᴛ': 't', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z',
}

// isWordJoiner reports punctuation that the look-alike reading treats as a
// space between words or letters.
func isWordJoiner(c byte) bool {
	switch c {
	case '.', ',', ';', ':', '-', '_', '*', '/', '|', '~', '+':
		return true
	}
	return false
}

// matchLookalike classifies the look-alike reading of the normalized text
// b, and returns the match only when it is an opt-out, with FreeText set.
func (c *Classifier) matchLookalike(b []byte) Match {
	var buf [asciiStackSize]byte
	sk, changed := lookalikeReading(buf[:0], b)
	if !changed || len(sk) == 0 {
		return Match{}
	}
	m, ok := c.keywords[string(sk)]
	if !ok {
		m = c.matchWrapped(sk)
	}
	if m.Keyword != KeywordOptOut {
		return Match{}
	}
	m.FreeText = true
	return m
}

// lookalikeReading appends the look-alike reading of the normalized text b
// to dst, with single spaces between words and none at the ends, and
// reports whether it differs from b.
func lookalikeReading(dst, b []byte) ([]byte, bool) {
	start := len(dst)
	changed, space := false, false
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		var out byte
		switch {
		case r == ' ':
			space = true
			continue
		case r < utf8.RuneSelf && isWordJoiner(byte(r)):
			changed, space = true, true
			continue
		case r == '0':
			out, changed = 'o', true
		case r < utf8.RuneSelf:
			out = byte(r)
		default:
			if space && len(dst) > start {
				dst = append(dst, ' ')
			}
			space = false
			dst = appendLookalike(dst, r)
			changed = true
			continue
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, out)
	}
	return dst, changed
}

// appendLookalike appends the look-alike reading of the non-ASCII rune r:
// r decomposed (NFD) without its combining marks, each remaining rune
// mapped through lookalikes. So "ó" reads "o", "т" reads "t" and a
// combining overlay reads as nothing.
func appendLookalike(dst []byte, r rune) []byte {
	if l, ok := lookalikes[r]; ok {
		return append(dst, l)
	}
	var rbuf [utf8.UTFMax]byte
	encoded := utf8.AppendRune(rbuf[:0], r)
	decomposed := norm.NFD.Properties(encoded).Decomposition()
	if decomposed == nil {
		decomposed = encoded
	}
	for i := 0; i < len(decomposed); {
		d, n := utf8.DecodeRune(decomposed[i:])
		i += n
		switch l, ok := lookalikes[d]; {
		case ok:
			dst = append(dst, l)
		case unicode.Is(unicode.Mn, d):
		default:
			dst = utf8.AppendRune(dst, d)
		}
	}
	return dst
}

// letterDigitCountBytes returns the number of letters and digits in b.
func letterDigitCountBytes(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r < utf8.RuneSelf {
			if isASCIIAlnum(byte(r)) {
				n++
			}
		} else if unicode.IsLetter(r) || unicode.IsNumber(r) {
			n++
		}
	}
	return n
}
