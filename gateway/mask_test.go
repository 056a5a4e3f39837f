package gateway

import (
	"strings"
	"testing"
)

func TestMaskNumber(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+12015550101", "+1******0101"},
		{"+18005550100", "+1******0100"},
		{"+447700900123", "+44******0123"},
		{"+35312345678", "+353****5678"},   // Ireland: a three-digit code
		{"+79161234567", "+7******4567"},   // Russia: a one-digit code outside +1
		{"+4420", "+44*0"},                 // too short to show four digits
		{"+999123456789", "*********6789"}, // no assigned code starts it
		{"12015550101", "*******0101"},     // no plus, so no country code
		{"123", "**3"},
		{"", ""},
		{"+", "*"},
		{"+1", "+1"},
	}
	for _, tt := range tests {
		if got := MaskNumber(tt.in); got != tt.want {
			t.Errorf("MaskNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskNumberHidesMostDigits(t *testing.T) {
	for _, in := range []string{"+12015550101", "+4420", "+4912345", "5550101", "+1 (201) 555-0101", "+1२०१५५५"} {
		got := MaskNumber(in)
		if len([]rune(got)) != len([]rune(in)) {
			t.Errorf("MaskNumber(%q) = %q, want the same length", in, got)
		}
		prefix := countryPrefix(in)
		hidden := strings.Count(got[len(prefix):], "*")
		shown := len([]rune(got[len(prefix):])) - hidden
		if shown > hidden || shown > 4 {
			t.Errorf("MaskNumber(%q) = %q shows %d characters after the country code and hides %d", in, got, shown, hidden)
		}
	}
}

func BenchmarkMaskNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if MaskNumber("+12015550101") == "" {
			b.Fatal("empty mask")
		}
	}
}
