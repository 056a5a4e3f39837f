package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Deliverer hands one queued item to its target: the account's bound SMPP
// sessions, a webhook, or for ReplyQueue the carrier. Deliver returns nil
// when the target accepted the item. An error wrapping ErrPermanent means
// it never will, so the item is dead-lettered. An error wrapping
// ErrTargetUnavailable means nothing can take it now, such as when no
// session is bound. Any other error is retried later.
type Deliverer interface {
	Deliver(ctx context.Context, item Item) error
}

// DelivererFunc adapts a function to Deliverer.
type DelivererFunc func(ctx context.Context, item Item) error

// Deliver calls f.
func (f DelivererFunc) Deliver(ctx context.Context, item Item) error { return f(ctx, item) }

// Delivery outcomes a Deliverer reports with errors.
var (
	// ErrPermanent marks a delivery that can never succeed.
	ErrPermanent = errors.New("gateway: permanent delivery failure")
	// ErrTargetUnavailable marks a target that cannot take items now. The
	// queue waits until Dispatcher.TargetReady names it, or MaxBackoff.
	ErrTargetUnavailable = errors.New("gateway: delivery target unavailable")
)

// Permanent wraps err so that it matches ErrPermanent.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// Targets returns the Deliverer of a queue.
type Targets interface {
	Target(queue string) (Deliverer, bool)
}

// TargetFunc adapts a function to Targets.
type TargetFunc func(queue string) (Deliverer, bool)

// Target calls f.
func (f TargetFunc) Target(queue string) (Deliverer, bool) { return f(queue) }

// ReplyDeliverer sends the items of ReplyQueue through mt.SendReply.
// Outcomes that a retry cannot change are permanent.
func ReplyDeliverer(mt *MTService) Deliverer {
	return DelivererFunc(func(ctx context.Context, item Item) error {
		if item.Reply == nil {
			return Permanent(fmt.Errorf("item %d of %s is not a reply", item.Seq, item.Queue))
		}
		err := mt.SendReply(ctx, *item.Reply)
		if err == nil {
			return nil
		}
		if st := StatusOf(err); !st.Temporary {
			return Permanent(err)
		}
		return err
	})
}

// DispatcherConfig holds the dependencies and settings of a Dispatcher.
type DispatcherConfig struct {
	Queue   Queue
	Targets Targets
	Metrics *Metrics
	// Logger gets failed deliveries. Default zap.NewNop().
	Logger *zap.Logger
	// MinBackoff is the wait after the first failed delivery; each further
	// failure doubles it up to MaxBackoff. Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Batch is how many items a worker reads at once. Default 32.
	Batch int
	// DeliverTimeout bounds one Deliver call. Default 30s.
	DeliverTimeout time.Duration
	// Poll makes an idle worker read its queue again after this long,
	// for a Queue that other processes add items to, such as a
	// RedisStore shared by several instances. Default 0: an idle worker
	// waits for Notify or TargetReady.
	Poll time.Duration
}

// SharedQueue is a Queue whose queues several dispatchers read, each
// queue by one of them at a time. Release hands a queue and the items
// this dispatcher read but did not deliver to another dispatcher. The
// dispatcher calls it after every failed delivery that it retries later,
// so that an instance that can reach the target takes the queue over.
type SharedQueue interface {
	Queue
	Release(ctx context.Context, queue string) error
}

// Dispatcher drains each delivery queue in order, with one worker per
// queue, so a business gets its MO texts and receipts in arrival order.
// A failed item blocks its queue until it is delivered or dead-lettered.
// On a SharedQueue the dispatchers of several instances keep that order
// together, because the store lets one of them read a queue at a time.
type Dispatcher struct {
	cfg DispatcherConfig
	log *zap.Logger

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	workers map[string]*worker
	wg      sync.WaitGroup

	// sent marks items sent again by this process as possible resends.
	sent sentItems
	// lastAck is how long the last Ack of a window took, in nanoseconds.
	lastAck atomic.Int64
}

// worker is the state of one queue's goroutine.
type worker struct {
	queue string
	// items wakes a worker that waits for items; ready wakes it from any
	// wait and resets its back-off.
	items, ready chan struct{}
}

