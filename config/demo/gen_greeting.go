//go:build ignore

// gen_greeting writes greeting.wav, the demo account's greeting: two soft
// notes (C5 then E5, one second each) at about -14 dBFS, faded in and out
// over 30 ms, as 8000 Hz 16-bit mono PCM. Run it from this directory with
// `go run gen_greeting.go`. The output is the same on every run.
package main

import (
	"bytes"
	"encoding/binary"
	"log"
	"math"
	"os"
)

const (
	sampleRate = 8000
	amplitude  = 0.2 * math.MaxInt16
	fadeLength = 0.030 // seconds
)

func main() {
	var pcm []int16
	for _, freq := range []float64{523.25, 659.25} {
		pcm = append(pcm, note(freq, 1.0)...)
	}
	if err := os.WriteFile("greeting.wav", encodeWAV(pcm), 0o644); err != nil {
		log.Fatal(err)
	}
}

// note returns a sine tone of the given frequency in Hz and length in
// seconds, with raised-cosine fades so that it starts and ends without a
// click.
func note(freq, seconds float64) []int16 {
	n := int(seconds * sampleRate)
	fade := int(fadeLength * sampleRate)
	out := make([]int16, n)
	for i := range out {
		gain := 1.0
		if i < fade {
			gain = 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(fade))
		} else if i >= n-fade {
			gain = 0.5 - 0.5*math.Cos(math.Pi*float64(n-1-i)/float64(fade))
		}
		v := amplitude * gain * math.Sin(2*math.Pi*freq*float64(i)/sampleRate)
		out[i] = int16(math.Round(v))
	}
	return out
}

// encodeWAV wraps samples in a canonical 44-byte RIFF/WAVE header.
func encodeWAV(pcm []int16) []byte {
	dataSize := uint32(2 * len(pcm))
	var b bytes.Buffer
	b.WriteString("RIFF")
	put(&b, 36+dataSize)
	b.WriteString("WAVEfmt ")
	put(&b, uint32(16))         // fmt chunk size
	put(&b, uint16(1))          // PCM
	put(&b, uint16(1))          // mono
	put(&b, uint32(sampleRate)) // samples per second
	put(&b, uint32(sampleRate*2))
	put(&b, uint16(2))  // block align
	put(&b, uint16(16)) // bits per sample
	b.WriteString("data")
	put(&b, dataSize)
	put(&b, pcm)
	return b.Bytes()
}

func put(b *bytes.Buffer, v any) {
	if err := binary.Write(b, binary.LittleEndian, v); err != nil {
		log.Fatal(err)
	}
}
