package gateway

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/optgate/optgate/smpp"
)

// DefaultStorePath is the gateway's bbolt file, kept apart from the
// consent store so that each can be backed up and moved on its own.
const DefaultStorePath = "./data/gateway.db"

// Buckets of the gateway file.
var (
	bucketMeta      = []byte("meta")
	bucketMessages  = []byte("messages")   // optgate id → encoded MessageRecord
	bucketExpiry    = []byte("expiry")     // expires (8 octets) + id → empty
	bucketCarrierID = []byte("carrier_id") // carrier NUL key → id NUL segment index
	bucketUnmatched = []byte("unmatched")  // carrier NUL key → unmatchedEntry JSON
	bucketAlias     = []byte("unmatched_alias")
	bucketQueues    = []byte("queues") // one bucket per queue: seq → Item JSON
	bucketDead      = []byte("dead")   // one bucket per queue: seq → deadItem JSON
	bucketParts     = []byte("parts")  // part key → partSet JSON
	keySchema       = []byte("schema")
)

const storeSchemaVersion = 1

// BoltStoreOptions configures OpenBoltStore. The zero value uses the
// defaults.
type BoltStoreOptions struct {
	// LockTimeout bounds the wait for the file lock, which bbolt holds for
	// one process. Default 1s.
	LockTimeout time.Duration
	// MaxUnmatched bounds the unmatched receipts kept; more are dropped
	// until some match or expire. Default 100000.
	MaxUnmatched int
}

// BoltStore is the embedded Store: one bbolt file, every change one
// transaction fsynced on commit. Concurrent changes share transactions
// through a group commit.
type BoltStore struct {
	db      *bolt.DB
	commits *groupCommit
	opts    BoltStoreOptions
	closed  atomic.Bool

	// startSeqs holds the last Seq of each queue when the file was
	// opened. A previous process may have delivered those items before it
	// stopped without its Ack being committed, so Peek marks them with
	// PossibleResend. It is not changed after open.
	startSeqs map[string]uint64

	mu        sync.Mutex
	depths    map[string]int
	unmatched int
}

var _ Store = (*BoltStore)(nil)

// OpenBoltStore opens or creates the gateway file at path, creating its
// directory when missing.
func OpenBoltStore(path string, opts BoltStoreOptions) (*BoltStore, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.MaxUnmatched <= 0 {
		opts.MaxUnmatched = 100000
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open gateway store %s: %w", path, err)
		}
	}

	// The sweep frees many pages of a busy store. With the freelist kept
	// out of the file, a commit does not rewrite the list of every free
	// page, and the map form finds free runs without scanning the list.
	// bbolt rebuilds the list from the file's pages when it opens it.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open gateway store %s: locked by another process (waited %s)", path, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open gateway store %s: %w", path, err)
	}

	s := &BoltStore{db: db, commits: &groupCommit{db: db}, opts: opts, depths: map[string]int{},
		startSeqs: map[string]uint64{}}
	if err := db.Update(initStoreSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open gateway store %s: %w", path, err)
	}
	if err := db.View(s.loadCounts); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open gateway store %s: %w", path, err)
	}
	return s, nil
}

func initStoreSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keySchema); v != nil {
		if len(v) != 4 || binary.BigEndian.Uint32(v) != storeSchemaVersion {
			return fmt.Errorf("unsupported schema version %x (this build reads version %d)", v, storeSchemaVersion)
		}
	} else if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, storeSchemaVersion)); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketMessages, bucketExpiry, bucketCarrierID, bucketUnmatched,
		bucketAlias, bucketQueues, bucketDead, bucketParts} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// loadCounts reads the queue depths, the last Seq of each non-empty queue
// and the unmatched count at open.
func (s *BoltStore) loadCounts(tx *bolt.Tx) error {
	err := tx.Bucket(bucketQueues).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(bucketQueues).Bucket(name)
		if n := b.Stats().KeyN; n > 0 {
			s.depths[string(name)] = n
			s.startSeqs[string(name)] = b.Sequence()
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.unmatched = tx.Bucket(bucketUnmatched).Stats().KeyN
	return nil
}

// update runs fn in a write transaction after checking ctx and the closed
// flag, and returns once the transaction is fsynced. Concurrent calls
// share one transaction and its fsync (see groupCommit). fn runs a second
// time, alone, when another fn of its group fails, so fn must reset
// whatever it records outside the transaction.
func (s *BoltStore) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.commits.run(func(tx *bolt.Tx) error {
		// The wait for the group ahead may outlast the caller's deadline.
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(tx)
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrStoreClosed
	}
	return err
}

func (s *BoltStore) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrStoreClosed
	}
	return err
}

