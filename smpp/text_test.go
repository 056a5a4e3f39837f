package smpp

import (
	"bytes"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// gsmRunes lists every character of the GSM 03.38 basic and extension
// tables, taken from the spec tables in charset_test.go.
func gsmRunes() []rune {
	var runes []rune
	for septet := byte(0); septet < 0x80; septet++ {
		if septet != gsmEscape {
			runes = append(runes, specBasic(septet))
		}
	}
	for _, r := range gsmExtensionSpec {
		runes = append(runes, r)
	}
	return runes
}

func TestGSMRoundTripProperty(t *testing.T) {
	alphabet := gsmRunes()
	rapid.Check(t, func(t *rapid.T) {
		text := rapid.StringOf(rapid.SampledFrom(alphabet)).Draw(t, "text")
		septets, err := EncodeGSM(text)
		if err != nil {
			t.Fatalf("EncodeGSM(%q): %v", text, err)
		}
		if n, _ := GSMSeptets(text); n != len(septets) {
			t.Fatalf("GSMSeptets = %d, encoded %d septets", n, len(septets))
		}
		got, err := DecodeGSM(septets)
		if err != nil || got != text {
			t.Fatalf("DecodeGSM(EncodeGSM(%q)) = %q, %v", text, got, err)
		}

		fill := rapid.IntRange(0, 6).Draw(t, "fill")
		packed := PackSeptets(septets, fill)
		if want := (fill + 7*len(septets) + 7) / 8; len(packed) != want {
			t.Fatalf("packed %d septets with %d fill bits into %d octets, want %d",
				len(septets), fill, len(packed), want)
		}
		if counted := UnpackSeptets(packed, fill, len(septets)); !bytes.Equal(counted, septets) {
			t.Fatalf("UnpackSeptets with count = % x, want % x", counted, septets)
		}
		// Without a count, a final carriage return that ends exactly on the
		// last bit is read as padding.
		want := septets
		if len(septets) > 0 && septets[len(septets)-1] == '\r' && (fill+7*len(septets))%8 == 0 {
			want = septets[:len(septets)-1]
		}
		if uncounted := UnpackSeptets(packed, fill, -1); !bytes.Equal(uncounted, want) {
			t.Fatalf("UnpackSeptets without count = % x, want % x", uncounted, want)
		}
	})
}

func TestUCS2RoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := rapid.String().Draw(t, "text")
		want := string([]rune(text)) // invalid UTF-8 reads as U+FFFD
		data, err := EncodeText(text, CodingUCS2, TextOptions{})
		if err != nil {
			t.Fatalf("EncodeText: %v", err)
		}
		if len(data) != 2*ucs2UnitCount(text) {
			t.Fatalf("encoded %d octets, want %d", len(data), 2*ucs2UnitCount(text))
		}
		got, err := DecodeText(CodingUCS2, data, TextOptions{})
		if err != nil || got != want {
			t.Fatalf("round trip of %q = %q, %v", want, got, err)
		}
	})
}

func TestCountSegmentsMatchesSplitProperty(t *testing.T) {
	alphabet := append(gsmRunes(), 'ж', '😀', '…')
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 700).Draw(t, "length")
		text := rapid.StringOfN(rapid.SampledFrom(alphabet), n, n, -1).Draw(t, "text")
		n, coding := CountSegments(text)
		if GSMFits(text) != (coding == CodingDefault) {
			t.Fatalf("coding %v for %q, GSMFits = %v", coding, text, GSMFits(text))
		}
		segs, err := SplitText(text, coding, SplitOptions{Refs: &RefCounter{}})
		if err != nil {
			if n > MaxSegments {
				return
			}
			t.Fatalf("SplitText: %v", err)
		}
		if len(segs) != n {
			t.Fatalf("CountSegments = %d, SplitText made %d", n, len(segs))
		}
	})
}

func FuzzDecodeText(f *testing.F) {
	f.Add(byte(0x00), false, []byte("Ext:\x1b\x65\x1b\x3c\x1b\x3e"))
	f.Add(byte(0x00), false, []byte{0x43, 0x61, 0x66, 0x05, 0x20, 0x00, 0x20, 0x31, 0x30, 0x01})
	f.Add(byte(0x00), true, []byte{0xE8, 0x32, 0x9B, 0xFD, 0x06})
	f.Add(byte(0x08), false, []byte{0x00, 0x53, 0x00, 0x74, 0x00, 0x6f, 0x00, 0x70, 0x20, 0x26})
	f.Add(byte(0x08), false, []byte{0xD8, 0x3D, 0xDE, 0x00, 0xD8})
	f.Add(byte(0x03), false, []byte("Caf\xe9"))
	f.Add(byte(0x01), false, []byte("plain\x80"))
	f.Add(byte(0x06), false, []byte{0xB6})
	f.Add(byte(0x07), false, []byte{0xE0, 0xFF})
	f.Add(byte(0xF0), false, []byte{0x1B, 0x1B, 0x1B})
	f.Add(byte(0x18), false, []byte{0x04})
	f.Fuzz(func(t *testing.T, coding byte, packed bool, data []byte) {
		opts := TextOptions{Packed: packed}
		text, err := DecodeText(DataCoding(coding), data, opts)
		if err != nil || packed {
			return
		}
		if alphabetOf(DataCoding(coding), opts.Default) == alphabetBinary {
			if text != string(data) {
				t.Fatalf("binary data changed: % x -> % x", data, text)
			}
			return
		}
		// Decoded text must survive a second trip unchanged, when the
		// character set can hold it (U+FFFD from undefined octets may not).
		enc, err := EncodeText(text, DataCoding(coding), opts)
		if err != nil {
			if strings.ContainsRune(text, '\uFFFD') {
				return
			}
			t.Fatalf("re-encode of %q: %v", text, err)
		}
		again, err := DecodeText(DataCoding(coding), enc, opts)
		if err != nil || again != text {
			t.Fatalf("second trip of %q = %q, %v", text, again, err)
		}
	})
}
