package consent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// RedisStore is the Store kept in Redis: a standalone server, a master
// found through Sentinel, or a Redis Cluster.
//
// Records are packed into hash buckets, many numbers per hash, so that a
// record costs 17 to 28 bytes of Redis memory (measured on Redis 7.0.15
// with a million records) while the hashes stay in the listpack encoding.
// Each account has a fixed number of buckets, chosen from
// RedisOptions.ExpectedRecords when the store first touches the account
// and recorded in Redis. A number's audit entries form one Redis list in
// the same Cluster hash slot as its record. Audit entries are JSON with the
// verbatim texts and cost far more than records: about 1.2 kB per number
// for a request with a 100-character text and its YES.
//
// Operators should set, in redis.conf:
//
//	hash-max-listpack-entries 256   # or more; see RedisListpackEntries
//	hash-max-listpack-value 128     # or more; see RedisListpackValue
//	appendonly yes                  # or opt-outs may be lost on a restart
//
// OpenRedis logs a warning when it finds lower values.
//
// Apply reads the record, runs Step in Go, and writes the new record and
// the audit entry with one Lua script that first checks that the record
// is still the one read (compare-and-set). When another writer got there
// first, Apply runs Step again on the newer record, at most
// RedisOptions.MaxConflicts times. Within one process, Apply calls on the
// same pair wait for each other, so conflicts come only from other
// processes sharing the Redis.
//
// The store keeps Record.Updated to the whole second; the audit entry
// keeps the exact time. A change is as durable as the server's persistence
// settings make it: with appendonly no, changes since the last snapshot are
// lost when Redis stops.
type RedisStore struct {
	client redis.UniversalClient
	layout redisLayout
	opts   RedisOptions
	closed atomic.Bool

	// applyLocks are the per-stripe locks of lockPair, each a channel
	// with room for one token.
	applyLocks [applyLockStripes]chan struct{}

	// buckets caches the bucket count of each account. A count never
	// changes once recorded in Redis.
	mu      sync.RWMutex
	buckets map[string]uint32
}

var _ Store = (*RedisStore)(nil)

// OpenRedis connects to Redis, checks that it responds and that its data
// uses this build's format, and warns through opts.Logger about server
// settings that would waste memory or lose changes.
func OpenRedis(ctx context.Context, opts RedisOptions) (*RedisStore, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := opts.newClient()
	if err != nil {
		return nil, err
	}
	s := &RedisStore{
		client:  client,
		layout:  redisLayout{prefix: opts.KeyPrefix},
		opts:    opts,
		buckets: map[string]uint32{},
	}
	for i := range s.applyLocks {
		s.applyLocks[i] = make(chan struct{}, 1)
	}
	if err := s.checkFormat(ctx); err != nil {
		_ = client.Close()
		var netErr net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) {
			return nil, fmt.Errorf("open redis store at %s: %w; check that redis-server runs there "+
				"and accepts connections from this host", opts.target(), err)
		}
		return nil, fmt.Errorf("open redis store at %s: %w", opts.target(), err)
	}
	s.checkSettings(ctx)
	return s, nil
}

// checkFormat records this build's data format in the meta hash of a new
// store and rejects a store written in another format.
func (s *RedisStore) checkFormat(ctx context.Context) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	key := s.layout.metaKey()
	pipe := s.client.Pipeline()
	pipe.HSetNX(ctx, key, "format", redisRecordFormat)
	format := pipe.HGet(ctx, key, "format")
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if v := format.Val(); v != strconv.Itoa(redisRecordFormat) {
		return fmt.Errorf("key %s names data format %q, but this build reads only format %d: use a build that reads it, or another key prefix",
			key, v, redisRecordFormat)
	}
	return nil
}

// checkSettings logs a warning for each server setting below what the
// store needs. Servers that reject CONFIG GET, as some managed services
// do, are only noted at info level.
func (s *RedisStore) checkSettings(ctx context.Context) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	log := s.opts.Logger
	for _, limit := range []struct {
		name, before7 string
		min           int
	}{
		{"hash-max-listpack-entries", "hash-max-ziplist-entries", minListpackEntries},
		{"hash-max-listpack-value", "hash-max-ziplist-value", minListpackValue},
	} {
		v, err := s.configGet(ctx, limit.name, limit.before7)
		if err != nil {
			log.Info("redis setting not readable, check it by hand", zap.String("setting", limit.name), zap.Error(err))
			return
		}
		if got, err := strconv.Atoi(v); err == nil && got < limit.min {
			log.Warn("redis setting too low for compact consent records",
				zap.String("setting", limit.name),
				zap.Int("value", got),
				zap.Int("minimum", limit.min))
		}
	}
	v, err := s.configGet(ctx, "appendonly", "")
	if err != nil {
		log.Info("redis setting not readable, check it by hand", zap.String("setting", "appendonly"), zap.Error(err))
		return
	}
	if v != "yes" {
		log.Warn("redis appendonly is off: consent changes since the last snapshot are lost if redis stops")
	}
}

