package smpp

import (
	"strings"
	"testing"
)

var (
	benchGSMText  = strings.Repeat("Your code is 123456. Reply STOP to opt out [€5]. ", 3)[:150]
	benchUCS2Text = strings.Repeat("Привет 😀 ", 7)
	benchLongText = strings.Repeat("Reply STOP to opt out of these messages. ", 15)
)

func BenchmarkEncodeGSM(b *testing.B) {
	b.SetBytes(int64(len(benchGSMText)))
	for b.Loop() {
		if _, err := EncodeGSM(benchGSMText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeGSM(b *testing.B) {
	septets, err := EncodeGSM(benchGSMText)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(septets)))
	for b.Loop() {
		if _, err := DecodeGSM(septets); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackSeptets(b *testing.B) {
	septets, err := EncodeGSM(benchGSMText)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(septets)))
	for b.Loop() {
		UnpackSeptets(PackSeptets(septets, 0), 0, -1)
	}
}

func BenchmarkCountSegments(b *testing.B) {
	for _, bc := range []struct{ name, text string }{
		{"gsm single", benchGSMText},
		{"gsm long", benchLongText},
		{"ucs2", benchUCS2Text},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				CountSegments(bc.text)
			}
		})
	}
}

func BenchmarkSplitText(b *testing.B) {
	opts := SplitOptions{Refs: &RefCounter{}}
	b.SetBytes(int64(len(benchLongText)))
	for b.Loop() {
		if _, err := SplitText(benchLongText, CodingDefault, opts); err != nil {
			b.Fatal(err)
		}
	}
}
