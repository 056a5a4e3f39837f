package sip

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/gateway"
)

var _ gateway.SIPFrontEnd = (*Server)(nil)

// Directories under the daemon's data directory.
const (
	voicemailSubdir = "voicemail"
	greetingSubdir  = "greetings"
)

// pruneInterval is how often the server applies the voicemail retention
// limits.
const pruneInterval = time.Hour

// NewFrontEnd is the gateway.DaemonOptions.SIP factory: it builds the
// Server of the daemon's listeners.sip configuration. Voicemails go to
// DATA/voicemail under the retention limits of listeners.sip, uploaded
// greetings to DATA/greetings, where DATA is deps.DataDir.
func NewFrontEnd(deps gateway.SIPDeps) (gateway.SIPFrontEnd, error) {
	cfg := deps.Config
	voicemails, err := NewFileVoicemails(filepath.Join(deps.DataDir, voicemailSubdir), Retention{
		MaxAge:   cfg.Listeners.SIP.VoicemailMaxAge,
		MaxCount: cfg.Listeners.SIP.VoicemailMaxCount,
	})
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	return NewServer(Config{
		Listener:    cfg.Listeners.SIP,
		Accounts:    cfg.Accounts,
		MaskNumbers: cfg.Logging.MaskNumbers,
		GreetingDir: filepath.Join(deps.DataDir, greetingSubdir),
		MaxCalls:    cfg.Listeners.SIP.MaxCalls,
		MaxRequests: cfg.Listeners.SIP.MaxRequests,
		// 0 in the configuration allows no failure; Config reads 0 as
		// the default.
		DigestFailuresAllowed: cmp.Or(cfg.Listeners.SIP.DigestFailuresAllowed, -1),
		DigestLockout:         cfg.Listeners.SIP.DigestLockout,
		MaxDigestLockout:      cfg.Listeners.SIP.MaxDigestLockout,
	}, Deps{
		MT:         deps.MT,
		Voicemails: voicemails,
		Logger:     deps.Logger,
		Registerer: deps.Registerer,
	})
}

// UploadedGreeting implements gateway.SIPFrontEnd.
func (s *Server) UploadedGreeting(number string) (string, bool) {
	return s.greetings.Uploaded(number)
}

// pruner is a VoicemailStore with retention limits, such as
// FileVoicemails.
type pruner interface {
	Prune(ctx context.Context) (int, error)
}

// pruneVoicemails applies the store's retention limits at start and then
// every pruneInterval until the server stops.
func (s *Server) pruneVoicemails(ctx context.Context, p pruner) {
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	for {
		n, err := p.Prune(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("voicemail retention not applied", zap.Error(err))
		case n > 0:
			s.log.Info("old voicemails deleted", zap.Int("deleted", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
