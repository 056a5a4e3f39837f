package config

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wavBytes builds a WAV file from chunks given as id and body pairs.
func wavBytes(chunks ...any) []byte {
	var body bytes.Buffer
	body.WriteString("WAVE")
	for i := 0; i+1 < len(chunks); i += 2 {
		id, data := chunks[i].(string), chunks[i+1].([]byte)
		body.WriteString(id)
		binary.Write(&body, binary.LittleEndian, uint32(len(data)))
		body.Write(data)
		if len(data)%2 == 1 {
			body.WriteByte(0)
		}
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

// setUint32 writes v little-endian at offset off of wav, as a corrupt or
// forged header would hold it, and returns wav.
func setUint32(wav []byte, off int, v uint32) []byte {
	binary.LittleEndian.PutUint32(wav[off:], v)
	return wav
}

func fmtChunk(format, channels uint16, rate uint32, bits uint16) []byte {
	var b bytes.Buffer
	block := channels * bits / 8
	for _, v := range []any{format, channels, rate, rate * uint32(block), block, bits} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

func TestCheckWAV(t *testing.T) {
	good := fmtChunk(1, 1, 8000, 16)
	samples := make([]byte, 16)
	tests := []struct {
		name string
		wav  []byte
		want string // "" for valid
	}{
		{"canonical", wavBytes("fmt ", good, "data", samples), ""},
		{"list chunk first", wavBytes("LIST", []byte("INFOabc"), "fmt ", good, "data", samples), ""},
		{"stereo", wavBytes("fmt ", fmtChunk(1, 2, 8000, 16), "data", samples), "2 channel(s)"},
		{"16 kHz", wavBytes("fmt ", fmtChunk(1, 1, 16000, 16), "data", samples), "16000 Hz"},
		{"8-bit", wavBytes("fmt ", fmtChunk(1, 1, 8000, 8), "data", samples), "8-bit"},
		{"mu-law", wavBytes("fmt ", fmtChunk(7, 1, 8000, 8), "data", samples), "format 7"},
		{"no data", wavBytes("fmt ", good), "no data chunk"},
		{"empty data", wavBytes("fmt ", good, "data", []byte{}), "no audio samples"},
		{"data first", wavBytes("data", samples, "fmt ", good), "before the fmt chunk"},
		{"no fmt", wavBytes("LIST", []byte("INFO")), "no fmt chunk"},
		{"short fmt", wavBytes("fmt ", good[:10], "data", samples), "invalid size 10"},
		{"truncated fmt", wavBytes("fmt ", good)[:30], "truncated"},
		{"text", []byte("hello, this is not audio"), "not a WAV file"},
		{"riff size past end", setUint32(wavBytes("fmt ", good, "data", samples), 4, 0xffffffff),
			"RIFF size 4294967295 exceeds"},
		{"data size past end", setUint32(wavBytes("fmt ", good, "data", samples), 40, 0x7fffffff),
			`"data" chunk size 2147483647 exceeds the 16 bytes left`},
		{"skipped chunk past end", setUint32(wavBytes("LIST", []byte("INFO"), "fmt ", good,
			"data", samples), 16, 1000), `"LIST" chunk size 1000 exceeds`},
		{"truncated data", wavBytes("fmt ", good, "data", samples)[:50], "RIFF size"},
		{"empty", nil, "not a WAV file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWAV(bytes.NewReader(tt.wav))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("valid WAV rejected: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("invalid WAV accepted, want error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestReadGreetingFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.wav")
	want := wavBytes("fmt ", fmtChunk(1, 1, 8000, 16), "data", make([]byte, 8))
	if err := os.WriteFile(good, want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadGreeting(good)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("ReadGreeting returned %d bytes, want the file's %d", len(got), len(want))
	}

	if _, err := ReadGreeting(filepath.Join(dir, "absent.wav")); !os.IsNotExist(err) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}
	// A header claiming about 2 GiB of samples with 100 bytes of them.
	forged := wavBytes("fmt ", fmtChunk(1, 1, 8000, 16), "data", make([]byte, 100))
	setUint32(forged, 4, 0xffffffff)
	setUint32(forged, 40, 0x7fffffff)
	forgedPath := filepath.Join(dir, "forged.wav")
	if err := os.WriteFile(forgedPath, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGreeting(forgedPath); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("forged sizes: got %v, want an error naming the size that exceeds the file", err)
	}
	if _, err := ReadGreeting("testdata/stereo.wav"); err == nil {
		t.Errorf("stereo file accepted")
	}
}
