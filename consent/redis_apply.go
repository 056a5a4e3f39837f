package consent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// applyScript writes a record and its audit entry if the record is still
// the one the client read (compare-and-set).
//
//	KEYS[1]  bucket hash        ARGV[1]  field of the number
//	KEYS[2]  audit list         ARGV[2]  record the client read, "" if none
//	                            ARGV[3]  new record
//	                            ARGV[4]  audit entry
//	                            ARGV[5]  list index the entry gets (seq - 1)
//
// It returns 1 after writing, and the current record (a string, "" for
// none) when the record changed since the client read it. Every write
// increments the record's seq, so a record value does not come back (short
// of 2^32 writes to one number), and an unchanged value proves that no
// write came in between.
//
// It returns 2 when the same entry already sits at its index: the client
// resent a write that Redis ran but whose reply was lost (go-redis resends
// a command after some network errors). Rerunning the event on the newer
// record would apply it twice.
//
// NOTE: two byte-identical events (same time to the nanosecond, same texts
// and message ids) racing on one number are therefore written once, and
// both calls report the write as theirs.
var applyScript = redis.NewScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('RPUSH', KEYS[2], ARGV[4])
  return 1
end
if redis.call('LINDEX', KEYS[2], ARGV[5]) == ARGV[4] then
  return 2
