package smpp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// gsmBasicSpec lists the GSM 03.38 basic table entries (3GPP TS 23.038
// section 6.2.1) whose code point differs from the septet value, as
// septet:code point. Every other printable septet maps to the ASCII
// character of the same value.
var gsmBasicSpec = map[byte]rune{
	0x00: 0x0040, 0x01: 0x00A3, 0x02: 0x0024, 0x03: 0x00A5, 0x04: 0x00E8, 0x05: 0x00E9,
	0x06: 0x00F9, 0x07: 0x00EC, 0x08: 0x00F2, 0x09: 0x00C7, 0x0A: 0x000A, 0x0B: 0x00D8,
	0x0C: 0x00F8, 0x0D: 0x000D, 0x0E: 0x00C5, 0x0F: 0x00E5, 0x10: 0x0394, 0x11: 0x005F,
	0x12: 0x03A6, 0x13: 0x0393, 0x14: 0x039B, 0x15: 0x03A9, 0x16: 0x03A0, 0x17: 0x03A8,
	0x18: 0x03A3, 0x19: 0x0398, 0x1A: 0x039E, 0x1C: 0x00C6, 0x1D: 0x00E6, 0x1E: 0x00DF,
	0x1F: 0x00C9, 0x24: 0x00A4, 0x40: 0x00A1, 0x5B: 0x00C4, 0x5C: 0x00D6, 0x5D: 0x00D1,
	0x5E: 0x00DC, 0x5F: 0x00A7, 0x60: 0x00BF, 0x7B: 0x00E4, 0x7C: 0x00F6, 0x7D: 0x00F1,
	0x7E: 0x00FC, 0x7F: 0x00E0,
}

// gsmExtensionSpec is the extension table (section 6.2.1.1).
var gsmExtensionSpec = map[byte]rune{
	0x0A: 0x000C, 0x14: 0x005E, 0x28: 0x007B, 0x29: 0x007D, 0x2F: 0x005C,
	0x3C: 0x005B, 0x3D: 0x007E, 0x3E: 0x005D, 0x40: 0x007C, 0x65: 0x20AC,
}

func specBasic(septet byte) rune {
	if r, ok := gsmBasicSpec[septet]; ok {
		return r
	}
	return rune(septet)
}

func TestGSMBasicTable(t *testing.T) {
	for septet := byte(0); septet < 0x80; septet++ {
		if septet == gsmEscape {
			continue
		}
		want := string(specBasic(septet))
		got, err := DecodeGSM([]byte{septet})
		if err != nil || got != want {
			t.Errorf("DecodeGSM(%02x) = %q, %v; want %q", septet, got, err, want)
		}
		enc, err := EncodeGSM(want)
		if err != nil || !bytes.Equal(enc, []byte{septet}) {
			t.Errorf("EncodeGSM(%q) = % x, %v; want %02x", want, enc, err, septet)
		}
	}
}

func TestGSMExtensionTable(t *testing.T) {
	for septet, r := range gsmExtensionSpec {
		want := string(r)
		got, err := DecodeGSM([]byte{gsmEscape, septet})
		if err != nil || got != want {
			t.Errorf("DecodeGSM(1b %02x) = %q, %v; want %q", septet, got, err, want)
		}
		enc, err := EncodeGSM(want)
		if err != nil || !bytes.Equal(enc, []byte{gsmEscape, septet}) {
			t.Errorf("EncodeGSM(%q) = % x, %v; want 1b %02x", want, enc, err, septet)
		}
		if n, ok := GSMSeptets(want); !ok || n != 2 {
			t.Errorf("GSMSeptets(%q) = %d, %v; want 2", want, n, ok)
		}
	}
}

