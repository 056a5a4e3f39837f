package consent

import "testing"

func BenchmarkClassify(b *testing.B) {
	inputs := []struct{ name, text string }{
		{"keyword", "Stop"},
		{"short_mo", "Ok see you at 5pm"},
		{"phrase", "Please don't text me anymore"},
		{"ordinary_160", ordinary160},
		{"ucs2_keyword", "Stop\u2026"},
		{"ucs2_ordinary", "Merci, à lundi \U0001F44D"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				Classify(in.text)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, in := range []struct{ name, text string }{
		{"ascii", "  Stop! \r\n"},
		{"unicode", "\u00a0\uff33\uff34\uff2f\uff30\u2026"},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(in.text)
			}
		})
	}
}
