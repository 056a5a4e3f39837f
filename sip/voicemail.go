package sip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Voicemail describes one recorded voicemail.
type Voicemail struct {
	// ID is optgate's id of the voicemail, 16 lowercase hex digits.
	ID      string `json:"id"`
	Account string `json:"account"`
	// From is the caller and To the toll-free number called, in E.164
	// form when the caller's number is a phone number.
	From string `json:"from"`
	To   string `json:"to"`
	// CallID is the Call-ID of the call.
	CallID string `json:"call_id"`
	// Received is when the recording started.
	Received time.Time `json:"received"`
	// Duration is the length of the audio.
	Duration time.Duration `json:"duration"`
	// Size is the size of the WAV file in bytes.
	Size int64 `json:"size"`
}

// ErrVoicemailNotFound is returned for an id the account has no
// voicemail with.
var ErrVoicemailNotFound = errors.New("sip: voicemail not found")

// VoicemailStore keeps voicemails: a WAV file, 8000 Hz 16-bit mono PCM,
// and its description. Implementations must be safe for concurrent use.
type VoicemailStore interface {
	// Save stores vm with the WAV file read from wav, and sets its Size.
	Save(ctx context.Context, vm Voicemail, wav io.Reader) error
	// List returns the account's voicemails, newest first.
	List(ctx context.Context, account string) ([]Voicemail, error)
	// Open returns the description and WAV file of one voicemail, or
	// ErrVoicemailNotFound. The caller closes the file.
	Open(ctx context.Context, account, id string) (Voicemail, io.ReadSeekCloser, error)
	// Delete removes one voicemail, or returns ErrVoicemailNotFound.
	Delete(ctx context.Context, account, id string) error
	// Accounts returns the accounts that have voicemails, for the
	// operator's listing of every account.
	Accounts(ctx context.Context) ([]string, error)
}

// voicemailID matches the ids optgate issues, and so keeps ids from
// requests out of path names.
var voicemailID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// accountDir matches configuration account ids: lowercase letters,
// digits, '-' and '_', at most 64 characters.
var accountDir = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// FileVoicemails is a VoicemailStore in a directory, with one
// subdirectory per account holding ID.wav and ID.json. The JSON file is
// written last, through a rename, so a listed voicemail is complete.
type FileVoicemails struct {
	dir  string
	keep Retention
	now  func() time.Time
}

// Retention limits the voicemails a FileVoicemails keeps. Save applies
// the count to the account it saved for, and Prune applies both limits
// to every account.
type Retention struct {
	// MaxAge deletes voicemails received longer ago. Zero keeps them
	// regardless of age.
	MaxAge time.Duration
	// MaxCount is the maximum number of voicemails kept per account. The
	// oldest beyond it are deleted, and zero sets no limit.
	MaxCount int
}

// NewFileVoicemails returns the store in dir, such as ./data/voicemail,
// creating the directory when it is missing. It keeps voicemails within
// keep, and the zero Retention keeps all of them.
func NewFileVoicemails(dir string, keep Retention) (*FileVoicemails, error) {
	if keep.MaxAge < 0 || keep.MaxCount < 0 {
		return nil, fmt.Errorf("voicemail store: negative retention %+v", keep)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("voicemail store: %w", err)
	}
	return &FileVoicemails{dir: dir, keep: keep, now: time.Now}, nil
}

