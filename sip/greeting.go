package sip

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/optgate/optgate/config"
)

// MaxGreetingUpload is the largest greeting file PUT
// /v1/numbers/{number}/greeting takes: 8 MiB, about 8 minutes and 40
// seconds of 8000 Hz 16-bit mono audio.
const MaxGreetingUpload = 8 << 20

// ErrGreetingsOff is returned by GreetingStore methods of a store without
// a directory.
var ErrGreetingsOff = errors.New("sip: no greeting directory configured")

// GreetingStore keeps the greetings uploaded over the HTTP API, one WAV
// file per toll-free number named after its E.164 digits, such as
// 18005550100.wav. An uploaded greeting takes precedence over the
// number's configured file. A GreetingStore with an empty directory
// keeps nothing.
type GreetingStore struct {
	dir string
}

// NewGreetingStore returns the store in dir, creating the directory when
// it is missing. An empty dir returns a store that keeps nothing.
func NewGreetingStore(dir string) (*GreetingStore, error) {
	if dir == "" {
		return &GreetingStore{}, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("greeting store: %w", err)
	}
	return &GreetingStore{dir: dir}, nil
}

// path returns the file of number's uploaded greeting. number is an E.164
// number from the directory, so its digits are safe in a file name.
func (g *GreetingStore) path(number string) string {
	return filepath.Join(g.dir, strings.TrimPrefix(number, "+")+".wav")
}

// Uploaded returns the file of the greeting uploaded for number, in E.164
// form, if there is one.
func (g *GreetingStore) Uploaded(number string) (string, bool) {
	if g == nil || g.dir == "" || !isE164(number) {
		return "", false
	}
	p := g.path(number)
	info, err := os.Stat(p)
	if err != nil || !info.Mode().IsRegular() {
		return "", false
	}
	return p, true
}

// Save checks wav with config.ReadGreeting and makes it number's greeting.
// The file is written beside its final name and renamed, so a call
// always reads a whole greeting. A *GreetingError reports a file that is
// not a greeting optgate can play.
func (g *GreetingStore) Save(number string, wav []byte) error {
	if g == nil || g.dir == "" {
		return ErrGreetingsOff
	}
	if !isE164(number) {
		return fmt.Errorf("greeting store: %q is not an E.164 number", number)
	}
	tmp, err := os.CreateTemp(g.dir, ".upload-*.wav")
	if err != nil {
		return fmt.Errorf("greeting store: %w", err)
	}
	_, err = tmp.Write(wav)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("greeting store: %w", err)
	}
	if _, err := config.ReadGreeting(tmp.Name()); err != nil {
		_ = os.Remove(tmp.Name())
		// ReadGreeting's error names the temporary file, which means
		// nothing to the uploader, so only the cause is reported.
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		return &GreetingError{Err: err}
	}
	if err := os.Rename(tmp.Name(), g.path(number)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("greeting store: %w", err)
	}
	return nil
}

// GreetingError is an uploaded greeting that optgate cannot play.
type GreetingError struct {
	Err error
}

func (e *GreetingError) Error() string { return "invalid greeting: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *GreetingError) Unwrap() error { return e.Err }

// isE164 reports whether n is "+" and 8 to 15 digits.
func isE164(n string) bool {
	digits, ok := strings.CutPrefix(n, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 {
		return false
	}
	return bytes.IndexFunc([]byte(digits), func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// greetingFile returns the greeting a call to number plays: the uploaded
// one, else the configured file, else "".
func (s *Server) greetingFile(number *tollFree) string {
	if p, ok := s.greetings.Uploaded(number.number); ok {
		return p
	}
	return number.greeting
}
