package consent

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/optgate/optgate/smpp"
)

// corpusCase is one line of testdata/keywords/corpus.tsv.
type corpusCase struct {
	line     int
	input    string
	keyword  Keyword
	freeText bool
	note     string
}

func parseKeywordName(t testing.TB, name string) Keyword {
	t.Helper()
	for i, n := range keywordNames {
		if n == name {
			return Keyword(i)
		}
	}
	t.Fatalf("unknown keyword name %q", name)
	return KeywordNone
}

func readKeywordCorpus(t testing.TB) []corpusCase {
	t.Helper()
	f, err := os.Open("testdata/keywords/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var cases []corpusCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			t.Fatalf("corpus.tsv:%d: %d columns, want 4", n, len(cols))
		}
		input, err := strconv.Unquote(cols[0])
		if err != nil {
			t.Fatalf("corpus.tsv:%d: input %s is not a Go string literal: %v", n, cols[0], err)
		}
		free, err := strconv.ParseBool(cols[2])
		if err != nil {
			t.Fatalf("corpus.tsv:%d: free_text %q: %v", n, cols[2], err)
		}
		cases = append(cases, corpusCase{n, input, parseKeywordName(t, cols[1]), free, cols[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestClassifyCorpus(t *testing.T) {
	cases := readKeywordCorpus(t)
	if len(cases) < 100 {
		t.Fatalf("corpus has %d inputs, want at least 100", len(cases))
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.line)+"_"+tc.note, func(t *testing.T) {
			got := Classify(tc.input)
			if got.Keyword != tc.keyword {
				t.Errorf("Classify(%q).Keyword = %s, want %s (normalized %q)",
					tc.input, got.Keyword, tc.keyword, Normalize(tc.input))
			}
			if got.FreeText != tc.freeText {
				t.Errorf("Classify(%q).FreeText = %v, want %v", tc.input, got.FreeText, tc.freeText)
			}
			if (got.Word == "") != (tc.keyword == KeywordNone) {
				t.Errorf("Classify(%q).Word = %q for keyword %s", tc.input, got.Word, got.Keyword)
			}
			if again := Classify(Normalize(tc.input)); again != got {
				t.Errorf("Classify(Normalize(%q)) = %+v, want %+v", tc.input, again, got)
			}
		})
	}
}

// TestClassifyDecodedMO decodes short_message octets as the SMPP layer
// does and classifies the text: smartphones switch to UCS2 when smart
// punctuation is typed, so keywords arrive with non-ASCII characters around
// them.
func TestClassifyDecodedMO(t *testing.T) {
	tests := []struct {
		name   string
		coding smpp.DataCoding
		hex    string
		want   Keyword
	}{
		{"UCS2 Stop and ellipsis", smpp.CodingUCS2, "00530074006f00702026", KeywordOptOut},
		{"UCS2 no-break space and stop!", smpp.CodingUCS2, "00a000730074006f0070002100 20", KeywordOptOut},
		{"UCS2 fullwidth STOP", smpp.CodingUCS2, "ff33ff34ff2fff30", KeywordOptOut},
		{"UCS2 YES and thumbs up", smpp.CodingUCS2, "005900450053d83ddc4d", KeywordOptIn},
		{"GSM padded stop", smpp.CodingDefault, "202073746f70200d0a", KeywordOptOut},
		{"GSM sentence", smpp.CodingDefault, "5765206861766520676f7420746f2053544f5020746869732062696c6c", KeywordNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			text, err := smpp.DecodeText(tc.coding, data, smpp.TextOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(text).Keyword; got != tc.want {
				t.Errorf("Classify(%q) = %s, want %s", text, got, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  stop \r\n", "stop"},
		{"Stop\u2026", "stop"},
		{"\u00a0stop! ", "stop"},
		{"\uff33\uff34\uff2f\uff30", "stop"},
		{"s\u200btop", "stop"},
		{"YES \U0001F44D", "yes"},
		{"YES\U0001F44Dplease", "yes please"},
		{"Stop.  Thank\tyou!", "stop. thank you"},
		{"Don\u2019t", "don't"},
		{"OPT\u2014OUT", "opt-out"},
		{"\u201cHi\u201d", "hi"},
		{"STRASSE", "strasse"},
		{"Stra\u00dfe", "strasse"},
		{"ARRE\u0302T", "arr\u00eat"},
		{"a\x00b", "a b"},
		{"\xff stop \xfe", "stop"},
		{"caf\u00e9 \u2615", "caf\u00e9"},
		{"!?", ""},
		{"", ""},
		{"We have got to STOP this bill", "we have got to stop this bill"},
	}
	for _, tc := range tests {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeLongASCII(t *testing.T) {
	in := strings.Repeat(" ", 300) + "STOP" + strings.Repeat("!", 300)
	if got := Normalize(in); got != "stop" {
		t.Errorf("Normalize(600 bytes of padding around STOP) = %q, want %q", got, "stop")
	}
	if got := Classify(in); got.Keyword != KeywordOptOut {
		t.Errorf("Classify(600 bytes of padding around STOP).Keyword = %s, want opt_out", got.Keyword)
	}
}

func TestClassifyLongReply(t *testing.T) {
	padded := "STOP" + strings.Repeat("\u200b", 1360)
	if len(padded) > maxReplyBytes {
		t.Fatalf("test reply has %d bytes, want at most %d", len(padded), maxReplyBytes)
	}
	if got := Classify(padded).Keyword; got != KeywordOptOut {
		t.Errorf("Classify(STOP and %d bytes of padding) = %s, want opt_out", len(padded)-4, got)
	}
	tooLong := padded + strings.Repeat(" ", maxReplyBytes)
	if got := Classify(tooLong).Keyword; got != KeywordNone {
		t.Errorf("Classify of a %d-byte reply = %s, want none", len(tooLong), got)
	}
}

func TestNormalizeASCIIMatchesUnicodePath(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOf(rapid.RuneFrom(nil, asciiTable)).Draw(t, "s")
		fast := string(normalizeASCII(nil, s))
		if slow := normalizePass(s); fast != slow {
			t.Fatalf("normalizeASCII(%q) = %q, normalizePass = %q", s, fast, slow)
		}
	})
}

func TestNormalizeIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		once := Normalize(s)
		if twice := Normalize(once); twice != once {
			t.Fatalf("Normalize(%q) = %q, but Normalize of that = %q", s, once, twice)
		}
		if !utf8.ValidString(once) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", s, once)
		}
	})
}

func TestClassifyMatchesNormalized(t *testing.T) {
	words := []string{"stop", "STOP", "yes", "please", "thank", "you", "don't", "text", "me",
		"anymore", "all", "opt", "out", "help", "\u200b", "\u2026", "!", " ", "\u00a0", "\U0001F44D"}
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOfN(rapid.SampledFrom(words), 0, 8).Draw(t, "parts")
		s := strings.Join(parts, rapid.SampledFrom([]string{"", " ", ". "}).Draw(t, "sep"))
		if a, b := Classify(s), Classify(Normalize(s)); a != b {
			t.Fatalf("Classify(%q) = %+v, Classify(Normalize) = %+v", s, a, b)
		}
	})
}

