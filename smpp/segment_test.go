package smpp

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixedRef is a RefSource that always returns its value.
type fixedRef uint16

func (r fixedRef) NextRef() uint16 { return uint16(r) }

func TestSplitTextSingleSegment(t *testing.T) {
	for _, mode := range []SplitMode{SplitUDH, SplitUDH16, SplitSAR} {
		segs, err := SplitText("Hello €", CodingDefault, SplitOptions{Mode: mode})
		if err != nil {
			t.Fatalf("mode %d: %v", mode, err)
		}
		if len(segs) != 1 {
			t.Fatalf("mode %d: %d segments, want 1", mode, len(segs))
		}
		s := segs[0]
		if s.UDHI || s.Part != (ConcatInfo{}) {
			t.Errorf("mode %d: single segment has UDHI %v, part %+v", mode, s.UDHI, s.Part)
		}
		if want := []byte{'H', 'e', 'l', 'l', 'o', ' ', 0x1B, 0x65}; !bytes.Equal(s.Data, want) {
			t.Errorf("mode %d: data % x, want % x", mode, s.Data, want)
		}
	}
}

func TestSplitTextUDH(t *testing.T) {
	text := strings.Repeat("a", 160) + "b"
	segs, err := SplitText(text, CodingDefault, SplitOptions{Refs: fixedRef(0x1234)})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	for i, s := range segs {
		want := []byte{0x05, 0x00, 0x03, 0x34, 0x02, byte(i + 1)}
		if !bytes.Equal(s.Data[:6], want) {
			t.Errorf("segment %d header % x, want % x", i+1, s.Data[:6], want)
		}
		if !s.UDHI {
			t.Errorf("segment %d: UDHI not set", i+1)
		}
		if s.Part != (ConcatInfo{Ref: 0x34, Total: 2, Seq: uint8(i + 1)}) {
			t.Errorf("segment %d part %+v", i+1, s.Part)
		}
	}
	if string(segs[1].Data[6:]) != "aaaaaaab" {
		t.Errorf("second body %q, want %q", segs[1].Data[6:], "aaaaaaab")
	}
}

func TestSplitTextUDH16(t *testing.T) {
	segs, err := SplitText(strings.Repeat("ж", 71), CodingUCS2,
		SplitOptions{Mode: SplitUDH16, Refs: fixedRef(0x1234)})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	want := []byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01}
	if !bytes.Equal(segs[0].Data[:7], want) {
		t.Errorf("header % x, want % x", segs[0].Data[:7], want)
	}
	if len(segs[0].Data) != 7+132 || len(segs[1].Data) != 7+10 {
		t.Errorf("segment sizes %d and %d, want 139 and 17", len(segs[0].Data), len(segs[1].Data))
	}
}

func TestSplitTextSAR(t *testing.T) {
	text := strings.Repeat("x", 152) + strings.Repeat("y", 9)
	segs, err := SplitText(text, CodingDefault, SplitOptions{Mode: SplitSAR, Refs: fixedRef(0xBEEF)})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	for i, s := range segs {
		if s.UDHI {
			t.Errorf("segment %d has UDHI set in SAR mode", i+1)
		}
		if s.Part != (ConcatInfo{Ref: 0xBEEF, Total: 2, Seq: uint8(i + 1)}) {
			t.Errorf("segment %d part %+v", i+1, s.Part)
		}
	}
	if string(segs[0].Data) != strings.Repeat("x", 152) || string(segs[1].Data) != strings.Repeat("y", 9) {
		t.Errorf("bodies %q / %q", segs[0].Data, segs[1].Data)
	}
}

func TestSplitTextPayload(t *testing.T) {
	text := strings.Repeat("ж", 500)
	segs, err := SplitText(text, CodingUCS2, SplitOptions{Mode: SplitPayload})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || len(segs[0].Data) != 1000 || segs[0].UDHI {
		t.Fatalf("payload split = %d segments, %d octets", len(segs), len(segs[0].Data))
	}
	_, err = SplitText(strings.Repeat("ж", MaxPayloadOctets/2+1), CodingUCS2,
		SplitOptions{Mode: SplitPayload})
	if !errors.Is(err, ErrTooManySegments) {
		t.Errorf("oversized payload error = %v, want ErrTooManySegments", err)
	}
}