func TestGSMEscapeFallbacks(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"unknown escape reads basic table", []byte{0x1B, 0x41}, "A"},
		{"unknown escape of at sign", []byte{0x1B, 0x00}, "@"},
		{"double escape is a space", []byte{'a', 0x1B, 0x1B, 'b'}, "a b"},
		{"trailing escape is a space", []byte{'a', 0x1B}, "a "},
		{"nul is at sign", []byte{'a', 0x00, 'b'}, "a@b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeGSM(tt.in)
			if err != nil {
				t.Fatalf("DecodeGSM(% x): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("DecodeGSM(% x) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeGSMHighBit(t *testing.T) {
	for _, in := range [][]byte{{'a', 0x80}, {0x1B, 0xE5}} {
		_, err := DecodeGSM(in)
		var de *TextDecodeError
		if !errors.As(err, &de) {
			t.Fatalf("DecodeGSM(% x) error = %v, want *TextDecodeError", in, err)
		}
		if de.Offset != 1 {
			t.Errorf("DecodeGSM(% x) offset = %d, want 1", in, de.Offset)
		}
	}
}

func TestEncodeGSMReportsCharacters(t *testing.T) {
	_, err := EncodeGSM("ok ж ç ж 😀")
	var ee *TextEncodeError
	if !errors.As(err, &ee) {
		t.Fatalf("EncodeGSM error = %v, want *TextEncodeError", err)
	}
	if ee.Offset != 3 {
		t.Errorf("offset = %d, want 3", ee.Offset)
	}
	if string(ee.Chars) != "жç😀" {
		t.Errorf("chars = %q, want %q", string(ee.Chars), "жç😀")
	}
	if !strings.Contains(err.Error(), "U+0436") {
		t.Errorf("message %q does not name U+0436", err)
	}
}

func TestPackSeptets(t *testing.T) {
	tests := []struct {
		name string
		text string
		fill int
		want string
	}{
		{"ten septets", "hellohello", 0, "e8329bfd4697d9ec37"},
		{"seven septets padded with cr", "1234567", 0, "31d98c56b3dd1a"},
		{"eight septets fill seven octets", "12345678", 0, "31d98c56b3dd70"},
		{"one fill bit after 6-octet udh", "Hi", 1, "9069"},
		{"eleven septets with fill", "Hello world", 1, "906536fb0dbabfe56c32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			septets, err := EncodeGSM(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			packed := PackSeptets(septets, tt.fill)
			if got := hex.EncodeToString(packed); got != tt.want {
				t.Errorf("PackSeptets = %s, want %s", got, tt.want)
			}
			unpacked := UnpackSeptets(packed, tt.fill, -1)
			if !bytes.Equal(unpacked, septets) {
				t.Errorf("UnpackSeptets = % x, want % x", unpacked, septets)
			}
			counted := UnpackSeptets(packed, tt.fill, len(septets))
			if !bytes.Equal(counted, septets) {
				t.Errorf("UnpackSeptets with count = % x, want % x", counted, septets)
			}
		})
	}
}

func TestUnpackSeptetsShortInput(t *testing.T) {
	if got := UnpackSeptets(nil, 0, -1); len(got) != 0 {
		t.Errorf("UnpackSeptets(nil) = % x, want empty", got)
	}
	if got := UnpackSeptets([]byte{0xFF}, 6, -1); len(got) != 0 {
		t.Errorf("UnpackSeptets(ff, fill 6) = % x, want empty", got)
	}
	if got := UnpackSeptets([]byte{0xE8}, 0, 5); len(got) != 1 {
		t.Errorf("UnpackSeptets with count past data = % x, want 1 septet", got)
	}
}

func TestCountSegmentsBoundaries(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   int
		coding DataCoding
	}{
		{"empty", "", 1, CodingDefault},
		{"160 gsm", strings.Repeat("a", 160), 1, CodingDefault},
		{"161 gsm", strings.Repeat("a", 161), 2, CodingDefault},
		{"306 gsm", strings.Repeat("a", 306), 2, CodingDefault},
		{"307 gsm", strings.Repeat("a", 307), 3, CodingDefault},
		{"80 euro signs", strings.Repeat("€", 80), 1, CodingDefault},
		{"81 euro signs", strings.Repeat("€", 81), 2, CodingDefault},
		{"159 plus extension", strings.Repeat("a", 159) + "€", 2, CodingDefault},
		{"152 plus extension at 153", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), 2, CodingDefault},
		{"70 ucs2", strings.Repeat("ж", 70), 1, CodingUCS2},
		{"71 ucs2", strings.Repeat("ж", 71), 2, CodingUCS2},
		{"134 ucs2", strings.Repeat("ж", 134), 2, CodingUCS2},
		{"135 ucs2", strings.Repeat("ж", 135), 3, CodingUCS2},
		{"35 emoji", strings.Repeat("😀", 35), 1, CodingUCS2},
		{"36 emoji", strings.Repeat("😀", 36), 2, CodingUCS2},
		{"66 plus emoji at 67", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5), 2, CodingUCS2},
		{"66 plus emoji then 67", strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 67), 3, CodingUCS2},
		{"one cyrillic letter", "Stop ж", 1, CodingUCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, coding := CountSegments(tt.text)
			if n != tt.want {
				t.Errorf("segments = %d, want %d", n, tt.want)
			}
			if coding != tt.coding {
				t.Errorf("coding = %v, want %v", coding, tt.coding)
			}
		})
	}
}

