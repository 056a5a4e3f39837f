package consent

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Keyword is the meaning of a subscriber's reply (an MO message).
type Keyword int

// Keywords a reply can carry. KeywordNone marks an ordinary message, which
// the gateway forwards to the business.
const (
	KeywordNone   Keyword = iota // an ordinary message
	KeywordOptOut                // STOP and its synonyms: revoke consent
	KeywordOptIn                 // YES: give consent after an opt-in request
	KeywordResume                // UNSTOP or START: undo an earlier STOP
	KeywordHelp                  // HELP or INFO: ask who is texting
)

var keywordNames = [...]string{"none", "opt_out", "opt_in", "resume", "help"}

// String returns the keyword's stable name: none, opt_out, opt_in, resume or
// help.
func (k Keyword) String() string {
	if k >= 0 && int(k) < len(keywordNames) {
		return keywordNames[k]
	}
	return fmt.Sprintf("keyword(%d)", int(k))
}

// Match is the result of classifying one reply.
type Match struct {
	// Keyword is the meaning of the reply, or KeywordNone for an ordinary
	// message.
	Keyword Keyword
	// Word is the matched keyword or revocation phrase in normalized form,
	// for example "stop", "opt out" or "do not text me". It is empty when
	// Keyword is KeywordNone.
	Word string
	// FreeText reports that the reply was not a bare keyword: it matched a
	// revocation phrase ("please stop texting me"), or a keyword wrapped in
	// courtesy words ("Stop. Thank you", "yes please"). The audit trail keeps
	// this flag next to the verbatim text.
	FreeText bool
}

// KeywordConfig lists the words and phrases a Classifier recognizes. Every
// entry is passed through Normalize, so case, width and surrounding
// punctuation in the configuration do not matter. An entry may hold several
// words ("stop all"). Each normalized entry may belong to one list only.
type KeywordConfig struct {
	// OptOut lists the opt-out keywords. Default: STOP, STOPALL, STOP ALL,
	// UNSUBSCRIBE, END, QUIT, CANCEL, REVOKE, OPTOUT, OPT OUT, OPT-OUT. The
	// list contains the seven words of the FCC's 2024 revocation rule (47
	// CFR 64.1200(a)(10)): stop, quit, end, revoke, opt out, cancel and
	// unsubscribe.
	OptOut []string
	// OptOutOther lists opt-out keywords in other languages, kept apart so an
	// operator can replace them without restating OptOut. Default: ARRET and
	// ARRÊT (French, "stop"), ALTO (Spanish, "stop"), BAJA (Spanish, as in
	// "darse de baja", "unsubscribe") and PARAR (Spanish and Portuguese, "to
	// stop").
	OptOutOther []string
	// OptIn lists the replies that give consent after an opt-in request.
	// Default: YES only. "Y" is left out on purpose: a lone "Y" is also
	// shorthand for "why", and a false opt-in means texting someone without
	// consent, which costs far more than asking again.
	OptIn []string
	// Resume lists the replies that undo an earlier STOP. Default: UNSTOP and
	// START.
	Resume []string
	// Help lists the replies that ask for the HELP text. Default: HELP and
	// INFO.
	Help []string
	// RevocationPhrases lists whole-message wordings that revoke consent
	// without using a keyword, matched as described on Classifier.Classify.
	// Default: see DefaultRevocationPhrases.
	RevocationPhrases []string
}

// DefaultRevocationPhrases are the default free-text revocations. The FCC
// counts any wording a reasonable person would read as a revocation (47 CFR
// 64.1200(a)(10)). This list contains common ones that cannot mean anything
// else when they are the whole message. Courtesy words, "anymore" and
// "don't" variants are handled by the matcher and need no entries here.
var DefaultRevocationPhrases = []string{
	"stop texting me",
	"stop texting this number",
	"stop messaging me",
	"stop sending me texts",
	"stop sending me messages",
	"stop contacting me",
	"do not text me",
	"do not message me",
	"do not contact me",
	"do not text this number",
	"no more texts",
	"no more messages",
	"remove me",
	"remove me from your list",
	"remove me from this list",
	"remove me from your texts",
	"take me off your list",
	"take me off this list",
	"unsubscribe me",
	"opt me out",
	"i want to opt out",
	"i want to unsubscribe",
	"leave me alone",
}

// DefaultKeywords returns the default configuration described on each
// KeywordConfig field. The returned slices are fresh copies.
func DefaultKeywords() KeywordConfig {
	return KeywordConfig{
		OptOut: []string{
			"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "END", "QUIT",
			"CANCEL", "REVOKE", "OPTOUT", "OPT OUT", "OPT-OUT",
		},
		OptOutOther:       []string{"ARRET", "ARRÊT", "ALTO", "BAJA", "PARAR"},
		OptIn:             []string{"YES"},
		Resume:            []string{"UNSTOP", "START"},
		Help:              []string{"HELP", "INFO"},
		RevocationPhrases: append([]string(nil), DefaultRevocationPhrases...),
	}
}

// Classifier reads subscriber replies. It is immutable after NewClassifier
// and safe for concurrent use.
type Classifier struct {
	keywords map[string]Match // normalized keyword → match
	phrases  map[string]Match // canonical phrase → match, FreeText set
	// maxAlnum is the maximum count of letters and digits in a reply that
	// can match: the longest entry plus the longest courtesy words and
	// intensifier. See scanReply for how Classify uses it.
	maxAlnum int
}