func TestClassifyConcurrent(t *testing.T) {
	cases := readKeywordCorpus(t)
	var wg sync.WaitGroup
	errs := make(chan string, len(cases))
	for range 4 {
		wg.Go(func() {
			for _, tc := range cases {
				if got := Classify(tc.input).Keyword; got != tc.keyword {
					errs <- fmt.Sprintf("Classify(%q) = %s, want %s", tc.input, got, tc.keyword)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestClassifyWord(t *testing.T) {
	tests := []struct{ in, word string }{
		{"OPT OUT!", "opt out"},
		{"Stop\u2026", "stop"},
		{"Please don't text me anymore.", "do not text me"},
		{"yes please", "yes"},
		{"Arr\u00eat", "arr\u00eat"},
	}
	for _, tc := range tests {
		if got := Classify(tc.in).Word; got != tc.word {
			t.Errorf("Classify(%q).Word = %q, want %q", tc.in, got, tc.word)
		}
	}
}

func TestNewClassifierCustom(t *testing.T) {
	cfg := DefaultKeywords()
	cfg.OptOutOther = []string{"DETENER"}
	cfg.OptIn = []string{"YES", "SI", "S\u00cd"}
	cfg.RevocationPhrases = []string{"Please never write to me again!"}
	c, err := NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want Keyword
	}{
		{"detener", KeywordOptOut},
		{"ARRET", KeywordNone},
		{"s\u00ed", KeywordOptIn},
		{"Si!", KeywordOptIn},
		{"never write to me", KeywordOptOut},
		{"please stop texting me", KeywordNone},
		{"STOP", KeywordOptOut},
	}
	for _, tc := range tests {
		if got := c.Classify(tc.in).Keyword; got != tc.want {
			t.Errorf("Classify(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestNewClassifierErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*KeywordConfig)
		want   string
	}{
		{"empty keyword", func(c *KeywordConfig) { c.Help = append(c.Help, " !! ") }, `help: entry " !! " is empty`},
		{"keyword in two lists", func(c *KeywordConfig) { c.OptIn = append(c.OptIn, "Stop!") }, `"stop" is in both the opt_out and opt_in lists`},
		{"phrase reads as opt-in", func(c *KeywordConfig) {
			c.RevocationPhrases = append(c.RevocationPhrases, "yes please")
		}, `reads as the opt_in keyword "yes"`},
		{"empty phrase", func(c *KeywordConfig) { c.RevocationPhrases = []string{"..."} }, `revocation phrase "..." is empty`},
		{"long phrase", func(c *KeywordConfig) {
			c.RevocationPhrases = []string{strings.Repeat("word ", maxPhraseWords+1)}
		}, "more than 12 words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultKeywords()
			tc.modify(&cfg)
			_, err := NewClassifier(cfg)
			if err == nil {
				t.Fatal("NewClassifier succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestClassifyASCIINoAllocs(t *testing.T) {
	inputs := []string{
		"Ok see you at 5pm",
		"Stop",
		"Please don't text me anymore",
		ordinary160,
	}
	for _, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { Classify(in) }); n != 0 {
			t.Errorf("Classify(%q) allocates %.0f times per call, want 0", in, n)
		}
	}
}

func TestKeywordString(t *testing.T) {
	tests := map[Keyword]string{
		KeywordNone: "none", KeywordOptOut: "opt_out", KeywordOptIn: "opt_in",
		KeywordResume: "resume", KeywordHelp: "help", Keyword(9): "keyword(9)",
	}
	for k, want := range tests {
		if got := k.String(); got != want {
			t.Errorf("Keyword(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestDefaultKeywordsFresh(t *testing.T) {
	a := DefaultKeywords()
	a.OptOut[0] = "changed"
	a.RevocationPhrases[0] = "changed"
	b := DefaultKeywords()
	if b.OptOut[0] != "STOP" {
		t.Errorf("second DefaultKeywords().OptOut[0] = %q, want STOP", b.OptOut[0])
	}
	if b.RevocationPhrases[0] == "changed" {
		t.Error("DefaultKeywords shares RevocationPhrases between calls")
	}
	if DefaultRevocationPhrases[0] == "changed" {
		t.Error("DefaultKeywords().RevocationPhrases aliases DefaultRevocationPhrases")
	}
}

// asciiTable contains every ASCII character, control characters included.
var asciiTable = &unicode.RangeTable{R16: []unicode.Range16{{Lo: 0, Hi: 0x7f, Stride: 1}}}

// ordinary160 is a 160-character ordinary ASCII message.
var ordinary160 = strings.Repeat("Thanks for the reminder, I will be there on Monday at 10. ", 3)[:160]