end
return current
`)

// applyLockStripes is the number of locks that Apply calls of one process
// share, chosen by a hash of the pair.
const applyLockStripes = 256

// lockPair takes the lock of the pair's stripe, or fails when ctx ends
// first. Writers of one process then change a record one after the other,
// without conflicts, so none of them can lose every compare-and-set round
// to the others. Writers of several processes still meet in the
// compare-and-set. Unrelated pairs that share a stripe wait for each other.
func (s *RedisStore) lockPair(ctx context.Context, account, number string) (func(), error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(number))
	lock := s.applyLocks[h.Sum32()%applyLockStripes]
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another write to the same record: %w", ctx.Err())
	}
}

// errConflict reports that another writer changed the record between the
// read and the compare-and-set.
var errConflict = errors.New("record changed by another writer")

// Apply implements Store.
func (s *RedisStore) Apply(ctx context.Context, ev Event) (Applied, error) {
	if err := s.check(ctx); err != nil {
		return Applied{}, err
	}
	if err := ev.Validate(); err != nil {
		return Applied{}, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	unlock, err := s.lockPair(ctx, ev.Account, ev.Number)
	if err != nil {
		return Applied{}, fmt.Errorf("apply %s to %s/%s: %w", ev.Kind, ev.Account, maskNumber(ev.Number), err)
	}
	defer unlock()
	a, err := s.apply(ctx, ev)
	if err != nil {
		return Applied{}, s.wrap(err, "apply %s to %s/%s", ev.Kind, ev.Account, maskNumber(ev.Number))
	}
	return a, nil
}

// apply reads the pair's record and writes the event's result with
// compareAndSet, retrying as classifyRedisError allows.
func (s *RedisStore) apply(ctx context.Context, ev Event) (Applied, error) {
	var (
		pair    redisPair
		current string
		read    bool // current holds the record as last seen in Redis
	)
	for attempt := 1; ; attempt++ {
		var (
			a     Applied
			newer string
			err   error
		)
		if !read {
			pair, current, err = s.readForApply(ctx, ev)
			read = err == nil
		}
		if err == nil {
			a, newer, err = s.compareAndSet(ctx, pair, current, ev)
		}

		class := classifyRedisError(err)
		switch {
		case class == redisDone:
			return a, nil
		case class == redisFailed:
			return Applied{}, err
		case attempt > s.opts.MaxConflicts:
			return Applied{}, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		case class == redisConflict:
			current = newer
			if attempt < conflictsBeforeBackoff {
				continue
			}
			// Writers that keep colliding on one record take turns after
			// a random pause. Without it, writers that wait for replicas
			// hold the record longer and one of them can lose every round.
			if ctxErr := sleepCtx(ctx, conflictBackoff(attempt)); ctxErr != nil {
				return Applied{}, fmt.Errorf("%w while waiting to retry after: %w", ctxErr, err)
			}
			continue
		}
		if ctxErr := sleepCtx(ctx, busyBackoff(attempt)); ctxErr != nil {
			return Applied{}, fmt.Errorf("%w while waiting to retry after: %w", ctxErr, err)
		}
	}
}

// readForApply locates the event's pair and returns its current record, ""
// when it has none.
func (s *RedisStore) readForApply(ctx context.Context, ev Event) (redisPair, string, error) {
	buckets, err := s.claimBuckets(ctx, ev.Account)
	if err != nil {
		return redisPair{}, "", err
	}
	pair := s.layout.locate(ev.Account, ev.Number, buckets)
	current, err := s.client.HGet(ctx, pair.records, pair.field).Result()
	if errors.Is(err, redis.Nil) {
		return pair, "", nil
	}
	return pair, current, err
}

// compareAndSet runs Step on the record read as current and writes the
// result unless the record changed meanwhile. On errConflict it returns
// the newer record.
func (s *RedisStore) compareAndSet(ctx context.Context, pair redisPair, current string, ev Event) (Applied, string, error) {
	var before Record
	if current != "" {
		var err error
		if before, err = decodeRedisRecord([]byte(current)); err != nil {
			return Applied{}, "", err
		}
	}
	requestText := func(seq uint32) (string, error) { return s.requestText(ctx, pair, seq) }
	a, err := Step(before, ev, requestText)
	if err != nil {
		return Applied{}, "", err
	}
	rec, err := appendRedisRecord(make([]byte, 0, 24), a.After)
	if err != nil {
		return Applied{}, "", err
	}
	entry, err := MarshalAuditEntry(a.Entry)
	if err != nil {
		return Applied{}, "", err
	}

	keys := []string{pair.records, pair.audit}
	res, err := s.runApply(ctx, keys, pair.field, current, rec, entry, a.Entry.Seq-1)
	if err != nil {
		return Applied{}, "", err
	}
	switch v := res.(type) {
	case int64:
		// Report the record as stored, with Updated in whole seconds, so
		// that it equals what Get returns.
		a.After, err = decodeRedisRecord(rec)
		return a, "", err
	case string:
		return Applied{}, v, errConflict
	}
	return Applied{}, "", fmt.Errorf("unexpected reply %T from the apply script", res)
}

// requestText returns the text of the pair's audit entry with the given
// sequence number.
func (s *RedisStore) requestText(ctx context.Context, pair redisPair, seq uint32) (string, error) {
	v, err := s.client.LIndex(ctx, pair.audit, int64(seq)-1).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("audit entry %d not found", seq)
	}
	if err != nil {
		return "", err
	}
	e, err := UnmarshalAuditEntry([]byte(v))
	if err != nil {
		return "", err
	}
	if e.Seq != seq {
		return "", fmt.Errorf("audit entry %d not found at list index %d, which holds entry %d: the list was trimmed",
			seq, seq-1, e.Seq)
	}
	return e.Text, nil
}

// redisErrorClass is the action Apply takes after an error.
type redisErrorClass uint8

const (
	// redisDone: no error.
	redisDone redisErrorClass = iota
	// redisFailed: return the error. The command may or may not have run,
	// so the caller, not the store, decides whether to send the event
	// again. Network errors and timeouts are in this class.
	redisFailed
	// redisConflict: the record changed; run Step again on the newer one.
	redisConflict
	// redisBusy: the server rejected the command without running it
	// because it is loading its data, failing over, resharding or running
	// a long script. Retry after a pause.
	redisBusy
)

// classifyRedisError decides whether Apply may retry after err. It is the
// only function that separates retryable errors from the others.
func classifyRedisError(err error) redisErrorClass {
	switch {
	case err == nil:
		return redisDone
	case errors.Is(err, errConflict):
		return redisConflict
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsTryAgainError(err),
		redis.IsClusterDownError(err), redis.IsMasterDownError(err):
		return redisBusy
	}
	var serverErr redis.Error
	if errors.As(err, &serverErr) && strings.HasPrefix(serverErr.Error(), "BUSY ") {
		return redisBusy
	}
	return redisFailed
}

// busyBackoff is the pause before retry attempt n+1 after a busy server:
// 10 ms doubling to at most 320 ms.
func busyBackoff(attempt int) time.Duration {
	return 10 * time.Millisecond << min(attempt-1, 5)
}

// conflictsBeforeBackoff is how many conflicts in a row Apply retries at
// once before it pauses between attempts.
const conflictsBeforeBackoff = 4

// conflictBackoff is a random pause before retry attempt n+1 after a
// conflict: up to 1 ms for the fourth conflict, doubling to at most 16 ms.
func conflictBackoff(attempt int) time.Duration {
	ceiling := time.Millisecond << min(attempt-conflictsBeforeBackoff, 4)
	return rand.N(ceiling) + 1
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
