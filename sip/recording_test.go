package sip

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optgate/optgate/config"
)

func TestWAVHeaderReadByGreetingReader(t *testing.T) {
	// optgate's own greeting reader checks the format of what the
	// recorder writes: 8000 Hz 16-bit mono PCM.
	path := filepath.Join(t.TempDir(), "tone.wav")
	writeToneWAV(t, path, 250*time.Millisecond, 440, 8000)
	data, err := config.ReadGreeting(path)
	if err != nil {
		t.Fatalf("ReadGreeting: %v", err)
	}
	if got := binary.LittleEndian.Uint32(data[40:44]); got != 4000 {
		t.Errorf("data chunk size = %d, want 4000 bytes for 250 ms", got)
	}
}

func TestFinishWAVTrimsSilence(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "rec-*.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, wavHeaderSize)); err != nil {
		t.Fatal(err)
	}
	voice := tonePCM(time.Second, 440, 8000)
	silence := tonePCM(time.Second, 0, 0)
	if _, err := f.Write(append(voice, silence...)); err != nil {
		t.Fatal(err)
	}
	if err := finishWAV(f, int64(len(voice))); err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	if info.Size() != int64(wavHeaderSize+len(voice)) {
		t.Errorf("file is %d bytes, want %d", info.Size(), wavHeaderSize+len(voice))
	}
	if _, err := config.ReadGreeting(f.Name()); err != nil {
		t.Errorf("trimmed file is not a valid WAV file: %v", err)
	}
}

func TestRMS(t *testing.T) {
	if got := rms(tonePCM(20*time.Millisecond, 0, 0)); got != 0 {
		t.Errorf("rms(silence) = %v", got)
	}
	// A sine of amplitude A has an RMS of A/sqrt(2).
	if got := rms(tonePCM(20*time.Millisecond, 400, 8000)); got < 5600 || got > 5700 {
		t.Errorf("rms(sine 8000) = %v, want about 5657", got)
	}
	if got := rms(tonePCM(20*time.Millisecond, 400, 300)); got >= silenceRMS {
		t.Errorf("rms of a faint hum = %v, want below the silence level %d", got, silenceRMS)
	}
}

func TestSlogHandler(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	log := newSlogLogger(zap.New(core), zapcore.DebugLevel).With("caller", "Server").WithGroup("req")
	log.Error("failed to parse", "data", "MESSAGE sip:+12015550101", slog.Int("size", 42),
		slog.Group("via", "host", "127.0.0.1"))
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.DebugLevel {
		t.Errorf("level = %v, want debug: library errors are lowered to the ceiling", e.Level)
	}
	fields := e.ContextMap()
	if fields["caller"] != "Server" || fields["req.data"] != "MESSAGE sip:+12015550101" ||
		fields["req.size"] != int64(42) || fields["req.via.host"] != "127.0.0.1" {
		t.Errorf("fields = %v", fields)
	}

	quiet := newSlogLogger(zap.New(core).WithOptions(zap.IncreaseLevel(zapcore.InfoLevel)), zapcore.DebugLevel)
	if quiet.Enabled(context.Background(), slog.LevelError) {
		t.Error("an error record is enabled on a logger at info level, though it is written at debug level")
	}
}