// Save implements VoicemailStore.
func (f *FileVoicemails) Save(ctx context.Context, vm Voicemail, wav io.Reader) error {
	if !voicemailID.MatchString(vm.ID) || !accountDir.MatchString(vm.Account) {
		return fmt.Errorf("voicemail store: invalid id %q or account %q", vm.ID, vm.Account)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(f.dir, vm.Account)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	size, err := writeFileAtomic(filepath.Join(dir, vm.ID+".wav"), wav)
	if err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	vm.Size = size
	meta, err := json.MarshalIndent(vm, "", "  ")
	if err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	if _, err := writeFileAtomic(filepath.Join(dir, vm.ID+".json"), strings.NewReader(string(meta)+"\n")); err != nil {
		_ = os.Remove(filepath.Join(dir, vm.ID+".wav"))
		return fmt.Errorf("voicemail store: %w", err)
	}
	if f.keep.MaxCount > 0 {
		if _, err := f.pruneAccount(ctx, vm.Account, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes r to a temporary file beside path, syncs it and
// renames it to path.
func writeFileAtomic(path string, r io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, err
	}
	return n, nil
}

// List implements VoicemailStore.
func (f *FileVoicemails) List(ctx context.Context, account string) ([]Voicemail, error) {
	if !accountDir.MatchString(account) {
		return nil, nil
	}
	entries, err := os.ReadDir(filepath.Join(f.dir, account))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("voicemail store: %w", err)
	}
	var out []Voicemail
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !voicemailID.MatchString(id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vm, err := f.read(account, id)
		if errors.Is(err, ErrVoicemailNotFound) {
			// Deleted since the directory was read.
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, vm)
	}
	slices.SortFunc(out, func(a, b Voicemail) int {
		if c := b.Received.Compare(a.Received); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (f *FileVoicemails) read(account, id string) (Voicemail, error) {
	data, err := os.ReadFile(filepath.Join(f.dir, account, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return Voicemail{}, ErrVoicemailNotFound
	}
	if err != nil {
		return Voicemail{}, fmt.Errorf("voicemail store: %w", err)
	}
	var vm Voicemail
	if err := json.Unmarshal(data, &vm); err != nil {
		return Voicemail{}, fmt.Errorf("voicemail store: %s/%s.json: %w", account, id, err)
	}
	return vm, nil
}

// Open implements VoicemailStore.
func (f *FileVoicemails) Open(_ context.Context, account, id string) (Voicemail, io.ReadSeekCloser, error) {
	if !accountDir.MatchString(account) || !voicemailID.MatchString(id) {
		return Voicemail{}, nil, ErrVoicemailNotFound
	}
	vm, err := f.read(account, id)
	if err != nil {
		return Voicemail{}, nil, err
	}
	file, err := os.Open(filepath.Join(f.dir, account, id+".wav"))
	if errors.Is(err, os.ErrNotExist) {
		return Voicemail{}, nil, ErrVoicemailNotFound
	}
	if err != nil {
		return Voicemail{}, nil, fmt.Errorf("voicemail store: %w", err)
	}
	return vm, file, nil
}

// Delete implements VoicemailStore. The description goes first, so a
// voicemail half deleted is no longer listed.
func (f *FileVoicemails) Delete(_ context.Context, account, id string) error {
	if !accountDir.MatchString(account) || !voicemailID.MatchString(id) {
		return ErrVoicemailNotFound
	}
	base := filepath.Join(f.dir, account, id)
	err := os.Remove(base + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return ErrVoicemailNotFound
	}
	if err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	if err := os.Remove(base + ".wav"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("voicemail store: %w", err)
	}
	return nil
}

// Accounts implements VoicemailStore: the account subdirectories.
func (f *FileVoicemails) Accounts(_ context.Context) ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("voicemail store: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && accountDir.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Prune deletes, in every account, the voicemails beyond the retention
// limits, and returns how many it deleted.
func (f *FileVoicemails) Prune(ctx context.Context) (int, error) {
	if f.keep == (Retention{}) {
		return 0, nil
	}
	accounts, err := f.Accounts(ctx)
	if err != nil {
		return 0, err
	}
	var cutoff time.Time
	if f.keep.MaxAge > 0 {
		cutoff = f.now().Add(-f.keep.MaxAge)
	}
	total := 0
	for _, account := range accounts {
		n, err := f.pruneAccount(ctx, account, cutoff)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneAccount deletes the account's voicemails received before cutoff
// (none for the zero time) and the oldest beyond MaxCount.
func (f *FileVoicemails) pruneAccount(ctx context.Context, account string, cutoff time.Time) (int, error) {
	vms, err := f.List(ctx, account)
	if err != nil {
		return 0, err
	}
	deleted := 0
	// List returns the newest first.
	for i, vm := range vms {
		tooMany := f.keep.MaxCount > 0 && i >= f.keep.MaxCount
		if !tooMany && (cutoff.IsZero() || !vm.Received.Before(cutoff)) {
			continue
		}
		if err := f.Delete(ctx, account, vm.ID); err != nil && !errors.Is(err, ErrVoicemailNotFound) {
			return deleted, err
		}
		deleted++
	}
	return deleted, nil
}