// Close closes the file after running transactions finish. A second call
// returns nil.
func (s *BoltStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Enqueue implements Queue.
func (s *BoltStore) Enqueue(ctx context.Context, items []Item, finished ...smpp.PartKey) ([]Item, error) {
	out := make([]Item, len(items))
	err := s.update(ctx, func(tx *bolt.Tx) error {
		copy(out, items)
		if err := putItems(tx, out); err != nil {
			return err
		}
		parts := tx.Bucket(bucketParts)
		for _, k := range finished {
			if err := parts.Delete(partKeyBytes(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %d items: %w", len(items), err)
	}
	s.addDepths(out, 1)
	return out, nil
}

// putItems appends items to their queue buckets, setting Seq.
func putItems(tx *bolt.Tx, items []Item) error {
	queues := tx.Bucket(bucketQueues)
	for i := range items {
		if items[i].Queue == "" {
			return fmt.Errorf("item %d has no queue", i)
		}
		b, err := queues.CreateBucketIfNotExists([]byte(items[i].Queue))
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		items[i].Seq = seq
		v, err := json.Marshal(items[i])
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), v); err != nil {
			return err
		}
	}
	return nil
}

func (s *BoltStore) addDepths(items []Item, sign int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		s.depths[it.Queue] += sign
		if s.depths[it.Queue] <= 0 {
			delete(s.depths, it.Queue)
		}
	}
}

// Peek implements Queue. It marks with PossibleResend the items that were
// queued when the file was opened.
func (s *BoltStore) Peek(ctx context.Context, queue string, n int) ([]Item, error) {
	var out []Item
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueues).Bucket([]byte(queue))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("item %d: %w", binary.BigEndian.Uint64(k), err)
			}
			it.PossibleResend = it.Seq <= s.startSeqs[queue]
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("peek queue %s: %w", queue, err)
	}
	return out, nil
}

// Ack implements Queue. Acknowledging an item that is gone is not an
// error, so a repeated Ack after a crash is harmless. All seqs are deleted
// in one transaction and so share one fsync.
func (s *BoltStore) Ack(ctx context.Context, queue string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	removed := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		removed = 0
		b := tx.Bucket(bucketQueues).Bucket([]byte(queue))
		if b == nil {
			return nil
		}
		for _, seq := range seqs {
			if b.Get(seqKey(seq)) == nil {
				continue
			}
			if err := b.Delete(seqKey(seq)); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack %s of queue %s: %w", describeSeqs(seqs), queue, err)
	}
	if removed > 0 {
		s.addDepths(slices.Repeat([]Item{{Queue: queue}}, removed), -1)
	}
	return nil
}

// describeSeqs names the items of an Ack in an error message.
func describeSeqs(seqs []uint64) string {
	if len(seqs) == 1 {
		return fmt.Sprintf("item %d", seqs[0])
	}
	return fmt.Sprintf("%d items from %d", len(seqs), seqs[0])
}

