package sip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"go.uber.org/zap"

	"github.com/optgate/optgate/gateway"
)

// Voicemail audio: what optgate records, 8000 Hz 16-bit mono PCM, the
// G.711 sample rate and the greeting's format.
const (
	sampleRate     = 8000
	bytesPerSample = 2
	wavHeaderSize  = 44
	// silenceRMS is the RMS level, on the 16-bit scale, below which a
	// frame counts as silence: about -40 dBFS, under speech and over the
	// noise of a quiet line.
	silenceRMS = 320
	// silenceKept is how much of the silence that ended a voicemail stays
	// in the recording.
	silenceKept = 500 * time.Millisecond
)

// End reasons of a voicemail recording, for logs.
const (
	endCallEnded = "call_ended" // the caller hung up, or optgate is stopping
	endSilence   = "silence"
	endMaxLength = "max_duration"
	endFailed    = "failed"
)

// runCall plays the greeting and records the voicemail, if the number
// takes one. Audio is read by one goroutine for the whole call, so that
// key presses during the greeting are seen.
func (s *Server) runCall(ctx context.Context, c *call, med *diago.DialogMedia, number *tollFree, greeting []byte) {
	codec := media.CodecAudioFromSession(med.MediaSession())
	var reader io.Reader
	if dtmf, err := med.AudioReaderDTMF(); err == nil {
		dtmf.OnDTMF(func(key rune) error {
			s.keyPressed(c, key)
			return nil
		})
		reader = dtmf
	} else if reader, err = med.AudioReader(); err != nil {
		s.log.Warn("call audio not readable", zap.String("call_id", c.CallID), zap.Error(err))
		return
	}
	rec := &recorder{med: med, reader: reader, audioType: codec.PayloadType,
		silence: s.cfg.SilenceTimeout, maxLength: number.maxLength, pcm: make([]byte, 2*media.RTPBufSize)}
	if err := rec.decoder.Init(codec); err != nil {
		s.log.Warn("call codec not decodable", zap.String("call_id", c.CallID), zap.Error(err))
		return
	}
	// A read deadline in the past wakes the reader when the call ends.
	stop := context.AfterFunc(ctx, func() { _ = med.StopRTP(1, 0) })
	defer stop()
	done := make(chan recording, 1)
	go func() { done <- rec.run(ctx) }()

	err := play(med, greeting, "audio/wav")
	c.greeting.Store(false)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("greeting playback failed", zap.String("call_id", c.CallID), zap.Error(err))
	}
	if ctx.Err() == nil && number.voicemail {
		if beep, err := audio.BeepLoadPCM(codec); err == nil {
			_ = play(med, beep, "audio/pcm")
		}
		if err := rec.start(s.cfg.TempDir, s.deps.Now()); err != nil {
			s.log.Error("voicemail not recorded", zap.String("call_id", c.CallID), zap.Error(err))
		}
	}
	if rec.file.Load() == nil {
		c.cancel()
	}
	result := <-done
	s.saveVoicemail(c, number, result)
}

// play sends audio to the caller and returns when it was sent.
func play(med *diago.DialogMedia, data []byte, mimeType string) error {
	pb, err := med.PlaybackCreate()
	if err != nil {
		return err
	}
	_, err = pb.Play(bytes.NewReader(data), mimeType)
	return err
}

// recording is the outcome of a voicemail recording.
type recording struct {
	file    *os.File // nil when nothing was recorded
	started time.Time
	length  time.Duration
	voiced  bool
	reason  string
	err     error
}

// recorder reads a call's audio. Once start is called it decodes the
// G.711 frames to 16-bit PCM into a WAV file until the caller hangs up,
// is silent for the silence timeout, or the maximum length is reached.
type recorder struct {
	med       *diago.DialogMedia
	reader    io.Reader
	audioType uint8
	decoder   audio.PCMDecoder
	silence   time.Duration
	maxLength time.Duration
	pcm       []byte // decoded audio of one frame

	// file is set by start and read by run, on another goroutine. start
	// sets started before file, so run reads it once file is set.
	file    atomic.Pointer[os.File]
	started time.Time
}

// start creates the recording file in dir and arms the silence timeout.
func (r *recorder) start(dir string, now time.Time) error {
	f, err := os.CreateTemp(dir, "optgate-voicemail-*.wav")
	if err != nil {
		return fmt.Errorf("create recording file: %w", err)
	}
	if _, err := f.Write(make([]byte, wavHeaderSize)); err != nil {
		discard(f)
		return fmt.Errorf("write recording file: %w", err)
	}
	r.started = now
	// A caller who never speaks sends no voice: the deadline ends the
	// recording even when no packet arrives at all.
	_ = r.med.StopRTP(1, r.silence)
	r.file.Store(f)
	return nil
}

