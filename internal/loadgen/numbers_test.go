package loadgen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseNumberRange(t *testing.T) {
	tests := []struct {
		in          string
		len         int
		first, last string
	}{
		{"+12015550000-+12015559999", 10000, "+12015550000", "+12015559999"},
		{"+18005550100", 1, "+18005550100", "+18005550100"},
		{" +18005550100 - +18005550109 ", 10, "+18005550100", "+18005550109"},
		{"+12015550100-+12015550100", 1, "+12015550100", "+12015550100"},
	}
	for _, tt := range tests {
		r, err := ParseNumberRange(tt.in)
		if err != nil {
			t.Errorf("ParseNumberRange(%q): %v", tt.in, err)
			continue
		}
		if r.Len() != tt.len {
			t.Errorf("ParseNumberRange(%q).Len() = %d, want %d", tt.in, r.Len(), tt.len)
		}
		if got := r.At(0); got != tt.first {
			t.Errorf("ParseNumberRange(%q).At(0) = %s, want %s", tt.in, got, tt.first)
		}
		if got := r.At(r.Len() - 1); got != tt.last {
			t.Errorf("ParseNumberRange(%q) last = %s, want %s", tt.in, got, tt.last)
		}
		again, err := ParseNumberRange(r.String())
		if err != nil || again != r {
			t.Errorf("ParseNumberRange(%q).String() = %q does not parse back: %v", tt.in, r.String(), err)
		}
	}
}

func TestParseNumberRangeInvalid(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "does not start with '+'"},
		{"12015550100", "does not start with '+'"},
		{"+1201555010x", "not '+' followed by digits"},
		{"+1", "has 1 digits"},
		{"+1234567890123456", "has 16 digits"},
		{"+0201555", "starts with 0"},
		{"+12015550199-+12015550100", "the last number is before the first"},
		{"+12015550100-+120155501000", "same number of digits"},
		{"+12015550100-12015550199", "does not start with '+'"},
	}
	for _, tt := range tests {
		_, err := ParseNumberRange(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseNumberRange(%q) error %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}

func TestOptedInNumbers(t *testing.T) {
	r := MustParseNumberRange("+12015550000-+12015550999")
	tests := []struct{ percent, want int }{{0, 0}, {1, 10}, {37, 370}, {100, 1000}}
	for _, tt := range tests {
		got := OptedInNumbers(r, tt.percent)
		if len(got) != tt.want {
			t.Errorf("OptedInNumbers(%d%%) has %d numbers, want %d", tt.percent, len(got), tt.want)
		}
	}
	if got := OptedInNumbers(r, 2); got[0] != "+12015550000" || got[1] != "+12015550001" || got[2] != "+12015550100" {
		t.Errorf("OptedInNumbers(2%%) starts %v, want +12015550000, +12015550001, +12015550100", got[:3])
	}
}

// TestRecipientPickerKinds checks that every index drawn is inside the
// range and of the kind the share requests, for ranges of any size.
func TestRecipientPickerKinds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		count := rapid.IntRange(1, 1000).Draw(t, "count")
		percent := rapid.IntRange(0, 100).Draw(t, "percent")
		p := newRecipientPicker(count, percent)
		var in, out int
		for i := range count {
			if OptedIn(i, percent) {
				in++
			} else {
				out++
			}
		}
		if p.nIn != in || p.nOut != out {
			t.Fatalf("picker counts %d opted in and %d others, want %d and %d", p.nIn, p.nOut, in, out)
		}
		rng := rand.New(rand.NewPCG(uint64(count), uint64(percent)))
		for range 200 {
			i := p.pick(rng)
			if i < 0 || i >= count {
				t.Fatalf("picked %d, outside [0, %d)", i, count)
			}
			if in == 0 && OptedIn(i, percent) || out == 0 && !OptedIn(i, percent) {
				t.Fatalf("picked %d of a kind the range does not hold", i)
			}
		}
	})
}

func TestRecipientPickerShare(t *testing.T) {
	p := newRecipientPicker(10000, 30)
	rng := rand.New(rand.NewPCG(7, 7))
	const draws = 100_000
	in := 0
	seen := map[int]bool{}
	for range draws {
		i := p.pick(rng)
		seen[i] = true
		if OptedIn(i, 30) {
			in++
		}
	}
	// The binomial standard deviation is about 145, so 1000 is far outside
	// chance.
	if in < 29000 || in > 31000 {
		t.Errorf("%d of %d picks opted in, want about 30%%", in, draws)
	}
	if len(seen) < 9900 {
		t.Errorf("%d distinct recipients picked, want nearly all 10000", len(seen))
	}
}
