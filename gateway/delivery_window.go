package gateway

import (
	"context"
	"sync"
)

// WindowDeliverer is a Deliverer that can have several items of a queue
// in flight at once, such as SMPP sessions with a window. The Dispatcher
// sends the items of a queue through Send in queue order, up to Window at
// a time, and acknowledges those the target accepted in one Queue.Ack.
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
// in flight, then settles them: the accepted ones leave the queue in one
// Ack, and each failed one is dead-lettered or stays queued as deliver
// does. After the first failure no further item is sent, so a retried
// item is sent again after at most a window of later items. Items sent
// after it that the target accepted are acknowledged, not sent twice.
// deliverWindow returns the error of the first failure, or of the Ack,
// and whether the worker should back off.
func (d *Dispatcher) deliverWindow(ctx context.Context, queue string, target WindowDeliverer,
	items []Item) (bool, error) {
	errs := d.sendWindow(ctx, target, items)

	var accepted []uint64
	for i, it := range items[:len(errs)] {
		if errs[i] == nil {
			d.cfg.Metrics.delivery(it.Kind, "delivered")
			accepted = append(accepted, it.Seq)
		}
	}
	wait, firstErr := false, error(nil)
	if len(accepted) > 0 {
		if w, err := d.ack(ctx, queue, accepted...); err != nil {
			wait, firstErr = w, err
		}
	}
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

// sendWindow sends items until one fails, with at most the target's
// window waiting for a response, and waits for every response. It returns the
// outcome of each item it tried, in queue order, so the result may be
// shorter than items.
func (d *Dispatcher) sendWindow(ctx context.Context, target WindowDeliverer, items []Item) []error {
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
		dctx, cancel := context.WithTimeout(ctx, d.cfg.DeliverTimeout)
		wait, err := target.Send(dctx, it)
		if err != nil {
			cancel()
			<-slots
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
		}()
	}
	wg.Wait()
	return errs[:tried]
}