// run reads audio until the call or the recording ends.
func (r *recorder) run(ctx context.Context) recording {
	buf := make([]byte, media.RTPBufSize)
	var p progress
	for p.reason == "" {
		f := r.file.Load()
		if f != nil && ctx.Err() == nil {
			_ = r.med.StopRTP(1, r.silence)
		}
		n, err := r.reader.Read(buf)
		if err != nil {
			p.reason = readEnd(ctx, err, f != nil)
			continue
		}
		if f != nil && r.med.RTPPacketReader.PacketHeader.PayloadType == r.audioType {
			r.write(f, buf[:n], &p)
		}
	}

	f := r.file.Load()
	if f == nil {
		return recording{reason: p.reason}
	}
	keep := min(p.written, p.keep+int64(silenceKept/time.Millisecond)*sampleRate/1000*bytesPerSample)
	if p.reason == endCallEnded {
		// The caller ended the message by hanging up: keep everything.
		keep = p.written
	}
	out := recording{file: f, started: r.started, length: pcmLength(keep), voiced: p.voiced,
		reason: p.reason, err: p.err}
	if err := finishWAV(f, keep); err != nil && out.err == nil {
		out.err = err
	}
	return out
}

// progress is the state of a recording while audio is read.
type progress struct {
	written, keep int64 // PCM bytes written, and to keep
	silent        time.Duration
	voiced        bool
	reason        string // the end reason, or "" while the recording runs
	err           error
}

// readEnd returns why a failed read ends the recording, or "" when it
// does not: a read deadline before the recording started is spurious.
func readEnd(ctx context.Context, err error, recording bool) string {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return endCallEnded
	case errors.As(err, &ne) && ne.Timeout() && !recording:
		return ""
	case errors.As(err, &ne) && ne.Timeout():
		return endSilence
	}
	return endCallEnded
}

// write decodes one frame into the recording and ends it on silence or
// at the maximum length.
func (r *recorder) write(f *os.File, frame []byte, p *progress) {
	m, err := r.decoder.DecoderTo(r.pcm, frame)
	if err != nil {
		return
	}
	if _, err := f.Write(r.pcm[:m]); err != nil {
		p.err, p.reason = fmt.Errorf("write recording: %w", err), endFailed
		return
	}
	p.written += int64(m)
	if rms(r.pcm[:m]) < silenceRMS {
		p.silent += pcmLength(int64(m))
	} else {
		p.silent, p.voiced, p.keep = 0, true, p.written
	}
	switch {
	case p.silent >= r.silence:
		p.reason = endSilence
	case pcmLength(p.written) >= r.maxLength:
		p.keep, p.reason = p.written, endMaxLength
	}
}

func pcmLength(bytes int64) time.Duration {
	return time.Duration(bytes/bytesPerSample) * time.Second / sampleRate
}

// rms returns the root mean square of 16-bit little-endian samples.
func rms(pcm []byte) float64 {
	n := len(pcm) / bytesPerSample
	if n == 0 {
		return 0
	}
	var sum float64
	for i := 0; i < n; i++ {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
		sum += v * v
	}
	return math.Sqrt(sum / float64(n))
}

// finishWAV cuts the file to dataBytes of PCM after the header and writes
// the RIFF header for 8000 Hz 16-bit mono PCM.
func finishWAV(f *os.File, dataBytes int64) error {
	if err := f.Truncate(wavHeaderSize + dataBytes); err != nil {
		return fmt.Errorf("truncate recording: %w", err)
	}
	if _, err := f.WriteAt(wavHeader(dataBytes), 0); err != nil {
		return fmt.Errorf("write recording header: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind recording: %w", err)
	}
	return nil
}

// wavHeader returns the canonical 44-byte header of a PCM WAV file with
// dataBytes of 8000 Hz 16-bit mono audio.
func wavHeader(dataBytes int64) []byte {
	h := make([]byte, wavHeaderSize)
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(36+dataBytes))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)                        // fmt chunk size
	le.PutUint16(h[20:], 1)                         // PCM
	le.PutUint16(h[22:], 1)                         // mono
	le.PutUint32(h[24:], sampleRate)                // sample rate
	le.PutUint32(h[28:], sampleRate*bytesPerSample) // byte rate
	le.PutUint16(h[32:], bytesPerSample)            // block align
	le.PutUint16(h[34:], 8*bytesPerSample)          // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(dataBytes))
	return h
}

// discard closes and removes a recording file.
func discard(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// saveVoicemail stores a finished recording. A recording without voice,
// such as a caller who hung up after the greeting, is dropped.
func (s *Server) saveVoicemail(c *call, number *tollFree, rec recording) {
	if rec.file == nil {
		return
	}
	defer discard(rec.file)
	fields := []zap.Field{zap.String("call_id", c.CallID), zap.String("account", c.Account),
		zap.String("reason", rec.reason), zap.Duration("length", rec.length)}
	switch {
	case rec.err != nil:
		s.log.Error("voicemail recording failed", append(fields, zap.Error(rec.err))...)
		return
	case !rec.voiced || rec.length <= 0:
		s.log.Debug("voicemail without voice dropped", fields...)
		return
	case s.deps.Voicemails == nil:
		s.log.Warn("voicemail dropped: no voicemail store configured", fields...)
		return
	}
	vm := Voicemail{
		ID: gateway.NewMessageID(), Account: c.Account, From: c.Caller, To: number.number,
		CallID: c.CallID, Received: rec.started, Duration: rec.length,
	}
	// The call is over, so the store gets its own deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.runCtx), s.cfg.RequestTimeout)
	defer cancel()
	if err := s.deps.Voicemails.Save(ctx, vm, rec.file); err != nil {
		s.log.Error("voicemail not stored", append(fields, zap.Error(err))...)
		return
	}
	s.metrics.voicemails.Inc()
	s.log.Info("voicemail stored", append(fields, zap.String("voicemail_id", vm.ID))...)
}
