package consent

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		raw      string
		ton, npi uint8
		region   string
		want     string
	}{
		{"12015550101", 1, 1, "US", "+12015550101"},
		{"+12015550101", 1, 1, "US", "+12015550101"},
		{"+12015550101", 0, 0, "", "+12015550101"},
		{"0012015550101", 0, 1, "US", "+12015550101"},
		{"0012015550101", 1, 1, "US", "+12015550101"},
		{"01112015550101", 0, 1, "US", "+12015550101"},
		{"01112015550101", 1, 1, "GB", "+12015550101"},
		{"(201) 555-0101", 2, 8, "US", "+12015550101"},
		{"(201) 555-0101", 0, 0, "US", "+12015550101"},
		{"201.555.0101", 0, 0, "us", "+12015550101"},
		{"2015550101", 0, 1, "US", "+12015550101"},
		{"2015550101", 2, 1, "CA", "+12015550101"},
		{"12015550101", 0, 1, "US", "+12015550101"},
		{" +1 201 555 0101 ", 0, 0, "", "+12015550101"},
		{"18885550100", 1, 1, "US", "+18885550100"},
		{"+18005550100", 1, 1, "US", "+18005550100"},
		{"+16135550101", 1, 1, "CA", "+16135550101"},
		{"442079460000", 1, 1, "US", "+442079460000"},
		{"442079460000", 0, 1, "US", "+442079460000"},
		{"02079460000", 2, 1, "GB", "+442079460000"},
		{"00442079460000", 0, 1, "GB", "+442079460000"},
		{"2015550101", 3, 1, "US", "+12015550101"},
		{"2015550101", 4, 1, "US", "+12015550101"},
	}
	for _, tc := range tests {
		got, err := NormalizeNumber(tc.raw, tc.ton, tc.npi, tc.region)
		if err != nil {
			t.Errorf("NormalizeNumber(%q, %d, %d, %q) failed: %v", tc.raw, tc.ton, tc.npi, tc.region, err)
			continue
		}
		if got != tc.want {
			t.Errorf("NormalizeNumber(%q, %d, %d, %q) = %q, want %q", tc.raw, tc.ton, tc.npi, tc.region, got, tc.want)
		}
	}
}

func TestNormalizeNumberErrors(t *testing.T) {
	tests := []struct {
		raw      string
		ton, npi uint8
		region   string
		reason   string
	}{
		{"Acme", 5, 0, "US", "alphanumeric address (TON 5)"},
		{"12015550101", 5, 0, "US", "alphanumeric address (TON 5)"},
		{"1234", 6, 0, "US", "abbreviated number (TON 6)"},
		{"12015550101", 7, 1, "US", "TON 7 is not defined"},
		{"12015550101", 1, 3, "US", "numbering plan data (NPI 3)"},
		{"12015550101", 1, 6, "US", "numbering plan land_mobile (NPI 6)"},
		{"12015550101", 1, 2, "US", "NPI 2 is not defined"},
		{"", 1, 1, "US", "empty address"},
		{"   ", 0, 0, "US", "empty address"},
		{"+", 1, 1, "US", "no digits"},
		{"1-800-FLOWERS", 0, 0, "US", "contains letters"},
		{"+1201555010#", 1, 1, "US", `contains '#'`},
		{"+1+2015550101", 1, 1, "US", `contains '+'`},
		{"5550101", 0, 0, "US", "local number without area code"},
		{"5550101", 4, 1, "US", "local number without area code"},
		{"+1201555010", 1, 1, "US", "too short"},
		{"+120155501011", 1, 1, "US", "too long"},
		{"+12011550101", 1, 1, "US", "not a NANP number"},
		{"+11015550101", 1, 1, "US", "not a NANP number"},
		{"+19115550101", 1, 1, "US", "not a NANP number"},
		{"2015550101", 2, 1, "", "no default region"},
		{"2015550101", 2, 1, "XX", `unknown default region "XX"`},
		{"+9995550101", 1, 1, "US", "invalid country code"},
		{"012345", 1, 1, "US", "invalid country code"},
		{strings.Repeat("1", 41), 1, 1, "US", "longer than 40 characters"},
	}
	for _, tc := range tests {
		got, err := NormalizeNumber(tc.raw, tc.ton, tc.npi, tc.region)
		if err == nil {
			t.Errorf("NormalizeNumber(%q, %d, %d, %q) = %q, want an error", tc.raw, tc.ton, tc.npi, tc.region, got)
			continue
		}
		var ne *NumberError
		if !errors.As(err, &ne) {
			t.Errorf("NormalizeNumber(%q) error %T is not a *NumberError", tc.raw, err)
			continue
		}
		if !errors.Is(err, ErrInvalidPhoneNumber) {
			t.Errorf("NormalizeNumber(%q) error does not wrap ErrInvalidPhoneNumber", tc.raw)
		}
		if ne.Raw != tc.raw {
			t.Errorf("NumberError.Raw = %q, want %q", ne.Raw, tc.raw)
		}
		if !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("NormalizeNumber(%q) error %q does not contain %q", tc.raw, err, tc.reason)
		}
	}
}

