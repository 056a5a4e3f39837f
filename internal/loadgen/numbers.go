package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// maxE164Digits is the most digits an E.164 number has (ITU-T E.164
// section 6.1).
const maxE164Digits = 15

// NumberRange is a block of consecutive E.164 numbers of the same length,
// such as +12015550000 to +12015559999.
type NumberRange struct {
	first uint64
	count uint64
}

// ParseNumberRange reads "+FIRST-+LAST" or a single "+NUMBER". Both ends
// are E.164 numbers with a leading '+' and the same number of digits, and
// FIRST is not after LAST.
func ParseNumberRange(s string) (NumberRange, error) {
	firstText, lastText, isRange := strings.Cut(strings.TrimSpace(s), "-")
	first, width, err := parseE164(firstText)
	if err != nil {
		return NumberRange{}, fmt.Errorf("number range %q: %w", s, err)
	}
	if !isRange {
		return NumberRange{first: first, count: 1}, nil
	}
	last, lastWidth, err := parseE164(lastText)
	if err != nil {
		return NumberRange{}, fmt.Errorf("number range %q: %w", s, err)
	}
	if lastWidth != width {
		return NumberRange{}, fmt.Errorf("number range %q: both ends must have the same number of digits", s)
	}
	if last < first {
		return NumberRange{}, fmt.Errorf("number range %q: the last number is before the first", s)
	}
	return NumberRange{first: first, count: last - first + 1}, nil
}

// MustParseNumberRange is ParseNumberRange for constant ranges; it panics
// on an error.
func MustParseNumberRange(s string) NumberRange {
	r, err := ParseNumberRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

func parseE164(s string) (uint64, int, error) {
	digits, ok := strings.CutPrefix(strings.TrimSpace(s), "+")
	if !ok {
		return 0, 0, fmt.Errorf("%q does not start with '+' (want E.164, such as +12015550100)", s)
	}
	if len(digits) < 2 || len(digits) > maxE164Digits {
		return 0, 0, fmt.Errorf("%q has %d digits, want 2 to %d", s, len(digits), maxE164Digits)
	}
	if digits[0] == '0' {
		return 0, 0, fmt.Errorf("%q starts with 0, which no country code does", s)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not '+' followed by digits", s)
	}
	return n, len(digits), nil
}

// Len returns the number of numbers in the range.
func (r NumberRange) Len() int { return int(r.count) }

// IsZero reports whether r is the zero value, which holds no numbers.
func (r NumberRange) IsZero() bool { return r.count == 0 }

// At returns the i-th number of the range in E.164 form, for i from 0 to
// Len()-1.
func (r NumberRange) At(i int) string {
	return "+" + r.digits(i)
}

// digits returns the i-th number without the '+', as SMPP addresses with
// TON international carry it.
func (r NumberRange) digits(i int) string {
	if i < 0 || uint64(i) >= r.count {
		panic(fmt.Sprintf("loadgen: number index %d out of range [0, %d)", i, r.count))
	}
	return strconv.FormatUint(r.first+uint64(i), 10)
}

// String returns the range in the form ParseNumberRange reads.
func (r NumberRange) String() string {
	if r.count <= 1 {
		return "+" + strconv.FormatUint(r.first, 10)
	}
	return fmt.Sprintf("+%d-+%d", r.first, r.first+r.count-1)
}

// OptedIn reports whether the i-th recipient of a range counts as opted in
// when percent of the recipients are. Index i is opted in when i mod 100 is
// below percent, so the share is exact for a range whose size is a multiple
// of 100, and the opted-in numbers are spread through the range.
func OptedIn(i, percent int) bool {
	return i%100 < percent
}

// OptedInNumbers returns the numbers of r that count as opted in when
// percent of them are, in E.164 form: the numbers a prepare step imports.
func OptedInNumbers(r NumberRange, percent int) []string {
	var out []string
	for i := range r.Len() {
		if OptedIn(i, percent) {
			out = append(out, r.At(i))
		}
	}
	return out
}

// recipientPicker draws recipient indexes so that a set share of the
// messages goes to opted-in recipients, whatever the size of the range.
type recipientPicker struct {
	percent   int
	nIn, nOut int // opted-in and other indexes in the range
}

func newRecipientPicker(count, percent int) recipientPicker {
	full, rem := count/100, count%100
	return recipientPicker{
		percent: percent,
		nIn:     full*percent + min(percent, rem),
		nOut:    full*(100-percent) + max(0, rem-percent),
	}
}

// pick returns a recipient index: an opted-in one with a probability of
// percent/100, unless the range holds only one kind. It draws the k-th
// index of the wanted kind, counted block of 100 by block.
func (p recipientPicker) pick(rng *rand.Rand) int {
	wantIn := rng.IntN(100) < p.percent
	if p.nOut == 0 {
		wantIn = true
	} else if p.nIn == 0 {
		wantIn = false
	}
	if wantIn {
		k := rng.IntN(p.nIn)
		return k/p.percent*100 + k%p.percent
	}
	per := 100 - p.percent
	k := rng.IntN(p.nOut)
	return k/per*100 + p.percent + k%per
}
