package gateway

import (
	"slices"
	"strings"
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

func TestRouterLongestPrefix(t *testing.T) {
	carriers := []config.Carrier{
		{Name: "world", Routes: []string{"+"}},
		{Name: "nanp", Routes: []string{"+1"}},
		{Name: "nj", Routes: []string{"+1201", "+1973"}},
		{Name: "london", Routes: []string{"+4420"}},
	}
	r, err := NewRouter(carriers)
	if err != nil {
		t.Fatal(err)
	}
	for number, want := range map[string]string{
		"+12015550101":  "nj",
		"+19735550101":  "nj",
		"+12125550101":  "nanp",
		"+442079460000": "london",
		"+447700900123": "world",
	} {
		c, ok := r.Route(number)
		if !ok || c.Name != want {
			t.Errorf("Route(%s) = %v, want %s", number, c, want)
		}
	}
	if got := r.Names(); !slices.Equal(got, []string{"world", "nanp", "nj", "london"}) {
		t.Errorf("Names = %v", got)
	}
	only, _ := NewRouter(carriers[1:2])
	if c, ok := only.Route("+447700900123"); ok {
		t.Errorf("Route outside every prefix = %s, want none", c.Name)
	}
}

func TestNewRouterErrors(t *testing.T) {
	tests := []struct {
		name     string
		carriers []config.Carrier
		want     string
	}{
		{"shared prefix", []config.Carrier{{Name: "a", Routes: []string{"+1"}}, {Name: "b", Routes: []string{"+1"}}},
			`route "+1" belongs to carriers a and b`},
		{"prefix without plus", []config.Carrier{{Name: "a", Routes: []string{"1201"}}}, `route "1201"`},
		{"prefix with letters", []config.Carrier{{Name: "a", Routes: []string{"+1x"}}}, `route "+1x"`},
		{"duplicate name", []config.Carrier{{Name: "a"}, {Name: "a"}}, "defined twice"},
		{"unknown coding", []config.Carrier{{Name: "a", DataCoding0: "ebcdic"}}, "data_coding_0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRouter(tt.carriers); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCarrierFromConfig(t *testing.T) {
	c, err := CarrierFromConfig(config.Carrier{Name: "x", DataCoding0: config.DataCodingLatin1,
		LongMessages: config.LongSAR, MessageID: config.MessageIDFormat{Format: config.MessageIDHex,
			LeadingZeros: config.LeadingZerosStrip}})
	if err != nil {
		t.Fatal(err)
	}
	want := Carrier{Name: "x", Region: "US", Text: smpp.TextOptions{Default: smpp.DefaultLatin1},
		Split: smpp.SplitSAR, IDs: IDFormat{Base: IDHex, StripZeros: true}}
	if c != want {
		t.Errorf("carrier = %+v, want %+v", c, want)
	}
}

func TestIDFormatKeys(t *testing.T) {
	tests := []struct {
		name   string
		format IDFormat
		stored string
		lookup string
		match  bool
	}{
		{"as is exact", IDFormat{}, "abc-1", "abc-1", true},
		{"as is trims NUL and spaces", IDFormat{}, " abc\x00", "abc", true},
		{"as is keeps case", IDFormat{}, "abc", "ABC", false},
		{"as is keeps zeros", IDFormat{}, "007", "7", false},
		{"as is strips zeros", IDFormat{StripZeros: true}, "007", "7", true},
		{"zeros only", IDFormat{StripZeros: true}, "000", "0", true},
		{"hex ignores case", IDFormat{Base: IDHex}, "b8be19", "B8BE19", true},
		{"hex keeps zeros", IDFormat{Base: IDHex}, "00B8BE19", "B8BE19", false},
		{"hex strips zeros", IDFormat{Base: IDHex, StripZeros: true}, "00B8BE19", "B8BE19", true},
		{"hex stored, decimal receipt", IDFormat{Base: IDHex}, "00B8BE19", "12107289", true},
		{"decimal stored, hex receipt", IDFormat{Base: IDDecimal}, "12107289", "b8be19", true},
		{"decimal stored, other decimal", IDFormat{Base: IDDecimal}, "12107289", "12107288", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := tt.format.storeKeys(tt.stored)
			found := false
			for _, k := range tt.format.lookupKeys(tt.lookup) {
				found = found || slices.Contains(stored, k)
			}
			if found != tt.match {
				t.Errorf("stored keys %q, lookup keys %q: match %v, want %v",
					stored, tt.format.lookupKeys(tt.lookup), found, tt.match)
			}
		})
	}
}