// NewDispatcher checks the dependencies and fills the defaults. It starts
// nothing.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Queue == nil || cfg.Targets == nil {
		return nil, errors.New("dispatcher: queue and targets are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Minute, cfg.MinBackoff)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.DeliverTimeout <= 0 {
		cfg.DeliverTimeout = 30 * time.Second
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger, workers: map[string]*worker{}}, nil
}

// Start starts a worker for every queue that holds items, and for the
// queues named. Workers run until Stop or until ctx ends.
func (d *Dispatcher) Start(ctx context.Context, queues ...string) error {
	d.mu.Lock()
	if d.ctx != nil {
		d.mu.Unlock()
		return errors.New("dispatcher: already started")
	}
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.mu.Unlock()
	for q := range d.cfg.Queue.Depths() {
		d.Notify(q)
	}
	for _, q := range queues {
		d.Notify(q)
	}
	return nil
}

// Stop stops the workers and waits for them, or until ctx ends. An item
// being delivered when Stop is called stays queued unless its target
// accepted it.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dispatcher: stop: %w", ctx.Err())
	}
}

// Notify signals the dispatcher that a queue got items. It starts the
// queue's worker if needed. A worker waiting after a failed delivery keeps
// waiting, so new items do not hammer a failing target.
func (d *Dispatcher) Notify(queue string) { d.wake(queue, false) }

// TargetReady signals the dispatcher that the target of a queue can take
// items again, for example because the account's ESME bound. The queue's
// worker stops waiting and tries at once.
func (d *Dispatcher) TargetReady(queue string) { d.wake(queue, true) }

func (d *Dispatcher) wake(queue string, ready bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.ctx.Err() != nil {
		return
	}
	w, ok := d.workers[queue]
	if !ok {
		w = &worker{queue: queue, items: make(chan struct{}, 1), ready: make(chan struct{}, 1)}
		d.workers[queue] = w
		d.wg.Add(1)
		go d.run(d.ctx, w)
	}
	signal(w.items)
	if ready {
		signal(w.ready)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run is the loop of one queue's worker.
func (d *Dispatcher) run(ctx context.Context, w *worker) {
	defer d.wg.Done()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		items, err := d.cfg.Queue.Peek(ctx, w.queue, d.cfg.Batch)
		if err != nil {
			d.log.Error("read delivery queue failed", zap.String("queue", w.queue), zap.Error(err))
			backoff = d.nextBackoff(backoff)
			d.waitRetry(ctx, w, backoff)
			continue
		}
		if len(items) == 0 {
			d.sent.forgetQueue(w.queue)
			d.waitItems(ctx, w)
			continue
		}
		if target, ok := d.windowTarget(w.queue); ok {
			wait, err := d.deliverWindow(ctx, w.queue, target, items)
			backoff = d.afterAttempt(ctx, w, backoff, wait, err)
			continue
		}
		for _, it := range items {
			wait, err := d.deliver(ctx, w.queue, it)
			backoff = d.afterAttempt(ctx, w, backoff, wait, err)
			if err != nil {
				break
			}
		}
	}
}

// afterAttempt waits as the outcome of a delivery requires and returns the
// next back-off: none after a success, until TargetReady or MaxBackoff
// when the target is unavailable, and a growing back-off after other
// failures that asked to wait.
func (d *Dispatcher) afterAttempt(ctx context.Context, w *worker, backoff time.Duration, wait bool,
	err error) time.Duration {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrTargetUnavailable):
		d.release(ctx, w.queue)
		d.waitRetry(ctx, w, d.cfg.MaxBackoff)
		return 0
	case wait:
		backoff = d.nextBackoff(backoff)
		// Another instance may reach the target, such as a carrier
		// this one is not bound to for a consent reply.
		d.release(ctx, w.queue)
		if d.waitRetry(ctx, w, backoff) {
			return 0
		}
	}
	return backoff
}

