package loadgen

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		in   string
		want Mix
	}{
		{"gsm7=100", Mix{KindGSM7: 100}},
		{"gsm7=80,ucs2=10,long=10", Mix{80, 10, 10}},
		{" LONG = 100 ", Mix{KindLong: 100}},
		{"ucs2=50,gsm7=50,long=0", Mix{50, 50, 0}},
	}
	for _, tt := range tests {
		got, err := ParseMix(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if got := (Mix{80, 10, 10}).String(); got != "gsm7=80,ucs2=10,long=10" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseMixInvalid(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "is not KIND=PERCENT"},
		{"gsm7", "is not KIND=PERCENT"},
		{"sms=100", `unknown message kind "sms"`},
		{"gsm7=90", "add up to 90, want 100"},
		{"gsm7=60,ucs2=60", "add up to 120"},
		{"gsm7=-10,long=110", "not a percentage"},
		{"gsm7=ten", "not a percentage"},
		{"gsm7=50,gsm7=50", "gsm7 is given twice"},
	}
	for _, tt := range tests {
		_, err := ParseMix(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseMix(%q) error %v, want one containing %q", tt.in, err, tt.want)
		}
	}
}

func TestMixPickShares(t *testing.T) {
	m := Mix{70, 20, 10}
	rng := rand.New(rand.NewPCG(3, 4))
	var counts [kindCount]int
	const draws = 100_000
	for range draws {
		counts[m.pick(rng)]++
	}
	for k, want := range m {
		share := float64(counts[k]) / draws * 100
		if share < float64(want)-1 || share > float64(want)+1 {
			t.Errorf("%s drawn %.1f%% of the time, want %d%%", Kind(k), share, want)
		}
	}
	only := Mix{KindUCS2: 100}
	for range 100 {
		if k := only.pick(rng); k != KindUCS2 {
			t.Fatalf("a ucs2=100 mix drew %s", k)
		}
	}
}

func TestBuildPayloads(t *testing.T) {
	p, err := buildPayloads()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind     Kind
		coding   smpp.DataCoding
		segments int
	}{
		{KindGSM7, smpp.CodingDefault, 1},
		{KindUCS2, smpp.CodingUCS2, 1},
		{KindLong, smpp.CodingDefault, 3},
	}
	for _, tt := range tests {
		got := p[tt.kind]
		if got.coding != tt.coding || len(got.segments) != tt.segments {
			t.Errorf("%s: coding %v with %d segments, want %v with %d",
				tt.kind, got.coding, len(got.segments), tt.coding, tt.segments)
		}
	}
	for i, seg := range p[KindLong].segments {
		if !seg.UDHI || seg.Part.Seq != uint8(i+1) || seg.Part.Total != 3 {
			t.Errorf("long segment %d: UDHI %v part %+v, want a header with part %d of 3", i, seg.UDHI, seg.Part, i+1)
		}
	}
}

func TestWithRef(t *testing.T) {
	p, err := buildPayloads()
	if err != nil {
		t.Fatal(err)
	}
	seg := p[KindLong].segments[1]
	data := withRef(seg, 0xAB)
	udh, _, err := smpp.ParseUDH(data)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := udh.Concat()
	if !ok || info.Ref != 0xAB || info.Seq != 2 || info.Total != 3 {
		t.Errorf("concatenation element %+v (found %v), want ref 0xAB part 2 of 3", info, ok)
	}
	if seg.Data[udhRefOffset] != 0 {
		t.Error("withRef changed the template segment")
	}
	single := p[KindGSM7].segments[0]
	if got := withRef(single, 9); string(got) != string(single.Data) {
		t.Error("withRef changed a segment without a header")
	}
}
