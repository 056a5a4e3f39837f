package consent

import (
	"testing"
	"unicode/utf8"
)

// FuzzClassify checks that Classify and Normalize never panic, that
// Normalize is idempotent and returns valid UTF-8, that a reply and its
// normalized form classify alike (unless the reply exceeds maxReplyBytes),
// and that the ASCII fast path agrees with
// the full Unicode pipeline.
func FuzzClassify(f *testing.F) {
	for _, tc := range readKeywordCorpus(f) {
		f.Add(tc.input)
	}
	for _, s := range []string{
		"e\u200b\u0301", "\u00b4stop", "stop\u00b4", "\u0130", "\ufdfa", "\U0001F44D\u0301",
		"don't don't don't don't don't don't don't don't don't", "\xff\xfe", "\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, n)
		}
		if again := Normalize(n); again != n {
			t.Fatalf("Normalize not idempotent: Normalize(%q) = %q, Normalize of that = %q", s, n, again)
		}
		if a, b := Classify(s), Classify(n); a != b && len(s) <= maxReplyBytes {
			t.Fatalf("Classify(%q) = %+v, Classify(Normalize) = %+v", s, a, b)
		}
		if isASCII(s) {
			if fast, slow := string(normalizeASCII(nil, s)), normalizePass(s); fast != slow {
				t.Fatalf("normalizeASCII(%q) = %q, normalizePass = %q", s, fast, slow)
			}
		}
	})
}
