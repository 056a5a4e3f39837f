package consent

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPhraseWords is the maximum number of words in a revocation phrase after
// "don't" is expanded to "do not".
const maxPhraseWords = 12

// maxWrapperWords and maxWrapperAlnum bound what the matcher strips around a
// keyword or phrase: one leading "please" (6 letters), two trailing courtesy
// words such as "please thank you" (3 words, 14 letters) and one "any
// longer" or "ever again" (2 words, 9 letters).
const (
	maxWrapperWords = 6
	maxWrapperAlnum = 6 + 14 + 9
)

// maxTrailingCourtesy is how many trailing courtesy words the matcher
// strips, as in "stop please thank you".
const maxTrailingCourtesy = 2

// maxTokens is the maximum number of words in a reply that can match.
const maxTokens = maxPhraseWords + maxWrapperWords

// word is one word of a normalized reply b: the bytes b[lo:hi], or, when
// lo is negative, expansions[-lo-1]. Words hold offsets rather than slices,
// so that word arrays hold no pointers and stay on the stack.
type word struct{ lo, hi int }

// expansions are the words that "don't" and "dont" expand to.
var expansions = [...]string{"do", "not"}

// is reports whether w is s.
func (w word) is(b []byte, s string) bool {
	if w.lo < 0 {
		return expansions[-w.lo-1] == s
	}
	return string(b[w.lo:w.hi]) == s
}

func (w word) appendTo(dst, b []byte) []byte {
	if w.lo < 0 {
		return append(dst, expansions[-w.lo-1]...)
	}
	return append(dst, b[w.lo:w.hi]...)
}

// words is the list of words of one reply.
type words struct {
	n int
	w [maxTokens]word
}

func (ws *words) list() []word { return ws.w[:ws.n] }

// leadingCourtesy, trailingCourtesy and intensifiers are the words the
// matcher strips, as documented on Classifier.Classify. Two-word entries
// are separated by one space.
var (
	leadingCourtesy  = []string{"please", "pls", "plz"}
	trailingCourtesy = []string{"thank you", "please", "pls", "plz", "thanks", "thx", "ty"}
	intensifiers     = []string{"any more", "any longer", "ever again", "anymore", "again", "now"}
)

// matchWrapped looks for a keyword or revocation phrase in the normalized
// text b once the words are split apart, "don't" is expanded and courtesy
// words and intensifiers are stripped. An intensifier may follow an opt-out
// keyword too ("stop now"), and a reply made only of opt-out keywords
// ("stop stop") or of the letters of one ("s t o p") opts out as well.
// Every match it returns has FreeText set.
func (c *Classifier) matchWrapped(b []byte) Match {
	var ws words
	if !ws.split(b) || ws.n == 0 {
		return Match{}
	}
	toks := stripCourtesy(b, ws.list())

	var canonBuf [asciiStackSize]byte
	canon := joinWords(canonBuf[:0], b, toks)
	if m, ok := c.keywords[string(canon)]; ok {
		m.FreeText = true
		return m
	}
	if m, ok := c.phrases[string(canon)]; ok {
		return m
	}
	if rest := stripSuffix(b, toks, intensifiers); len(rest) < len(toks) {
		canon = joinWords(canon[:0], b, rest)
		if m, ok := c.phrases[string(canon)]; ok {
			return m
		}
		if m, ok := c.keywords[string(canon)]; ok && m.Keyword == KeywordOptOut {
			m.FreeText = true
			return m
		}
	}
	if letterDigitCountBytes(b) > c.maxAlnum {
		// Keep every match within the bound that scanReply relies on.
		return Match{}
	}
	if m, ok := c.matchRepeatedOptOut(b, toks); ok {
		return m
	}
	if m, ok := c.matchSpelledOptOut(b, toks); ok {
		return m
	}
	return Match{}
}

// matchRepeatedOptOut reports whether toks are two or more opt-out
// keywords, such as "stop stop" or "unsubscribe. stop", and returns the
// first.
func (c *Classifier) matchRepeatedOptOut(b []byte, toks []word) (Match, bool) {
	var first Match
	count := 0
	var buf [asciiStackSize]byte
	for i := 0; i < len(toks); count++ {
		// Try the two-word keywords ("stop all", "opt out") first.
		if i+1 < len(toks) {
			pair := joinWords(buf[:0], b, toks[i:i+2])
			if m, ok := c.keywords[string(pair)]; ok && m.Keyword == KeywordOptOut {
				if count == 0 {
					first = m
				}
				i += 2
				continue
			}
		}
		one := toks[i].appendTo(buf[:0], b)
		m, ok := c.keywords[string(one)]
		if !ok || m.Keyword != KeywordOptOut {
			return Match{}, false
		}
		if count == 0 {
			first = m
		}
		i++
	}
	if count < 2 {
		return Match{}, false
	}
	first.FreeText = true
	return first, true
}

