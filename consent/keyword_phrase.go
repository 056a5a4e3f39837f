package consent

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// maxPhraseWords is the maximum number of words in a revocation phrase after
// "don't" is expanded to "do not".
const maxPhraseWords = 12

// maxWrapperWords and maxWrapperAlnum bound what the matcher strips around a
// keyword or phrase: one leading "please" (6 letters), one trailing "thank
// you" (2 words, 8 letters) and one "any longer" or "ever again" (2 words,
// 9 letters).
const (
	maxWrapperWords = 5
	maxWrapperAlnum = 6 + 8 + 9
)

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
	intensifiers     = []string{"any more", "any longer", "ever again", "anymore", "again"}
)

// matchWrapped looks for a keyword or revocation phrase in the normalized
// text b once the words are split apart, "don't" is expanded and courtesy
// words and intensifiers are stripped. Every match it returns has FreeText
// set.
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
	}
	return Match{}
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

// stripCourtesy removes one leading and one trailing courtesy word, never
// leaving toks empty.
func stripCourtesy(b []byte, toks []word) []word {
	if len(toks) > 1 {
		for _, c := range leadingCourtesy {
			if toks[0].is(b, c) {
				toks = toks[1:]
				break
			}
		}
	}
	return stripSuffix(b, toks, trailingCourtesy)
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
