package consent

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns text in the form that keyword matching compares, so
// that case, width, invisible characters and surrounding punctuation do not
// affect matching. The steps are:
//
//   - Zero-width and other format characters (ZWSP, ZWNJ, ZWJ, word joiner,
//     BOM, soft hyphen, direction marks, emoji tags) are removed without a
//     trace, so "s\u200btop" reads "stop". So are variation selectors,
//     enclosing marks (the keycap) and the other default-ignorable
//     characters, such as the combining grapheme joiner and Hangul fillers.
//   - Enclosed Latin letters ("ⓈⓉⓄⓅ", "🅂🅃🄾🄿") become their letters.
//   - Emoji, pictographs and other symbols of Unicode category So, skin-tone
//     modifiers and control characters become a space, so "YES👍" reads "yes".
//   - Unicode NFKC turns fullwidth and other compatibility forms into their
//     plain letters ("ＳＴＯＰ" reads "stop") and the ellipsis into "...".
//   - Full Unicode case folding lower-cases the text ("ß" becomes "ss").
//   - Dashes become "-", and curly quotes and apostrophes become their ASCII
//     forms, so "OPT–OUT" and "don’t" match "opt-out" and "don't".
//   - Runs of whitespace of any kind (no-break space, CR, LF, tab, ideographic
//     space) collapse to one ASCII space.
//   - Every leading and trailing character that is not a letter, digit or
//     combining mark is trimmed: spaces, punctuation and symbols such as
//     "!", "…", "?", "-", quotes and brackets.
//
// Punctuation inside the text is kept, so "stop. thank you" stays two words
// apart from "stop". Decoding the SMPP data_coding (GSM 03.38, UCS2) is the
// caller's job: Normalize takes decoded text. Invalid UTF-8 bytes are read
// as U+FFFD and so become spaces.
//
// Normalize is idempotent, Normalize(Normalize(s)) == Normalize(s), which the
// property and fuzz tests check.
func Normalize(text string) string {
	if isASCII(text) {
		var buf [asciiStackSize]byte
		dst := buf[:0]
		if len(text) > len(buf) {
			dst = make([]byte, 0, len(text))
		}
		return string(normalizeASCII(dst, text))
	}
	return normalizeUnicode(text)
}

// asciiStackSize is the largest ASCII input normalized into a stack buffer;
// a 160-character SMS fits.
const asciiStackSize = 256

// maxNormalizePasses bounds how often normalizeUnicode repeats its pipeline
// to reach a fixed point. Removing a character can bring a letter and a
// combining mark together, and the next NFKC pass composes them, so one pass
// is not always idempotent. FuzzClassify checks that the result is a fixed
// point.
const maxNormalizePasses = 4

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizeASCII appends the normalized form of the ASCII text s to dst. It
// produces the same result as normalizeUnicode on ASCII input, where NFKC
// changes nothing and case folding is lower-casing, without allocating.
func normalizeASCII(dst []byte, s string) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c == 0x7f:
			space = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, c)
	}
	out := dst[start:]
	lo, hi := 0, len(out)
	for lo < hi && !isASCIIAlnum(out[lo]) {
		lo++
	}
	for hi > lo && !isASCIIAlnum(out[hi-1]) {
		hi--
	}
	n := copy(out, out[lo:hi])
	return dst[:start+n]
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
}

// normalizeUnicode runs the full pipeline described on Normalize until the
// text stops changing, at most maxNormalizePasses times.
func normalizeUnicode(s string) string {
	out := normalizePass(s)
	for range maxNormalizePasses - 1 {
		if isASCII(out) {
			// normalizeASCII on its own output is the identity.
			return out
		}
		next := normalizePass(out)
		if next == out {
			break
		}
		out = next
	}
	return out
}

func normalizePass(s string) string {
	// Drop invisible characters before NFKC, because a zero-width character
	// between a letter and a combining mark would block their composition.
	s = strings.Map(invisibleToSpace, s)
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s)
	s = norm.NFKC.String(s)

	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		r = invisibleToSpace(r)
		switch {
		case r < 0:
			continue
		case unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp, unicode.Cc):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(plainPunctuation(r))
	}
	return strings.TrimFunc(b.String(), isEdgeNoise)
}

// invisibleToSpace maps a rune for the first step of Normalize. It returns
// -1 (drop) for format characters, variation selectors, enclosing marks and
// the other default-ignorable characters. The Hangul fillers are among them:
// letters that render as nothing. It returns the letter of an enclosed
// Latin letter, ' ' for other pictographs and control characters, and r
// itself otherwise.
func invisibleToSpace(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	case unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Me,
		unicode.Other_Default_Ignorable_Code_Point):
		return -1
	case unicode.Is(unicode.So, r):
		if l, ok := enclosedLetter(r); ok {
			return l
		}
		return ' '
	case isSkinTone(r), unicode.Is(unicode.Cc, r):
		return ' '
	}
	return r
}

// enclosedLetter returns the letter that an enclosed Latin letter (circled
// Ⓢ, squared 🅂, negative circled 🅢 or negative squared 🆂) shows, for
// replies typed with "fancy text" keyboards. NFKC would map the circled and
// squared forms, but they are symbols (So), which Normalize otherwise turns
// into spaces before NFKC. Regional indicators are left out: pairs of them
// are flags, as in "STOP🇺🇸".
func enclosedLetter(r rune) (rune, bool) {
	switch {
	case 0x24b6 <= r && r <= 0x24cf: // circled capital letters
		return 'A' + r - 0x24b6, true
	case 0x24d0 <= r && r <= 0x24e9: // circled small letters
		return 'a' + r - 0x24d0, true
	case 0x1f130 <= r && r <= 0x1f149: // squared capital letters
		return 'A' + r - 0x1f130, true
	case 0x1f150 <= r && r <= 0x1f169: // negative circled capital letters
		return 'A' + r - 0x1f150, true
	case 0x1f170 <= r && r <= 0x1f189: // negative squared capital letters
		return 'A' + r - 0x1f170, true
	}
	return 0, false
}

// isSkinTone reports the emoji modifiers U+1F3FB..U+1F3FF (Fitzpatrick skin
// tones), which Unicode files under Sk rather than So.
func isSkinTone(r rune) bool { return 0x1F3FB <= r && r <= 0x1F3FF }

// plainPunctuation maps dashes to "-" and curly quotes and apostrophes to
// their ASCII forms, so replies typed with smart punctuation match.
func plainPunctuation(r rune) rune {
	switch r {
	case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '\u2035', '\u02bc':
		return '\''
	case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u2036':
		return '"'
	case '\u2212':
		return '-'
	}
	if r >= utf8.RuneSelf && unicode.Is(unicode.Pd, r) {
		return '-'
	}
	return r
}

// isEdgeNoise reports a rune that Normalize trims from both ends: anything
// that is not a letter, digit or combining mark.
func isEdgeNoise(r rune) bool {
	if r < utf8.RuneSelf {
		return !isASCIIAlnum(byte(r))
	}
	return !unicode.In(r, unicode.L, unicode.N, unicode.M)
}