func TestSplitExtensionAtBoundary(t *testing.T) {
	// The escape would be septet 153, so the whole euro sign moves on.
	text := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
	segs, err := SplitText(text, CodingDefault, SplitOptions{Refs: &RefCounter{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	if segs[0].Text != strings.Repeat("a", 152) {
		t.Errorf("first segment text = %q, want 152 a", segs[0].Text)
	}
	if !strings.HasPrefix(segs[1].Text, "€") {
		t.Errorf("second segment text = %q, want it to start with €", segs[1].Text)
	}
	body := segs[0].Data[concatUDHLen:]
	if len(body) != 152 || body[len(body)-1] == gsmEscape {
		t.Errorf("first segment body has %d septets ending % x", len(body), body[len(body)-1])
	}
}

func TestSplitEmojiAtBoundary(t *testing.T) {
	// The surrogate pair would take code units 67 and 68, so it moves on.
	text := strings.Repeat("ж", 66) + "😀" + strings.Repeat("ж", 5)
	segs, err := SplitText(text, CodingUCS2, SplitOptions{Refs: &RefCounter{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	if got := len(segs[0].Data) - concatUDHLen; got != 132 {
		t.Errorf("first segment body = %d octets, want 132", got)
	}
	if segs[1].Text != "😀жжжжж" {
		t.Errorf("second segment text = %q, want %q", segs[1].Text, "😀жжжжж")
	}
	body := segs[1].Data[concatUDHLen:]
	if !bytes.Equal(body[:4], []byte{0xD8, 0x3D, 0xDE, 0x00}) {
		t.Errorf("second segment starts % x, want d8 3d de 00", body[:4])
	}
}

func TestSplitFullSegments(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		coding   DataCoding
		mode     SplitMode
		segments int
		firstLen int // octets of the first segment's Data
	}{
		{"gsm 161 udh", strings.Repeat("a", 161), CodingDefault, SplitUDH, 2, 6 + 153},
		{"gsm 306 udh", strings.Repeat("a", 306), CodingDefault, SplitUDH, 2, 6 + 153},
		{"gsm 305 udh16", strings.Repeat("a", 305), CodingDefault, SplitUDH16, 3, 7 + 152},
		{"gsm 304 udh16", strings.Repeat("a", 304), CodingDefault, SplitUDH16, 2, 7 + 152},
		{"gsm 304 sar", strings.Repeat("a", 304), CodingDefault, SplitSAR, 2, 152},
		{"ucs2 71 udh", strings.Repeat("ж", 71), CodingUCS2, SplitUDH, 2, 6 + 134},
		{"ucs2 134 udh", strings.Repeat("ж", 134), CodingUCS2, SplitUDH, 2, 6 + 134},
		{"ucs2 133 udh16", strings.Repeat("ж", 133), CodingUCS2, SplitUDH16, 3, 7 + 132},
		{"latin1 141 udh", strings.Repeat("é", 141), CodingLatin1, SplitUDH, 2, 6 + 134},
		{"binary 140", strings.Repeat("\xff", 140), CodingBinary, SplitUDH, 1, 140},
		{"binary 269", strings.Repeat("\xff", 269), CodingBinary, SplitUDH, 3, 6 + 134},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := SplitText(tt.text, tt.coding, SplitOptions{Mode: tt.mode, Refs: &RefCounter{}})
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != tt.segments {
				t.Fatalf("segments = %d, want %d", len(segs), tt.segments)
			}
			if len(segs[0].Data) != tt.firstLen {
				t.Errorf("first segment = %d octets, want %d", len(segs[0].Data), tt.firstLen)
			}
			joined := ""
			for _, s := range segs {
				joined += s.Text
			}
			if joined != tt.text {
				t.Errorf("segment texts do not join to the input")
			}
		})
	}
}

// Regression: decoders that skipped the extension table turned 1B 65 into a
// space and lost brackets and braces in MO text.
func TestRegressionGSMExtensionMO(t *testing.T) {
	in := append([]byte("Ext:"), 0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29,
		0x1B, 0x14, 0x1B, 0x3D, 0x1B, 0x2F, 0x1B, 0x40)
	got, err := DecodeText(CodingDefault, in, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `Ext:€[]{}^~\|`
	if got != want {
		t.Errorf("decoded %q, want %q", got, want)
	}
	if n := len([]rune(got)); n != 13 {
		t.Errorf("decoded %d characters, want 13", n)
	}
	septets, ok := GSMSeptets(got)
	if !ok || septets != 4+2*9 {
		t.Errorf("GSMSeptets = %d, %v; want 22", septets, ok)
	}
	enc, err := EncodeText(got, CodingDefault, TextOptions{})
	if err != nil || !bytes.Equal(enc, in) {
		t.Errorf("re-encoded % x, %v; want % x", enc, err, in)
	}
}

// Regression: GSM code points below 0x20 came out as control bytes, and
// 0x00 ended the text.
func TestRegressionGSMLowCodePoints(t *testing.T) {
	in := []byte{0x43, 0x61, 0x66, 0x05, 0x20, 0x00, 0x20, 0x31, 0x30, 0x01}
	got, err := DecodeText(CodingDefault, in, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got != "Café @ 10£" {
		t.Errorf("decoded %q, want %q", got, "Café @ 10£")
	}
}

// Regression: smartphones switch to UCS2 for smart punctuation, so a
// keyword arrives as UCS2 with U+2026 or U+00A0 around it.
func TestRegressionUCS2Punctuation(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"0053 0074 006f 0070 2026", "Stop…"},
		{"00a0 0073 0074 006f 0070 0021 0020", "\u00a0stop! "},
	}
	for _, tt := range tests {
		data, err := hex.DecodeString(strings.ReplaceAll(tt.in, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeText(CodingUCS2, data, TextOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("decoded %q, want %q", got, tt.want)
		}
	}
}

func TestUCS2SurrogatePairs(t *testing.T) {
	text := "ok 😀 👍🏽"
	enc, err := EncodeText(text, CodingUCS2, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "006f006b0020d83dde000020d83ddc4dd83cdffd"
	if got := hex.EncodeToString(enc); got != want {
		t.Errorf("encoded %s, want %s", got, want)
	}
	dec, err := DecodeText(CodingUCS2, enc, TextOptions{})
	if err != nil || dec != text {
		t.Errorf("decoded %q, %v; want %q", dec, err, text)
	}
}

func TestUCS2Malformed(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"lone high surrogate at end", []byte{0x00, 0x41, 0xD8, 0x3D}, "A\uFFFD"},
		{"lone high surrogate before bmp", []byte{0xD8, 0x3D, 0x00, 0x41}, "\uFFFDA"},
		{"lone low surrogate", []byte{0xDE, 0x00, 0x00, 0x41}, "\uFFFDA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText(CodingUCS2, tt.in, TextOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("decoded %q, want %q", got, tt.want)
			}
		})
	}
	_, err := DecodeText(CodingUCS2, []byte{0x00, 0x41, 0x00}, TextOptions{})
	var de *TextDecodeError
	if !errors.As(err, &de) || de.Coding != CodingUCS2 {
		t.Errorf("odd length error = %v, want *TextDecodeError for UCS2", err)
	}
}

func TestDecodeTextCodings(t *testing.T) {
	tests := []struct {
		name   string
		coding DataCoding
		opts   TextOptions
		in     []byte
		want   string
	}{
		{"ia5", CodingIA5, TextOptions{}, []byte("Hi [there]"), "Hi [there]"},
		{"latin1", CodingLatin1, TextOptions{}, []byte{'C', 'a', 'f', 0xE9, 0xA3}, "Café£"},
		{"default as latin1", CodingDefault, TextOptions{Default: DefaultLatin1}, []byte{0xE9, 0x00}, "é\x00"},
		{"default as ia5", CodingDefault, TextOptions{Default: DefaultIA5}, []byte("@_"), "@_"},
		{"default packed", CodingDefault, TextOptions{Packed: true}, []byte{0xE8, 0x32, 0x9B, 0xFD, 0x06}, "hello"},
		{"binary kept", CodingBinary, TextOptions{}, []byte{0x00, 0xFF}, "\x00\xff"},
		{"octet unspecified kept", CodingOctetUnspecified, TextOptions{}, []byte{0x01}, "\x01"},
		{"cyrillic", CodingCyrillic, TextOptions{}, []byte{0xB6, 0xD0}, "Жа"},
		{"hebrew", CodingHebrew, TextOptions{}, []byte{0xE0, 0xE1}, "אב"},
		{"gsm class group f0", 0xF0, TextOptions{}, []byte{0x00, 0x1B, 0x65}, "@€"},
		{"8-bit class group f4", 0xF4, TextOptions{}, []byte{0x1B}, "\x1b"},
		{"ucs2 general group 18", 0x18, TextOptions{}, []byte{0x04, 0x36}, "ж"},
		{"ucs2 mwi group e0", 0xE0, TextOptions{}, []byte{0x04, 0x36}, "ж"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText(tt.coding, tt.in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("decoded %q, want %q", got, tt.want)
			}
			enc, err := EncodeText(got, tt.coding, tt.opts)
			if err != nil || !bytes.Equal(enc, tt.in) {
				t.Errorf("re-encoded % x, %v; want % x", enc, err, tt.in)
			}
		})
	}
}

func TestTextErrors(t *testing.T) {
	if _, err := DecodeText(CodingIA5, []byte{'a', 0xC3}, TextOptions{}); !isTextDecodeError(err, 1) {
		t.Errorf("IA5 high octet error = %v, want *TextDecodeError at 1", err)
	}
	for _, c := range []DataCoding{CodingJIS, CodingPictogram, CodingISO2022JP, CodingExtendedKanji,
		CodingKSC5601, 0x0B, 0x30, 0x9F} {
		if _, err := DecodeText(c, []byte("x"), TextOptions{}); !errors.Is(err, ErrUnsupportedCoding) {
			t.Errorf("DecodeText(%v) error = %v, want ErrUnsupportedCoding", c, err)
		}
		if _, err := EncodeText("x", c, TextOptions{}); !errors.Is(err, ErrUnsupportedCoding) {
			t.Errorf("EncodeText(%v) error = %v, want ErrUnsupportedCoding", c, err)
		}
	}
	var ee *TextEncodeError
	if _, err := EncodeText("naïve ж", CodingLatin1, TextOptions{}); !errors.As(err, &ee) ||
		string(ee.Chars) != "ж" || ee.Coding != CodingLatin1 {
		t.Errorf("Latin-1 encode error = %v, want *TextEncodeError for ж", err)
	}
	if _, err := EncodeText("é", CodingIA5, TextOptions{}); !errors.As(err, &ee) {
		t.Errorf("IA5 encode error = %v, want *TextEncodeError", err)
	}
	if _, err := EncodeText("ж", CodingDefault, TextOptions{}); !errors.As(err, &ee) ||
		ee.Coding != CodingDefault {
		t.Errorf("GSM encode error = %v, want *TextEncodeError for 0x00", err)
	}
}

func isTextDecodeError(err error, offset int) bool {
	var de *TextDecodeError
	return errors.As(err, &de) && de.Offset == offset
}

func ExampleCountSegments() {
	n, coding := CountSegments("Reply STOP to opt out. €5 per month.")
	fmt.Println(n, coding)
	n, coding = CountSegments(strings.Repeat("Привет! ", 10))
	fmt.Println(n, coding)
	// Output:
	// 1 0x00 (default alphabet)
	// 2 0x08 (UCS2)
}

func TestSeptetsFillBitsOutOfRange(t *testing.T) {
	septets := []byte("hello")
	for _, fill := range []int{-1, 7, 64} {
		packed := PackSeptets(septets, fill)
		if want := PackSeptets(septets, 0); !bytes.Equal(packed, want) {
			t.Errorf("PackSeptets(fill %d) = % x, want the fill-0 result % x", fill, packed, want)
		}
		if got := UnpackSeptets(packed, fill, -1); !bytes.Equal(got, septets) {
			t.Errorf("UnpackSeptets(fill %d) = %q, want %q", fill, got, septets)
		}
	}
}