// deliver hands one item to its target and settles it in the queue. It
// returns a nil error when the item left the queue, and otherwise whether
// the worker should back off before the next try.
func (d *Dispatcher) deliver(ctx context.Context, queue string, it Item) (bool, error) {
	target, ok := d.cfg.Targets.Target(queue)
	var err error
	if !ok {
		err = fmt.Errorf("queue %s: %w", queue, ErrTargetUnavailable)
	} else {
		fresh := d.sent.mark(&it)
		dctx, cancel := context.WithTimeout(ctx, d.cfg.DeliverTimeout)
		err = target.Deliver(dctx, it)
		cancel()
		if fresh && errors.Is(err, ErrTargetUnavailable) {
			// Nothing could take the item, so it did not go out.
			d.sent.forget(queue, it.Seq)
		}
	}
	if err == nil {
		d.cfg.Metrics.delivery(it.Kind, "delivered")
		return d.ack(ctx, queue, it.Seq)
	}
	return d.settleFailure(ctx, queue, it, err)
}

// ack removes delivered items from their queue in one step. It returns
// a nil error when they left the queue, and otherwise that the worker
// should back off.
func (d *Dispatcher) ack(ctx context.Context, queue string, seqs ...uint64) (bool, error) {
	// The target has the items, so the Ack must outlive a Stop that
	// cancels ctx; a lost Ack means a duplicate later.
	ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.DeliverTimeout)
	err := d.cfg.Queue.Ack(ackCtx, queue, seqs...)
	cancel()
	if err != nil {
		// NOTE: the target has the items, and they are delivered again
		// after the retry, so targets see duplicates in this case.
		d.log.Error("ack delivered items failed", zap.String("queue", queue),
			zap.Uint64s("seqs", seqs), zap.Error(err))
		return true, err
	}
	d.sent.forget(queue, seqs...)
	return false, nil
}

// settleFailure dead-letters an item whose delivery failed for good, or
// counts and logs a failure to retry. It returns a nil error when the
// item left the queue, and otherwise whether the worker should back off.
func (d *Dispatcher) settleFailure(ctx context.Context, queue string, it Item, err error) (bool, error) {
	switch {
	case errors.Is(err, ErrPermanent):
		d.cfg.Metrics.delivery(it.Kind, "dead_letter")
		d.log.Warn("item cannot be delivered, moved to dead letters",
			zap.String("queue", queue),
			zap.Uint64("seq", it.Seq),
			zap.Stringer("kind", it.Kind),
			zap.Error(err))
		if dlErr := d.cfg.Queue.DeadLetter(ctx, queue, it.Seq, err.Error()); dlErr != nil {
			d.log.Error("dead-letter item failed", zap.String("queue", queue), zap.Uint64("seq", it.Seq), zap.Error(dlErr))
			return true, dlErr
		}
		d.sent.forget(queue, it.Seq)
		return false, nil
	case errors.Is(err, ErrTargetUnavailable):
		d.cfg.Metrics.delivery(it.Kind, "unavailable")
		if ce := d.log.Check(zap.DebugLevel, "delivery target unavailable"); ce != nil {
			ce.Write(zap.String("queue", queue), zap.Error(err))
		}
		return true, err
	}
	d.cfg.Metrics.delivery(it.Kind, "retry")
	d.log.Info("delivery failed, retrying later",
		zap.String("queue", queue),
		zap.Uint64("seq", it.Seq),
		zap.Stringer("kind", it.Kind),
		zap.Error(err))
	return true, err
}

// waitItems waits for Notify, TargetReady, Poll or the end of ctx.
func (d *Dispatcher) waitItems(ctx context.Context, w *worker) {
	var poll <-chan time.Time
	if d.cfg.Poll > 0 {
		t := time.NewTimer(d.cfg.Poll)
		defer t.Stop()
		poll = t.C
	}
	select {
	case <-ctx.Done():
	case <-w.items:
	case <-w.ready:
	case <-poll:
	}
}

// release lets another dispatcher of a shared queue take the queue over.
func (d *Dispatcher) release(ctx context.Context, queue string) {
	shared, ok := d.cfg.Queue.(SharedQueue)
	if !ok {
		return
	}
	if err := shared.Release(ctx, queue); err != nil && ctx.Err() == nil {
		d.log.Warn("release shared queue failed", zap.String("queue", queue), zap.Error(err))
	}
}

func (d *Dispatcher) nextBackoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return d.cfg.MinBackoff
	}
	return min(2*prev, d.cfg.MaxBackoff)
}

// waitRetry waits for wait, TargetReady or the end of ctx. It reports
// whether TargetReady ended the wait.
func (d *Dispatcher) waitRetry(ctx context.Context, w *worker, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-w.ready:
		return true
	}
	return false
}