func TestNumberErrorMessage(t *testing.T) {
	_, err := NormalizeNumber("Acme", 5, 0, "US")
	want := `consent: invalid phone number "Acme" (ton alphanumeric, npi unknown): ` +
		`an alphanumeric address (TON 5) is not a phone number`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestNormalizeNumberFastPathAgrees checks that every input the NANP fast
// path accepts gives the same E.164 number through libphonenumber.
func TestNormalizeNumberFastPathAgrees(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		digits := rapid.StringMatching(`[0-9]{10}`).Draw(t, "digits")
		prefix := rapid.SampledFrom([]string{"", "1", "+1"}).Draw(t, "prefix")
		ton := rapid.Uint8Range(0, 7).Draw(t, "ton")
		npi := rapid.SampledFrom([]uint8{0, 1, 3, 8, 9}).Draw(t, "npi")
		region := rapid.SampledFrom([]string{"US", "CA", "us", "JM", "GB", ""}).Draw(t, "region")
		raw := prefix + digits

		fast, ok := normalizeNANPFast(raw, ton, npi, region)
		slow, err := normalizeNumberSlow(raw, ton, npi, region)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fast path accepted %q (ton %d, npi %d, %q) as %q, slow path failed: %v",
				raw, ton, npi, region, fast, err)
		}
		if fast != slow {
			t.Fatalf("NormalizeNumber(%q, %d, %d, %q): fast path %q, slow path %q", raw, ton, npi, region, fast, slow)
		}
	})
}

func TestNormalizeNumberFastPathUsed(t *testing.T) {
	tests := []struct {
		raw    string
		ton    uint8
		region string
	}{
		{"+12015550101", 1, "US"},
		{"12015550101", 1, ""},
		{"12015550101", 0, "US"},
		{"2015550101", 2, "CA"},
	}
	for _, tc := range tests {
		if _, ok := normalizeNANPFast(tc.raw, tc.ton, 1, tc.region); !ok {
			t.Errorf("fast path rejected %q (ton %d, region %q)", tc.raw, tc.ton, tc.region)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeNumber("+12015550101", 1, 1, "US") }); n != 0 {
		t.Errorf("NormalizeNumber of an E.164 NANP number allocates %.0f times, want 0", n)
	}
}

func TestIsTollFree(t *testing.T) {
	tests := map[string]bool{
		"+18005550100":  true,
		"+18335550100":  true,
		"+18445550100":  true,
		"+18555550100":  true,
		"+18665550100":  true,
		"+18775550100":  true,
		"+18885550100":  true,
		"+12015550101":  false,
		"+18095550100":  false,
		"+18805550100":  false,
		"18885550100":   false,
		"+1888555010":   false,
		"+188855501000": false,
		"+18881550100":  false,
		"+448005550100": false,
		"+1888555O100":  false,
		"":              false,
	}
	for in, want := range tests {
		if got := IsTollFree(in); got != want {
			t.Errorf("IsTollFree(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTimeZoneFor(t *testing.T) {
	tests := []struct {
		number string
		zone   string // "" when no zone is expected
	}{
		{"+12015550101", "America/New_York"},
		{"+13105550101", "America/Los_Angeles"},
		{"+13125550101", "America/Chicago"},
		{"+16135550101", "America/Toronto"},
		{"+18085550101", "Pacific/Honolulu"},
		{"+442079460000", "Europe/London"},
		{"+18885550100", ""},
		{"+19075550101", ""},
		{"12015550101", ""},
		{"+1201555010x", ""},
		{"+0201555010", ""},
		{"", ""},
	}
	for _, tc := range tests {
		loc, ok := TimeZoneFor(tc.number)
		if tc.zone == "" {
			if ok {
				t.Errorf("TimeZoneFor(%q) = %v, want no zone", tc.number, loc)
			}
			continue
		}
		if !ok {
			t.Errorf("TimeZoneFor(%q) found no zone, want %s", tc.number, tc.zone)
			continue
		}
		if loc.String() != tc.zone {
			t.Errorf("TimeZoneFor(%q) = %s, want %s", tc.number, loc, tc.zone)
		}
	}
}

func TestTimeZoneForConcurrent(t *testing.T) {
	numbers := []string{"+12015550101", "+13105550101", "+13125550101", "+16135550101"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			number := numbers[i%len(numbers)]
			if _, ok := TimeZoneFor(number); !ok {
				t.Errorf("TimeZoneFor(%q) found no zone", number)
			}
		})
	}
	wg.Wait()
}

func TestFormatNANP(t *testing.T) {
	tests := map[string]string{
		"+18885550100":  "(888) 555-0100",
		"+12015550101":  "(201) 555-0101",
		"+442079460000": "+442079460000",
		"+1888555010":   "+1888555010",
	}
	for in, want := range tests {
		if got := formatNANP(in); got != want {
			t.Errorf("formatNANP(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkNormalizeNumber(b *testing.B) {
	inputs := []struct {
		name, raw string
		ton       uint8
	}{
		{"e164_fast", "+12015550101", 1},
		{"international_fast", "12015550101", 1},
		{"national_formatted", "(201) 555-0101", 2},
		{"international_prefix", "01112015550101", 0},
		{"non_nanp", "+442079460000", 1},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizeNumber(in.raw, in.ton, 1, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTimeZoneFor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := TimeZoneFor("+12015550101"); !ok {
			b.Fatal("no zone")
		}
	}
}
