package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis key layout of the gateway store. With the default prefix
// "optgate:", every key starts with "optgate:{gw}:":
//
//	msg:<id>                 string: MessageRecord JSON
//	msgexp                   sorted set: message id, scored by Expires (µs)
//	cid:<carrier>:<key>      string: "<id> NUL <segment index>"
//	um:<carrier>:<key>       hash: unmatched receipts of one carrier id
//	                         (c carrier, k keys JSON, n count, r1..rn receipt JSON)
//	uma:<carrier>:<key>      string: name of the um hash another key of the id uses
//	umexp                    sorted set: um hash names, scored by keepUntil (µs)
//	part:<part key>          hash: k PartKey JSON, f first seen, s<seq> segment JSON
//	partfirst                sorted set: part hash names, scored by first seen (µs)
//	queues                   set: every queue name that was ever used
//	seq                      hash: queue name → last Seq
//	q:<queue>                stream: the queue's items, entry id "<seq>-0"
//	                         (d Item JSON, t enqueued time in µs)
//	q:<queue>:lease          string: consumer that reads the queue now
//	dead:<queue>             list: dead letters, oldest first
//
// "{gw}" is the Redis Cluster hash tag, so every key of the store lives in
// one slot and each step runs as one Lua script or one MULTI on one
// node. Scripts reach keys they build from values (an alias target, a
// message's carrier id keys) only because those share the slot.
//
// TODO: one slot puts all gateway state on one Cluster master. Sharding it
// by account and carrier needs an outbox for the steps that span both,
// such as a receipt that updates a carrier-indexed record and queues an
// item for an account.
const redisGatewayTag = "{gw}:"

// Defaults of RedisStoreOptions.
const (
	DefaultRedisConsumerGroup = "optgate"
	DefaultRedisLease         = time.Minute
)

// RedisStoreOptions configures OpenRedisStore.
type RedisStoreOptions struct {
	// KeyPrefix starts every key; "{gw}:" follows it. Default "optgate:".
	KeyPrefix string
	// Consumer is this instance's name in the consumer group of every
	// queue stream. It must be unique among the instances that share the
	// Redis, and stable across restarts so that an instance restarted
	// under the same name reads its own pending entries again at once.
	// Required.
	Consumer string
	// Group is the consumer group of the queue streams. Default "optgate".
	Group string
	// Lease is how long one consumer keeps the exclusive right to read a
	// queue after its last read or acknowledgement. Another instance takes
	// the queue over, with the entries the first one read but did not
	// acknowledge, once the lease runs out. It must exceed the longest
	// delivery, or an entry can be delivered twice. Default 1m.
	Lease time.Duration
	// MaxUnmatched bounds the unmatched receipts kept; more are dropped
	// until some match or expire. Default 100000.
	MaxUnmatched int
	// Timeout bounds each call that has no earlier context deadline, and
	// every call of Depths. Default 5s.
	Timeout time.Duration
	// WaitReplicas is how many replicas must confirm each write that
	// comes before optgate acknowledges something to a peer. These are an
	// MO or its segment before deliver_sm_resp, a receipt kept or queued,
	// the id mapping of an MT before submit_sm_resp, and the receipt of a
	// blocked MT. A write fewer replicas confirm within WaitTimeout fails
	// with ErrNotReplicated. Queue reads, acknowledgements of
	// delivered items and sweeps do not wait, because losing one of them
	// to a failover repeats a delivery or a sweep but loses nothing.
	// Default 0: no waiting.
	WaitReplicas int
	// WaitTimeout bounds each WAIT. Keep it below the client's read
	// timeout. Default 1s.
	WaitTimeout time.Duration
}

// RedisStore is a Store on Redis that several optgate instances can share:
// the id map, the partial MO texts and one stream per delivery queue, read
// through a consumer group.
//
// Every change is one Lua script run by Redis atomically, and it is as
// durable as the server's persistence settings make it (appendonly with
// appendfsync everysec can lose about one second of writes on a crash).
//
// A queue is read by one consumer at a time, the holder of the queue's
// lease, so its items are delivered in order even with several instances.
// Peek takes the lease when it is free, renews it when this consumer holds
// it, and returns nothing while another consumer holds it. Taking the lease
// also claims (XAUTOCLAIM) the entries the previous holder read but did not
// acknowledge.
type RedisStore struct {
	rdb    redis.UniversalClient
	opts   RedisStoreOptions
	prefix string
	closed atomic.Bool
}

var _ Store = (*RedisStore)(nil)

// OpenRedisStore checks that Redis responds and returns a store on rdb.
// The store owns rdb from then on: Close closes it.
func OpenRedisStore(ctx context.Context, rdb redis.UniversalClient, opts RedisStoreOptions) (*RedisStore, error) {
	if rdb == nil {
		return nil, errors.New("open gateway redis store: client is required")
	}
	if opts.Consumer == "" {
		return nil, errors.New("open gateway redis store: consumer name is required")
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "optgate:"
	}
	if opts.Group == "" {
		opts.Group = DefaultRedisConsumerGroup
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultRedisLease
	}
	if opts.MaxUnmatched <= 0 {
		opts.MaxUnmatched = 100000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.WaitReplicas < 0 {
		return nil, fmt.Errorf("open gateway redis store: wait replicas %d is negative", opts.WaitReplicas)
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultRedisWaitTimeout
	}
	s := &RedisStore{rdb: rdb, opts: opts, prefix: opts.KeyPrefix + redisGatewayTag}

	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("open gateway redis store: %w", err)
	}
	return s, nil
}

// Consumer returns this instance's consumer name.
func (s *RedisStore) Consumer() string { return s.opts.Consumer }

// Close closes the Redis client. A second call returns nil.
func (s *RedisStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.rdb.Close()
}

func (s *RedisStore) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.opts.Timeout)
}

// begin checks the closed flag and ctx, and bounds ctx by Timeout.
func (s *RedisStore) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return nil, nil, ErrStoreClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	return ctx, cancel, nil
}

// storeErr maps a client closed under a call to ErrStoreClosed.
func (s *RedisStore) storeErr(err error) error {
	if errors.Is(err, redis.ErrClosed) || (s.closed.Load() && err != nil) {
		return ErrStoreClosed
	}
	return err
}

func (s *RedisStore) key(parts ...string) string {
	return s.prefix + strings.Join(parts, ":")
}

func (s *RedisStore) messageKey(id string) string     { return s.key("msg", id) }
func (s *RedisStore) carrierIDKey(c, k string) string { return s.key("cid", c, k) }
func (s *RedisStore) unmatchedKey(c, k string) string { return s.key("um", c, k) }
func (s *RedisStore) aliasKey(c, k string) string     { return s.key("uma", c, k) }
func (s *RedisStore) streamKey(queue string) string   { return s.key("q", queue) }
func (s *RedisStore) leaseKey(queue string) string    { return s.key("q", queue, "lease") }
func (s *RedisStore) deadKey(queue string) string     { return s.key("dead", queue) }
func (s *RedisStore) partKey(k []byte) string         { return s.key("part", string(k)) }

// micros returns t as microseconds since the Unix epoch, the score of the
// expiry sorted sets. A float64 holds it exactly until the year 2255.
func micros(t time.Time) int64 { return t.UnixMicro() }

// checkCarrier rejects a carrier name that would make two key names equal.
func checkCarrier(carrier string) error {
	if strings.Contains(carrier, ":") {
		return fmt.Errorf("carrier name %q contains ':', which the Redis key layout reserves", carrier)
	}
	return nil
}
