package gateway

import (
	"context"
	"sync"
	"time"
)

// WindowDeliverer is a Deliverer that can have several items of a queue
// in flight at once, such as SMPP sessions with a window. The Dispatcher
// sends the items of a queue through Send in queue order, up to Window at
// a time, and acknowledges the ones the target accepted while later
// responses are still awaited (see windowAcker).
type WindowDeliverer interface {
	Deliverer
	// Window returns how many items may be in flight now. A value below
	// 2 makes the Dispatcher deliver one item at a time through Deliver.
	Window() int
	// Send hands item to its target and returns once it is sent, without
	// waiting for the target's response. Items sent one after another go
	// out in that order. The returned function waits for the response and
	// returns what Deliver would; the caller calls it exactly once. A
	// non-nil error means the item was not sent, classified as Deliver's.
	Send(ctx context.Context, item Item) (wait func() error, err error)
}

// windowTarget returns the target of queue when it can take more than one
// item at a time.
func (d *Dispatcher) windowTarget(queue string) (WindowDeliverer, bool) {
	target, ok := d.cfg.Targets.Target(queue)
	if !ok {
		return nil, false
	}
	wd, ok := target.(WindowDeliverer)
	if !ok || wd.Window() < 2 {
		return nil, false
	}
	return wd, true
}

// deliverWindow sends items in queue order with up to the target's window
// in flight. Accepted items leave the queue while the window runs, as
// windowAcker describes, so an item accepted early does not wait for the
// slowest response of its window before its removal starts. A failed item
// is dead-lettered or stays queued as deliver does, once every response
// of the window is in. After the first failure no further item is sent, so
// a retried item is sent again after at most a window of later items, and
// the worker backs off as afterAttempt describes. Items sent after it that
// the target accepted are acknowledged, not sent twice. deliverWindow
// returns the error of the first failure, or of an Ack, and whether the
// worker should back off.
func (d *Dispatcher) deliverWindow(ctx context.Context, queue string, target WindowDeliverer,
	items []Item) (bool, error) {
	acks := &windowAcker{d: d, ctx: ctx, queue: queue}
	errs := d.sendWindow(ctx, target, items, acks)
	wait, firstErr := acks.finish()
	for i, it := range items[:len(errs)] {
		if errs[i] == nil {
			continue
		}
		w, err := d.settleFailure(ctx, queue, it, errs[i])
		if err != nil && firstErr == nil {
			wait, firstErr = w, err
		}
	}
	return wait, firstErr
}

// Bounds of the wait of an accepted item for more responses to share its
// Ack.
const (
	minAckDelay = time.Millisecond
	maxAckDelay = 250 * time.Millisecond
)

// windowAcker removes the accepted items of one window from the queue
// while the window runs. Accepted items are acknowledged together once no
// response is awaited, or once the first of them has waited as long as the
// last Ack took, whichever comes first. An item may thus wait for about two
// Acks, but responses that arrive close together share one store commit
// (an fsync for the embedded store). Items accepted while an Ack runs go
// in the next one.
type windowAcker struct {
	d     *Dispatcher
	ctx   context.Context
	queue string
	wg    sync.WaitGroup

	mu       sync.Mutex
	pending  []uint64
	inFlight int
	running  bool
	timer    *time.Timer
	// wait and err are the outcome of the first Ack that failed.
	wait bool
	err  error
}

// sent counts an item that awaits its response.
func (a *windowAcker) sent() {
	a.mu.Lock()
	a.inFlight++
	a.mu.Unlock()
}

// answered records a response, and when the target accepted the item,
// schedules its Ack.
func (a *windowAcker) answered(it Item, accepted bool) {
	if accepted {
		a.d.cfg.Metrics.delivery(it.Kind, "delivered")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight--
	if accepted {
		a.pending = append(a.pending, it.Seq)
	}
	switch {
	case len(a.pending) == 0 || a.running:
		// A running Ack takes pending items when it ends.
	case a.inFlight == 0:
		a.start()
	case a.timer == nil:
		a.timer = time.AfterFunc(a.d.ackDelay(), a.expired)
	}
}

// expired starts the Ack of the pending items after their wait.
func (a *windowAcker) expired() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.timer = nil
	if len(a.pending) > 0 && !a.running {
		a.start()
	}
}

// start runs Acks until no item is pending. The caller holds mu.
func (a *windowAcker) start() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.running = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.mu.Lock()
		defer a.mu.Unlock()
		for len(a.pending) > 0 {
			seqs := a.pending
			a.pending = nil
			a.mu.Unlock()
			began := time.Now()
			wait, err := a.d.ack(a.ctx, a.queue, seqs...)
			a.d.lastAck.Store(int64(time.Since(began)))
			a.mu.Lock()
			if err != nil && a.err == nil {
				a.wait, a.err = wait, err
			}
		}
		a.running = false
	}()
}

// finish waits for the Acks, once every response is in, and returns the
// outcome of the first one that failed.
func (a *windowAcker) finish() (bool, error) {
	a.mu.Lock()
	if len(a.pending) > 0 && !a.running {
		a.start()
	}
	a.mu.Unlock()
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.wait, a.err
}

// ackDelay returns how long an accepted item waits for more responses to
// share its Ack: as long as the last Ack took, within bounds.
func (d *Dispatcher) ackDelay() time.Duration {
	return min(max(time.Duration(d.lastAck.Load()), minAckDelay), maxAckDelay)
}

// sendWindow sends items until one fails, with at most the target's
// window waiting for a response, and hands each response to acks. It
// returns once every response is in, with the outcome of each item it
// tried, in queue order, so the result may be shorter than items.
func (d *Dispatcher) sendWindow(ctx context.Context, target WindowDeliverer, items []Item,
	acks *windowAcker) []error {
	errs := make([]error, len(items))
	slots := make(chan struct{}, max(1, min(target.Window(), len(items))))
	var (
		mu     sync.Mutex
		failed bool
		wg     sync.WaitGroup
	)
	hasFailed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed
	}
	tried := 0
	for i, it := range items {
		slots <- struct{}{}
		if hasFailed() {
			<-slots
			break
		}
		tried = i + 1
		fresh := d.sent.mark(&it)
		dctx, cancel := context.WithTimeout(ctx, d.cfg.DeliverTimeout)
		acks.sent()
		wait, err := target.Send(dctx, it)
		if err != nil {
			cancel()
			<-slots
			acks.answered(it, false)
			if fresh {
				// Send reports that the item did not go out.
				d.sent.forget(it.Queue, it.Seq)
			}
			errs[i] = err
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := wait()
			cancel()
			<-slots
			if err != nil {
				mu.Lock()
				errs[i], failed = err, true
				mu.Unlock()
			}
			acks.answered(it, err == nil)
		}()
	}
	wg.Wait()
	return errs[:tried]
}