func TestSplitTextPackedUDH(t *testing.T) {
	text := strings.Repeat("Hello world ", 20)
	opts := SplitOptions{Text: TextOptions{Packed: true}, Refs: fixedRef(7)}
	segs, err := SplitText(text, CodingDefault, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 {
		t.Fatalf("segments = %d, want 2", len(segs))
	}
	if len(segs[0].Data) != maxUserDataOctets {
		t.Errorf("first packed segment = %d octets, want 140", len(segs[0].Data))
	}
	joined := ""
	for _, s := range segs {
		ud, err := ParseUserData(CodingDefault, s.Data, true, opts.Text)
		if err != nil {
			t.Fatal(err)
		}
		part, ok := ud.Header.Concat()
		if !ok || part != s.Part {
			t.Errorf("header concat %+v, %v; want %+v", part, ok, s.Part)
		}
		piece, err := ud.Text(CodingDefault, opts.Text)
		if err != nil {
			t.Fatal(err)
		}
		joined += piece
	}
	if joined != text {
		t.Errorf("packed segments decode to %q, want %q", joined, text)
	}
}

func TestSplitTextErrors(t *testing.T) {
	_, err := SplitText(strings.Repeat("a", 161), CodingDefault, SplitOptions{})
	if !errors.Is(err, ErrNoRefSource) {
		t.Errorf("missing refs error = %v, want ErrNoRefSource", err)
	}
	_, err = SplitText(strings.Repeat("a", 153*255+1), CodingDefault, SplitOptions{Refs: &RefCounter{}})
	if !errors.Is(err, ErrTooManySegments) {
		t.Errorf("256 segments error = %v, want ErrTooManySegments", err)
	}
	if _, err := SplitText(strings.Repeat("a", 153*255), CodingDefault, SplitOptions{Refs: &RefCounter{}}); err != nil {
		t.Errorf("255 segments: %v", err)
	}
	var ee *TextEncodeError
	_, err = SplitText("Привет", CodingDefault, SplitOptions{})
	if !errors.As(err, &ee) || len(ee.Chars) != 6 {
		t.Errorf("unencodable error = %v, want *TextEncodeError listing 6 characters", err)
	}
	_, err = SplitText("x", CodingJIS, SplitOptions{})
	if !errors.Is(err, ErrUnsupportedCoding) {
		t.Errorf("JIS error = %v, want ErrUnsupportedCoding", err)
	}
}

func TestSplitDefaultLatin1UsesSeptetLimits(t *testing.T) {
	opts := SplitOptions{Text: TextOptions{Default: DefaultLatin1}, Refs: &RefCounter{}}
	segs, err := SplitText(strings.Repeat("é", 160), CodingDefault, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || len(segs[0].Data) != 160 || segs[0].Data[0] != 0xE9 {
		t.Errorf("160 Latin-1 characters: %d segments of %d octets", len(segs), len(segs[0].Data))
	}
}

func TestRefCounter(t *testing.T) {
	var c RefCounter
	if a, b := c.NextRef(), c.NextRef(); a != 1 || b != 2 {
		t.Errorf("refs %d, %d; want 1, 2", a, b)
	}
}

func ExampleSplitText() {
	var refs RefCounter
	text := strings.Repeat("Your order has shipped. ", 8)
	segs, err := SplitText(text, CodingDefault, SplitOptions{Mode: SplitUDH, Refs: &refs})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range segs {
		fmt.Printf("part %d/%d ref %d: %d octets, header % x\n",
			s.Part.Seq, s.Part.Total, s.Part.Ref, len(s.Data), s.Data[:6])
	}
	// Output:
	// part 1/2 ref 1: 159 octets, header 05 00 03 01 02 01
	// part 2/2 ref 1: 45 octets, header 05 00 03 01 02 02
}

var updateTextGolden = flag.Bool("update-text", false, "rewrite the testdata/text golden files")

// TestSplitTextGolden compares SplitText output with testdata/text/*.hex,
// one line per segment. Run with -update-text to rewrite the files.
func TestSplitTextGolden(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		coding DataCoding
		opts   SplitOptions
	}{
		{"gsm-udh-extension-boundary", strings.Repeat("a", 152) + "€{x}" + strings.Repeat("Reply STOP. ", 15),
			CodingDefault, SplitOptions{Mode: SplitUDH, Refs: fixedRef(0x2A)}},
		{"gsm-packed-udh", strings.Repeat("Hello world ", 20),
			CodingDefault, SplitOptions{Mode: SplitUDH, Text: TextOptions{Packed: true}, Refs: fixedRef(7)}},
		{"ucs2-udh16-emoji-boundary", strings.Repeat("ж", 65) + "😀😀" + "Stop…",
			CodingUCS2, SplitOptions{Mode: SplitUDH16, Refs: fixedRef(0xBEEF)}},
		{"latin1-sar", strings.Repeat("Café ", 30),
			CodingLatin1, SplitOptions{Mode: SplitSAR, Refs: fixedRef(0x0102)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := SplitText(tt.text, tt.coding, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, s := range segs {
				fmt.Fprintf(&got, "%d/%d ref=%04x udhi=%t %x\n", s.Part.Seq, s.Part.Total, s.Part.Ref, s.UDHI, s.Data)
			}
			path := filepath.Join("testdata", "text", tt.name+".hex")
			if *updateTextGolden {
				if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-text to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("segments differ from %s\ngot:\n%s\nwant:\n%s", path, got.String(), want)
			}
		})
	}
}