// configGet returns a server setting, read under its name before Redis 7.0
// when the server does not know the current name.
func (s *RedisStore) configGet(ctx context.Context, name, before7 string) (string, error) {
	values, err := s.client.ConfigGet(ctx, name).Result()
	if err != nil {
		return "", err
	}
	if v, ok := values[name]; ok || before7 == "" {
		return v, nil
	}
	values, err = s.client.ConfigGet(ctx, before7).Result()
	return values[before7], err
}

// withTimeout applies the per-operation timeout.
func (s *RedisStore) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opts.Timeout < 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.Timeout)
}

func (s *RedisStore) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, account, number string) (Record, error) {
	if err := s.check(ctx); err != nil {
		return Record{}, err
	}
	if err := ValidateKey(account, number); err != nil {
		return Record{}, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	buckets, err := s.knownBuckets(ctx, account)
	if err != nil || buckets == 0 {
		return Record{}, s.wrap(err, "get %s/%s", account, maskNumber(number))
	}
	pair := s.layout.locateRecord(account, number, buckets)
	v, err := s.client.HGet(ctx, pair.records, pair.field).Bytes()
	if errors.Is(err, redis.Nil) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, s.wrap(err, "get %s/%s", account, maskNumber(number))
	}
	r, err := decodeRedisRecord(v)
	if err != nil {
		return Record{}, fmt.Errorf("get %s/%s: %w", account, maskNumber(number), err)
	}
	return r, nil
}

// GetMany implements Store. It sends one HMGET per bucket, all in one
// pipeline. On a Cluster, go-redis sends one pipeline per node.
func (s *RedisStore) GetMany(ctx context.Context, keys []Key) ([]Record, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]Record, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	for _, k := range keys {
		if err := ValidateKey(k.Account, k.Number); err != nil {
			return nil, err
		}
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	buckets, err := s.knownBucketsMany(ctx, keys)
	if err != nil {
		return nil, s.wrap(err, "get %d records", len(keys))
	}

	reads := s.layout.groupByBucket(keys, buckets)
	if len(reads) == 0 {
		return out, nil
	}
	pipe := s.client.Pipeline()
	for i := range reads {
		reads[i].cmd = pipe.HMGet(ctx, reads[i].key, reads[i].fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.wrap(err, "get %d records", len(keys))
	}

	for _, read := range reads {
		for j, v := range read.cmd.Val() {
			if v == nil {
				continue
			}
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("get %d records: unexpected reply type %T", len(keys), v)
			}
			r, err := decodeRedisRecord([]byte(str))
			if err != nil {
				k := keys[read.places[j]]
				return nil, fmt.Errorf("get %s/%s: %w", k.Account, maskNumber(k.Number), err)
			}
			out[read.places[j]] = r
		}
	}
	return out, nil
}

