package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

// SweeperConfig holds the dependencies and limits of a Sweeper.
type SweeperConfig struct {
	Store    Store
	MO       *MOService
	Receipts *ReceiptService
	Metrics  *Metrics
	// Logger gets sweep failures and what expired. Default zap.NewNop().
	Logger *zap.Logger
	// Interval is the time between sweeps. Default 30s.
	Interval time.Duration
	// ReassemblyTimeout is how long the segments of an MO text wait for
	// the missing ones, counted from the first. Default 10m.
	ReassemblyTimeout time.Duration
	// QueueRetention is how long an item waits for delivery before it is
	// dead-lettered. Default 7 days.
	QueueRetention time.Duration
	// QueueMaxItems bounds each delivery queue; the oldest items beyond it
	// are dead-lettered. Default 100000.
	QueueMaxItems int
	// DeadRetention is how long dead letters are kept. Default 30 days.
	DeadRetention time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Sweeper removes what expired from the Store at a fixed interval: id
// mappings, unmatched receipts, partial MO texts (forwarded as partial),
// and queue items past the retention limits.
type Sweeper struct {
	cfg    SweeperConfig
	log    *zap.Logger
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
}

// NewSweeper checks the dependencies and fills the defaults.
func NewSweeper(cfg SweeperConfig) (*Sweeper, error) {
	if cfg.Store == nil || cfg.MO == nil || cfg.Receipts == nil {
		return nil, errors.New("sweeper: store, mo and receipts are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.ReassemblyTimeout <= 0 {
		cfg.ReassemblyTimeout = 10 * time.Minute
	}
	if cfg.QueueRetention <= 0 {
		cfg.QueueRetention = 7 * 24 * time.Hour
	}
	if cfg.QueueMaxItems <= 0 {
		cfg.QueueMaxItems = 100000
	}
	if cfg.DeadRetention <= 0 {
		cfg.DeadRetention = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sweeper{cfg: cfg, log: cfg.Logger}, nil
}

// Start runs a sweep every Interval until Stop or the end of ctx.
func (s *Sweeper) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.SweepOnce(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("sweep failed", zap.Error(err))
				}
			}
		}
	}()
}

// Stop ends the sweeps and waits for a running one, or until ctx ends.
func (s *Sweeper) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SweepOnce runs one sweep.
func (s *Sweeper) SweepOnce(ctx context.Context) error {
	now := s.cfg.Now()
	res, err := s.cfg.Store.Sweep(ctx, SweepLimits{
		Now:         now,
		PartsBefore: now.Add(-s.cfg.ReassemblyTimeout),
		ItemsBefore: now.Add(-s.cfg.QueueRetention),
		MaxItems:    s.cfg.QueueMaxItems,
		DeadBefore:  now.Add(-s.cfg.DeadRetention),
	})
	if err != nil {
		return err
	}
	s.cfg.Receipts.expired(res.Unmatched)
	s.cfg.MO.expiredParts(ctx, res.Parts)
	for queue, n := range res.Dropped {
		s.cfg.Metrics.queueDropped(queue, n)
		s.log.Warn("undelivered items moved to dead letters by the retention limits",
			zap.String("queue", queue),
			zap.Int("count", n))
	}
	return nil
}
