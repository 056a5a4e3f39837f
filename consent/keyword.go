package consent

import (
	"fmt"
	"slices"
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
	// revocation phrase ("please stop texting me"), a keyword wrapped in
	// courtesy words ("Stop. Thank you", "yes please"), or one of the
	// opt-out readings listed on Classifier.Classify ("stop stop", "S T O
	// P", "SТОP" with Cyrillic letters). The audit trail keeps this flag
	// next to the verbatim text.
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
	// unsubscribe. A configuration may add words but must keep the
	// defaults, in this list or in OptOutOther.
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
	// START, the only words allowed.
	Resume []string
	// Help lists the replies that ask for the HELP text. Default: HELP and
	// INFO, which a configuration must keep.
	Help []string
	// RevocationPhrases lists whole-message wordings that revoke consent
	// without using a keyword, matched as described on Classifier.Classify.
	// Default: see DefaultRevocationPhrases.
	RevocationPhrases []string
}

// DefaultRevocationPhrases are the default free-text revocations. The FCC
// counts any wording a reasonable person would read as a revocation (47 CFR
// 64.1200(a)(10)). This list contains common ones that a reasonable reader
// takes as a revocation when they are the whole message, "wrong number"
// included: texts to a number whose holder never consented must stop.
// Courtesy words, "anymore", "now" and "don't" variants are handled by the
// matcher and need no entries here.
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
	"stop texting",
	"stop messaging",
	"stop sending",
	"stop it",
	"stop texts",
	"stop messages",
	"stop all texts",
	"stop all messages",
	"stop the texts",
	"stop the messages",
	"stop these texts",
	"stop these messages",
	"stop calling me",
	"stop calling",
	"no more",
	"do not text",
	"do not message",
	"do not contact",
	"unsubscribe me from your list",
	"unsubscribe me from this list",
	"wrong number",
}

// DefaultKeywords returns the default configuration described on each
// KeywordConfig field. The returned slices are fresh copies.
func DefaultKeywords() KeywordConfig {
	return KeywordConfig{
		OptOut:            slices.Clone(ruleOptOutWords),
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
// empty after normalization or when one normalized entry appears in two
// lists. It also fails when cfg breaks a consent rule: the default OptOut
// words must opt out, HELP and INFO must ask for help, and Resume may
// contain only UNSTOP and START. The error names the entry and the lists.
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

	if err := c.checkRuleWords(cfg); err != nil {
		return nil, err
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

// Keywords whose meaning the consent rules fix. The opt-out words include
// the seven of the FCC's revocation rule (47 CFR 64.1200(a)(10)). Toll-free
// carriers block a number after STOP and lift the block only on UNSTOP or
// START, so no other word may resume. In particular, a YES must never lift
// a STOP.
var (
	ruleOptOutWords = []string{
		"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "END", "QUIT",
		"CANCEL", "REVOKE", "OPTOUT", "OPT OUT", "OPT-OUT",
	}
	ruleHelpWords   = []string{"HELP", "INFO"}
	ruleResumeWords = []string{"unstop", "start"}
)

// checkRuleWords checks the keyword lists of c, built from cfg, against
// the words the consent rules fix.
func (c *Classifier) checkRuleWords(cfg KeywordConfig) error {
	for _, w := range ruleOptOutWords {
		if c.keywords[Normalize(w)].Keyword != KeywordOptOut {
			return fmt.Errorf("consent: keyword list opt_out lacks %s, which must always opt out", w)
		}
	}
	for _, w := range ruleHelpWords {
		if c.keywords[Normalize(w)].Keyword != KeywordHelp {
			return fmt.Errorf("consent: keyword list help lacks %s, which must always get the HELP reply", w)
		}
	}
	for _, w := range cfg.Resume {
		if n := Normalize(w); !slices.Contains(ruleResumeWords, n) {
			return fmt.Errorf("consent: keyword list resume contains %q: only UNSTOP and START may lift a STOP, "+
				"because toll-free carriers lift their block on those two words only", n)
		}
	}
	return nil
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
//     and followed by up to two of "please", "thanks", "thank you", "thx"
//     and "ty". So "Stop. Thank you" opts out, as any reasonable reader
//     would take it, and "yes please" opts in.
//   - A revocation phrase or an opt-out keyword may end in "anymore", "any
//     more", "any longer", "again", "ever again" or "now", and "don't" or
//     "dont" may stand for "do not": "Please don't text me anymore!"
//     matches "do not text me", and "stop now" opts out.
//   - Only opt-out keywords ("stop stop", "unsubscribe. stop"), or the
//     single letters of one ("S T O P"), opt out.
//   - When nothing else matches, Classify reads the reply again with
//     look-alike letters taken as Latin ones, accents and stray combining
//     marks dropped, and punctuation inside words taken as a space. That
//     reading may opt out, but never opt in, resume or ask for help. So
//     "SТОP" with a Cyrillic Т and О, "ꜱᴛᴏᴘ", "ST0P", "s̶t̶o̶p̶" and "opt.out"
//     opt out, while "YЕS" with a Cyrillic Е is an ordinary message. A
//     missed opt-out keeps texting someone who revoked consent, while a
//     wrong opt-out is undone with UNSTOP, so the readings lean towards
//     opting out.
//
// Punctuation between words is ignored for these variations only. Two
// keywords of different meanings ("yes stop") stay an ordinary message.
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
	if m := c.matchWrapped(b); m.Keyword != KeywordNone {
		return m
	}
	return c.matchLookalike(b)
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
// ones, and a match has at most limit. One entry with its courtesy words and
// intensifier stays within limit by the choice of limit. The readings that
// repeat or spell out keywords check the limit themselves.
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