// History implements Store.
func (s *RedisStore) History(ctx context.Context, account, number string) ([]AuditEntry, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := ValidateKey(account, number); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	buckets, err := s.knownBuckets(ctx, account)
	if err != nil || buckets == 0 {
		return nil, s.wrap(err, "read history of %s/%s", account, maskNumber(number))
	}
	pair := s.layout.locate(account, number, buckets)
	values, err := s.client.LRange(ctx, pair.audit, 0, -1).Result()
	if err != nil {
		return nil, s.wrap(err, "read history of %s/%s", account, maskNumber(number))
	}
	out := make([]AuditEntry, 0, len(values))
	for i, v := range values {
		e, err := UnmarshalAuditEntry([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("read history of %s/%s: entry %d: %w", account, maskNumber(number), i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// recordsBatch is how many bucket hashes Records reads per round trip.
const recordsBatch = 128

// Records implements Store. It reads the account's buckets with HGETALL,
// recordsBatch buckets per round trip, and is not a snapshot: a record
// written during the walk may or may not be visited, but no number is
// visited twice.
func (s *RedisStore) Records(ctx context.Context, account string, fn func(number string, rec Record) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := validateAccountID(account); err != nil {
		return err
	}
	buckets, err := s.knownBucketsWithTimeout(ctx, account)
	if err != nil {
		return s.wrap(err, "read records of %s", account)
	}
	for first := uint32(0); first < buckets; first += recordsBatch {
		last := min(first+recordsBatch, buckets)
		if err := s.recordsBatch(ctx, account, first, last, buckets, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *RedisStore) knownBucketsWithTimeout(ctx context.Context, account string) (uint32, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return s.knownBuckets(ctx, account)
}

// recordsBatch calls fn for the records in buckets [first, last).
func (s *RedisStore) recordsBatch(ctx context.Context, account string, first, last, buckets uint32,
	fn func(number string, rec Record) error) error {
	tctx, cancel := s.withTimeout(ctx)
	defer cancel()
	pipe := s.client.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, last-first)
	for b := first; b < last; b++ {
		cmds = append(cmds, pipe.HGetAll(tctx, s.layout.recordsKey(account, b)))
	}
	if _, err := pipe.Exec(tctx); err != nil {
		return s.wrap(err, "read records of %s", account)
	}
	for i, cmd := range cmds {
		bucket := first + uint32(i)
		for field, v := range cmd.Val() {
			if err := ctx.Err(); err != nil {
				return err
			}
			number, err := fieldNumber(field, bucket, buckets)
			if err != nil {
				return fmt.Errorf("read records of %s: %w", account, err)
			}
			r, err := decodeRedisRecord([]byte(v))
			if err != nil {
				return fmt.Errorf("read records of %s: %s: %w", account, maskNumber(number), err)
			}
			if err := fn(number, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the connections. A second call returns nil.
func (s *RedisStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.client.Close()
}

func validateAccountID(account string) error {
	if account == "" {
		return errors.New("missing account id")
	}
	if strings.IndexByte(account, 0) >= 0 {
		return fmt.Errorf("account id %q contains a NUL byte", account)
	}
	return nil
}

// knownBuckets returns the bucket count recorded for the account, or 0 when
// none is recorded yet, which means the account has no records.
func (s *RedisStore) knownBuckets(ctx context.Context, account string) (uint32, error) {
	if n, ok := s.cachedBuckets(account); ok {
		return n, nil
	}
	v, err := s.client.HGet(ctx, s.layout.metaKey(), bucketsField(account)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return s.cacheBuckets(account, v)
}

// knownBucketsMany is knownBuckets for the accounts of keys, with one
// HMGET for those not cached.
func (s *RedisStore) knownBucketsMany(ctx context.Context, keys []Key) (map[string]uint32, error) {
	out := map[string]uint32{}
	var missing []string
	for _, k := range keys {
		if _, done := out[k.Account]; done {
			continue
		}
		n, ok := s.cachedBuckets(k.Account)
		out[k.Account] = n
		if !ok {
			missing = append(missing, k.Account)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	fields := make([]string, len(missing))
	for i, account := range missing {
		fields[i] = bucketsField(account)
	}
	values, err := s.client.HMGet(ctx, s.layout.metaKey(), fields...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range values {
		str, ok := v.(string)
		if !ok {
			continue
		}
		n, err := s.cacheBuckets(missing[i], str)
		if err != nil {
			return nil, err
		}
		out[missing[i]] = n
	}
	return out, nil
}

// claimBuckets returns the account's bucket count, recording the count
// from the options first if Redis has none yet.
//
// TODO: no way to change an account's bucket count after its first write:
// an account that outgrows it keeps working, but its buckets leave the
// listpack encoding and cost several times the memory.
func (s *RedisStore) claimBuckets(ctx context.Context, account string) (uint32, error) {
	if n, ok := s.cachedBuckets(account); ok {
		return n, nil
	}
	key, field := s.layout.metaKey(), bucketsField(account)
	want := s.opts.bucketsFor(account)
	pipe := s.client.Pipeline()
	pipe.HSetNX(ctx, key, field, want)
	got := pipe.HGet(ctx, key, field)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return s.cacheBuckets(account, got.Val())
}

func (s *RedisStore) cachedBuckets(account string) (uint32, bool) {
	s.mu.RLock()
	n, ok := s.buckets[account]
	s.mu.RUnlock()
	return n, ok
}

func (s *RedisStore) cacheBuckets(account, value string) (uint32, error) {
	n, err := strconv.ParseUint(value, 10, 32)
	if err != nil || n == 0 || n > maxRedisBuckets {
		return 0, fmt.Errorf("invalid bucket count %q in key %s field %s",
			value, s.layout.metaKey(), bucketsField(account))
	}
	s.mu.Lock()
	_, known := s.buckets[account]
	s.buckets[account] = uint32(n)
	s.mu.Unlock()
	if want := s.opts.bucketsFor(account); !known && uint32(n) != want {
		s.opts.Logger.Info("account keeps the bucket count recorded in redis",
			zap.String("account", account),
			zap.Uint64("buckets", n),
			zap.Uint32("configured_buckets", want))
	}
	return uint32(n), nil
}

// wrap adds context to an error from Redis. It returns nil for a nil
// error, and ErrClosed when the store was closed during the call. On a
// Cluster it also has go-redis reload the slot map, because after a
// replica took over, go-redis v9.23.0 may keep sending a dead master's
// slots to it until ClusterStateReloadInterval (default 60 s) has passed.
func (s *RedisStore) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.ErrClosed) || s.closed.Load() {
		return ErrClosed
	}
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		// ReloadState starts the reload in the background and does not
		// use the context.
		cluster.ReloadState(context.Background())
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
