package consent

import (
	"strings"
	"testing"
)

// TestNewClassifierKeepsRuleWords checks that a configuration cannot drop
// or reassign a word whose meaning the consent rules fix.
func TestNewClassifierKeepsRuleWords(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*KeywordConfig)
		want   string
	}{
		{"STOP dropped", func(c *KeywordConfig) { c.OptOut = []string{"ALTO"} }, "STOP"},
		{"OPT-OUT dropped", func(c *KeywordConfig) { c.OptOut = c.OptOut[:len(c.OptOut)-1] }, "OPT-OUT"},
		{"HELP moved to INFO only", func(c *KeywordConfig) { c.Help = []string{"INFO"} }, "HELP"},
		{"YES resumes", func(c *KeywordConfig) {
			c.OptIn = []string{"Y"}
			c.Resume = append(c.Resume, "YES")
		}, `"yes"`},
		{"SUBSCRIBE resumes", func(c *KeywordConfig) { c.Resume = append(c.Resume, "SUBSCRIBE") }, `"subscribe"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultKeywords()
			tc.modify(&cfg)
			_, err := NewClassifier(cfg)
			if err == nil {
				t.Fatal("NewClassifier accepted the configuration")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
	cfg := DefaultKeywords()
	cfg.OptOut = append(cfg.OptOut, "HALT")
	cfg.Resume = []string{"UNSTOP"}
	if _, err := NewClassifier(cfg); err != nil {
		t.Errorf("NewClassifier with an added word and without START: %v", err)
	}
}

func TestNormalizeDropsDefaultIgnorables(t *testing.T) {
	for _, r := range []rune{0x034f, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x3164, 0xffa0, 0x2065} {
		for _, in := range []string{string(r) + "stop", "st" + string(r) + "op", "stop" + string(r)} {
			if got := Normalize(in); got != "stop" {
				t.Errorf("Normalize(%q) = %q, want %q", in, got, "stop")
			}
		}
	}
}

func TestNormalizeEnclosedLetters(t *testing.T) {
	tests := map[string]string{
		"\u24c8\u24c9\u24c4\u24c5":                 "stop",
		"\u24e2\u24e3\u24de\u24df":                 "stop",
		"\U0001F142\U0001F143\U0001F13E\U0001F13F": "stop",
		"\U0001F162\U0001F163\U0001F15E\U0001F15F": "stop",
		"\U0001F182\U0001F183\U0001F17E\U0001F17F": "stop",
		// Regional indicators form flags, so they stay symbols.
		"stop\U0001F1FA\U0001F1F8": "stop",
		"stop\u2122":               "stop",
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClassifyLookalikesOnlyOptOut checks that look-alike letters, spelled
// out letters and repeated words can opt a number out but never opt it in,
// resume it or ask for help.
func TestClassifyLookalikesOnlyOptOut(t *testing.T) {
	for _, in := range []string{
		"Y\u0415S", "\u0443\u0435\u0455", "Y E S", "y.e.s", "yes yes", "UNS\u0422\u041eP",
		"S T A R T", "H\u0415LP", "h e l p", "start start",
	} {
		if m := Classify(in); m.Keyword != KeywordNone {
			t.Errorf("Classify(%q) = %+v, want an ordinary message", in, m)
		}
	}
}

// TestClassifyLongRepeatIsOrdinary checks that a repeated keyword longer
// than any reply the classifier reads is an ordinary message in ASCII and
// in fullwidth letters alike.
func TestClassifyLongRepeatIsOrdinary(t *testing.T) {
	ascii := strings.Repeat("stop ", 16)
	fullwidth := strings.Repeat("\uff53\uff54\uff4f\uff50 ", 16)
	if a, b := Classify(ascii), Classify(fullwidth); a != b {
		t.Errorf("Classify(16 STOPs) = %+v in ASCII but %+v in fullwidth letters", a, b)
	}
	if m := Classify("stop stop stop"); m.Keyword != KeywordOptOut || !m.FreeText || m.Word != "stop" {
		t.Errorf("Classify(stop stop stop) = %+v, want opt_out stop with free text", m)
	}
}