// matchSpelledOptOut reports whether toks are the single letters of an
// opt-out keyword, as in "S T O P", and returns that keyword.
func (c *Classifier) matchSpelledOptOut(b []byte, toks []word) (Match, bool) {
	const minLetters = 3 // END, the shortest opt-out keyword
	if len(toks) < minLetters {
		return Match{}, false
	}
	var buf [asciiStackSize]byte
	joined := buf[:0]
	for _, t := range toks {
		if t.lo < 0 {
			return Match{}, false
		}
		r, n := utf8.DecodeRune(b[t.lo:t.hi])
		if n != t.hi-t.lo || !unicode.IsLetter(r) {
			return Match{}, false
		}
		joined = append(joined, b[t.lo:t.hi]...)
	}
	m, ok := c.keywords[string(joined)]
	if !ok || m.Keyword != KeywordOptOut {
		return Match{}, false
	}
	m.FreeText = true
	return m, true
}

// canonicalPhrase returns the form in which a configured revocation phrase
// is stored: the normalized phrase with the same words stripped and
// expanded as in matchWrapped. It reports false when the phrase has more
// than maxPhraseWords words.
func canonicalPhrase(normalized string) (string, bool) {
	b := []byte(normalized)
	var ws words
	if !ws.split(b) {
		return "", false
	}
	toks := stripCourtesy(b, ws.list())
	toks = stripSuffix(b, toks, intensifiers)
	if len(toks) > maxPhraseWords {
		return "", false
	}
	return string(joinWords(nil, b, toks)), true
}

// split stores the words of b in ws. Words are separated by spaces, and the
// punctuation at either end of a word is dropped, so "stop." and "(stop)"
// both give "stop". "don't" and "dont" become "do" and "not". It reports
// false when b has more than maxTokens words.
func (ws *words) split(b []byte) bool {
	ws.n = 0
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], ' ')
		if end < 0 {
			end = len(b)
		} else {
			end += pos
		}
		lo, hi := trimEdgeNoise(b, pos, end)
		pos = end + 1
		if lo == hi {
			continue
		}
		if w := b[lo:hi]; string(w) == "don't" || string(w) == "dont" {
			if !ws.add(word{-1, -1}) || !ws.add(word{-2, -2}) {
				return false
			}
		} else if !ws.add(word{lo, hi}) {
			return false
		}
	}
	return true
}

func (ws *words) add(w word) bool {
	if ws.n == len(ws.w) {
		return false
	}
	ws.w[ws.n] = w
	ws.n++
	return true
}

// trimEdgeNoise returns the bounds of b[lo:hi] without the characters that
// Normalize trims from a message's ends.
func trimEdgeNoise(b []byte, lo, hi int) (int, int) {
	for lo < hi {
		r, n := utf8.DecodeRune(b[lo:hi])
		if !isEdgeNoise(r) {
			break
		}
		lo += n
	}
	for hi > lo {
		r, n := utf8.DecodeLastRune(b[lo:hi])
		if !isEdgeNoise(r) {
			break
		}
		hi -= n
	}
	return lo, hi
}

// stripCourtesy removes one leading courtesy word and up to
// maxTrailingCourtesy trailing ones, never leaving toks empty.
func stripCourtesy(b []byte, toks []word) []word {
	if len(toks) > 1 {
		for _, c := range leadingCourtesy {
			if toks[0].is(b, c) {
				toks = toks[1:]
				break
			}
		}
	}
	for range maxTrailingCourtesy {
		toks = stripSuffix(b, toks, trailingCourtesy)
	}
	return toks
}

// stripSuffix removes the first entry of suffixes that toks ends with,
// never leaving toks empty.
func stripSuffix(b []byte, toks []word, suffixes []string) []word {
	for _, s := range suffixes {
		if n := endsWithWords(b, toks, s); n > 0 && n < len(toks) {
			return toks[:len(toks)-n]
		}
	}
	return toks
}

// endsWithWords returns how many words of toks the space-separated words
// of suffix match at its end, or 0 when toks does not end with them.
func endsWithWords(b []byte, toks []word, suffix string) int {
	n := 0
	for suffix != "" {
		last, rest := suffix, ""
		if i := strings.LastIndexByte(suffix, ' '); i >= 0 {
			last, rest = suffix[i+1:], suffix[:i]
		}
		if n >= len(toks) || !toks[len(toks)-1-n].is(b, last) {
			return 0
		}
		n++
		suffix = rest
	}
	return n
}

func joinWords(dst, b []byte, toks []word) []byte {
	for i, t := range toks {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = t.appendTo(dst, b)
	}
	return dst
}