// deadItem is a dead letter.
type deadItem struct {
	Item   Item      `json:"item"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// DeadLetter implements Queue.
func (s *BoltStore) DeadLetter(ctx context.Context, queue string, seq uint64, reason string) error {
	moved := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		moved = false
		b := tx.Bucket(bucketQueues).Bucket([]byte(queue))
		if b == nil {
			return nil
		}
		v := b.Get(seqKey(seq))
		if v == nil {
			return nil
		}
		if err := moveToDead(tx, queue, seq, v, reason, time.Now()); err != nil {
			return err
		}
		moved = true
		return b.Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("dead-letter item %d of queue %s: %w", seq, queue, err)
	}
	if moved {
		s.addDepths([]Item{{Queue: queue}}, -1)
	}
	return nil
}

func moveToDead(tx *bolt.Tx, queue string, seq uint64, raw []byte, reason string, now time.Time) error {
	var it Item
	if err := json.Unmarshal(raw, &it); err != nil {
		return fmt.Errorf("item %d: %w", seq, err)
	}
	dead, err := tx.Bucket(bucketDead).CreateBucketIfNotExists([]byte(queue))
	if err != nil {
		return err
	}
	v, err := json.Marshal(deadItem{Item: it, Reason: reason, Time: now})
	if err != nil {
		return err
	}
	return dead.Put(seqKey(seq), v)
}

// DeadLetters returns the dead letters of a queue, oldest first, for
// operators and tests.
func (s *BoltStore) DeadLetters(ctx context.Context, queue string) ([]Item, []string, error) {
	var items []Item
	var reasons []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDead).Bucket([]byte(queue))
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var d deadItem
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			items = append(items, d.Item)
			reasons = append(reasons, d.Reason)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read dead letters of queue %s: %w", queue, err)
	}
	return items, reasons, nil
}

// Depths implements Queue.
func (s *BoltStore) Depths() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.depths))
	for q, n := range s.depths {
		out[q] = n
	}
	return out
}

// Sweep implements Store.
func (s *BoltStore) Sweep(ctx context.Context, limits SweepLimits) (SweepResult, error) {
	messages, err := s.sweepMessages(ctx, limits.Now)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep gateway store: messages: %w", err)
	}
	var res SweepResult
	var unmatchedGone int
	err = s.update(ctx, func(tx *bolt.Tx) error {
		res = SweepResult{Dropped: map[string]int{}, Messages: messages}
		var err error
		if res.Unmatched, unmatchedGone, err = sweepUnmatched(tx, limits.Now); err != nil {
			return fmt.Errorf("unmatched receipts: %w", err)
		}
		if res.Parts, err = sweepParts(tx, limits.PartsBefore); err != nil {
			return fmt.Errorf("partial MO texts: %w", err)
		}
		if err := sweepQueues(tx, limits, res.Dropped); err != nil {
			return fmt.Errorf("queues: %w", err)
		}
		return nil
	})
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep gateway store: %w", err)
	}

	// Apply the removals as deltas, because writes that committed after
	// the sweep have already counted themselves.
	s.mu.Lock()
	for q, n := range res.Dropped {
		s.depths[q] -= n
		if s.depths[q] <= 0 {
			delete(s.depths, q)
		}
	}
	s.unmatched -= unmatchedGone
	s.mu.Unlock()
	return res, nil
}

// sweepMessages deletes the id map entries that expired by now, in
// transactions of at most boltSweepBatch, so that the message path's
// writes go between them.
func (s *BoltStore) sweepMessages(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var n int
		var more bool
		err := s.update(ctx, func(tx *bolt.Tx) error {
			var err error
			n, more, err = sweepMessages(tx, now, boltSweepBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// sweepQueues dead-letters items past the age and length limits and drops
// old dead letters.
func sweepQueues(tx *bolt.Tx, limits SweepLimits, dropped map[string]int) error {
	queues := tx.Bucket(bucketQueues)
	err := queues.ForEachBucket(func(name []byte) error {
		b := queues.Bucket(name)
		n := b.Stats().KeyN
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.First() {
			reason := ""
			if limits.MaxItems > 0 && n > limits.MaxItems {
				reason = fmt.Sprintf("queue held more than %d items", limits.MaxItems)
			} else if !limits.ItemsBefore.IsZero() {
				var it Item
				if err := json.Unmarshal(v, &it); err == nil && !it.Enqueued.Before(limits.ItemsBefore) {
					break
				}
				reason = "not delivered before the retention limit"
			} else {
				break
			}
			if err := moveToDead(tx, string(name), binary.BigEndian.Uint64(k), v, reason, limits.Now); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
			dropped[string(name)]++
			n--
		}
		return nil
	})
	if err != nil || limits.DeadBefore.IsZero() {
		return err
	}
	dead := tx.Bucket(bucketDead)
	return dead.ForEachBucket(func(name []byte) error {
		c := dead.Bucket(name).Cursor()
		for k, v := c.First(); k != nil; k, v = c.First() {
			var d deadItem
			if err := json.Unmarshal(v, &d); err == nil && !d.Time.Before(limits.DeadBefore) {
				break
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}