// NewClassifier builds a Classifier from cfg. It fails when an entry is
// empty after normalization, or when one normalized entry appears in two
// lists. The error names the entry and the lists.
func NewClassifier(cfg KeywordConfig) (*Classifier, error) {
	c := &Classifier{keywords: map[string]Match{}, phrases: map[string]Match{}}
	owner := map[string]string{}
	lists := []struct {
		name  string
		words []string
		kw    Keyword
	}{
		{"opt_out", cfg.OptOut, KeywordOptOut},
		{"opt_out_other", cfg.OptOutOther, KeywordOptOut},
		{"opt_in", cfg.OptIn, KeywordOptIn},
		{"resume", cfg.Resume, KeywordResume},
		{"help", cfg.Help, KeywordHelp},
	}
	for _, l := range lists {
		for _, w := range l.words {
			n := Normalize(w)
			if n == "" {
				return nil, fmt.Errorf("consent: keyword list %s: entry %q is empty after normalization", l.name, w)
			}
			if prev, ok := owner[n]; ok && c.keywords[n].Keyword != l.kw {
				return nil, fmt.Errorf("consent: keyword %q is in both the %s and %s lists", n, prev, l.name)
			}
			owner[n] = l.name
			c.keywords[n] = Match{Keyword: l.kw, Word: n}
			c.maxAlnum = max(c.maxAlnum, letterDigitCount(n))
		}
	}

	for _, p := range cfg.RevocationPhrases {
		canon, ok := canonicalPhrase(Normalize(p))
		if !ok || canon == "" {
			return nil, fmt.Errorf("consent: revocation phrase %q is empty after normalization or has more than %d words", p, maxPhraseWords)
		}
		if m, ok := c.keywords[canon]; ok && m.Keyword != KeywordOptOut {
			return nil, fmt.Errorf("consent: revocation phrase %q reads as the %s keyword %q", p, owner[canon], canon)
		}
		c.phrases[canon] = Match{Keyword: KeywordOptOut, Word: canon, FreeText: true}
		c.maxAlnum = max(c.maxAlnum, letterDigitCount(canon))
	}
	c.maxAlnum += maxWrapperAlnum
	return c, nil
}

// maxReplyBytes is the size above which Classify reads any reply as an
// ordinary message.
const maxReplyBytes = 4096

// defaultClassifier serves the package-level Classify.
var defaultClassifier = func() *Classifier {
	c, err := NewClassifier(DefaultKeywords())
	if err != nil {
		panic("consent: default keyword configuration is invalid: " + err.Error())
	}
	return c
}()

// Classify reads text with the default configuration (DefaultKeywords). See
// Classifier.Classify.
func Classify(text string) Match { return defaultClassifier.Classify(text) }

// Classify returns what the reply text means. Matching works on the whole
// message after Normalize, never on a part of it: "STOP", "  stop \r\n",
// "Stop…" and "ＳＴＯＰ" opt out, while "Can you stop by Monday?" and "We have
// got to STOP this bill" are ordinary messages.
//
// Beyond bare keywords, Classify accepts these variations and reports them
// with FreeText set:
//
//   - A keyword or revocation phrase preceded by "please" (or "pls", "plz")
//     and followed by "please", "thanks", "thank you", "thx" or "ty", each at
//     most once. So "Stop. Thank you" opts out, as any reasonable reader
//     would take it, and "yes please" opts in.
//   - A revocation phrase may end in "anymore", "any more", "any longer",
//     "again" or "ever again", and "don't" or "dont" may stand for "do not":
//     "Please don't text me anymore!" matches "do not text me".
//
// Punctuation between words is ignored for these variations only.
//
// Replies longer than 4096 bytes are ordinary messages whatever they
// contain. No keyword reply from a phone comes near that size, and the limit
// bounds the cost of normalizing hostile text: NFKC expands some characters
// eighteenfold.
func (c *Classifier) Classify(text string) Match {
	if len(text) > maxReplyBytes {
		return Match{}
	}
	ascii, tooLong := scanReply(text, c.maxAlnum)
	if tooLong {
		return Match{}
	}
	if !ascii {
		return c.classifyNormalized([]byte(normalizeUnicode(text)))
	}
	var buf [asciiStackSize]byte
	dst := buf[:0]
	if len(text) > len(buf) {
		dst = make([]byte, 0, len(text))
	}
	return c.classifyNormalized(normalizeASCII(dst, text))
}

// classifyNormalized classifies the normalized text b. Map lookups keyed by
// string(b) do not allocate.
func (c *Classifier) classifyNormalized(b []byte) Match {
	if len(b) == 0 {
		return Match{}
	}
	if m, ok := c.keywords[string(b)]; ok {
		return m
	}
	return c.matchWrapped(b)
}

// scanReply reports whether text is ASCII, and whether it has more than
// limit ASCII letters and digits, in which case it cannot match and the scan
// stops early.
//
// The count is a sound lower bound for any reply. Normalize never removes an
// ASCII letter or digit: NFKC may compose one with a following combining
// mark, and case folding may lower it, but a letter or digit remains. Nor do
// the matcher's edge trimming and "don't" expansion lose one. So the
// normalized reply has at least as many letters and digits as text has ASCII
// ones, and a match has at most limit.
func scanReply(text string, limit int) (ascii, tooLong bool) {
	ascii = true
	n := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= utf8.RuneSelf {
			ascii = false
		} else if isASCIIAlnum(c) {
			n++
			if n > limit {
				return ascii, true
			}
		}
	}
	return ascii, false
}

// letterDigitCount returns the number of letters and digits in s.
func letterDigitCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			n++
		}
	}
	return n
}
