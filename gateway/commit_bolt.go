package gateway

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxCommitGroup bounds the writes that share one transaction, so that a
// long queue is committed in several transactions of bounded size.
const maxCommitGroup = 1000

// errLeadGroup signals a waiting write that its goroutine commits the next
// group. It never leaves groupCommit.
var errLeadGroup = errors.New("gateway: lead the next commit group")

// groupCommit runs write transactions in groups that share one commit and
// its fsync. A write that finds no commit running commits at once, and the
// writes that arrive during a commit form the next group. bbolt's own
// Batch (v1.5.0) differs: it holds every group for MaxBatchDelay before
// committing, and that delay adds to the latency of each write when few
// writers run.
//
// No goroutine of its own runs the commits: the goroutine of the first
// write of a group commits it, then hands the lead to the oldest waiting
// write, so every caller returns as soon as its own group is durable.
type groupCommit struct {
	db *bolt.DB

	mu      sync.Mutex
	waiting []*groupWrite
	leading bool // a goroutine is committing a group
}

// groupWrite is one write waiting in a groupCommit.
type groupWrite struct {
	fn func(*bolt.Tx) error
	// done receives the write's result, after errLeadGroup when the write
	// is handed the lead. The write reads errLeadGroup before it commits a
	// group, so done holds at most one value at a time and its one
	// buffered slot never blocks a sender.
	done chan error
}

// run runs fn in a write transaction shared with the writes queued at the
// same time, and returns once that transaction is committed and fsynced.
// When fn fails, the transaction is rolled back, fn runs again alone to
// report its own error, and the other writes run again without it. So fn
// may run more than once and must reset whatever it records outside the
// transaction.
func (g *groupCommit) run(fn func(*bolt.Tx) error) error {
	w := &groupWrite{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, w)
	if g.leading {
		g.mu.Unlock()
		if err := <-w.done; err != errLeadGroup {
			return err
		}
		g.mu.Lock()
	}
	g.leading = true
	n := min(len(g.waiting), maxCommitGroup)
	group := g.waiting[:n:n]
	g.waiting = g.waiting[n:]
	g.mu.Unlock()

	// group holds w: a new leader is always the oldest waiting write.
	g.commit(group)

	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].done <- errLeadGroup
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return <-w.done
}

// commit runs the writes of group in one transaction and sends each its
// result.
func (g *groupCommit) commit(group []*groupWrite) {
	for len(group) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, w := range group {
				if err := callWrite(w.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, w := range group {
				w.done <- err
			}
			return
		}

		// The failure rolled back the whole group. The failed write runs
		// alone so that the error it gets is its own.
		w := group[failed]
		w.done <- g.db.Update(func(tx *bolt.Tx) error { return callWrite(w.fn, tx) })
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// callWrite runs fn and turns a panic into an error, so that one bad
// write fails alone instead of stopping the process with a group of
// callers waiting.
func callWrite(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write transaction panicked: %v", r)
		}
	}()
	return fn(tx)
}
