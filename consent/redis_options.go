package consent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Redis server settings the store relies on. A bucket hash stays in the
// compact listpack encoding only while it has at most
// hash-max-listpack-entries fields and every value is at most
// hash-max-listpack-value bytes. Past either limit Redis converts it to a
// hash table, which costs several times the memory per record. Redis
// before 7.0 names these settings hash-max-ziplist-entries and
// hash-max-ziplist-value; 7.0 accepts both names.
const (
	// RedisListpackEntries is the recommended minimum of
	// hash-max-listpack-entries, four times RedisBucketLoad. The default of
	// Redis 7.0.15 is 512.
	RedisListpackEntries = 256
	// RedisListpackValue is the recommended minimum of
	// hash-max-listpack-value. A record whose requests came from US/CA
	// toll-free numbers encodes to at most 38 bytes, so the Redis 7.0
	// default of 64 suffices for those. Any record encodes to at most 96
	// bytes.
	RedisListpackValue = 128
)

// Server settings below these make OpenRedis log a warning, because
// ordinary records would no longer stay in listpack buckets.
const (
	minListpackEntries = 2 * RedisBucketLoad
	minListpackValue   = maxCompactRedisRecord
)

// RedisBucketLoad is the average number of records per bucket hash that
// the bucket count aims for. With numbers spread at random, the fullest of
// 15,627 buckets holding a million records has about 100 of them, and by
// estimate an account can grow to three times its expected size before a
// bucket passes RedisListpackEntries.
const RedisBucketLoad = 64

// RedisOptions configures OpenRedis. The zero value connects nowhere: set
// URL or Universal.
type RedisOptions struct {
	// URL is a redis://, rediss:// or unix:// URL of a standalone server,
	// in the form go-redis's ParseURL reads. It is used when Universal is
	// nil.
	URL string
	// Universal configures a standalone server, a master found through
	// Sentinel (MasterName set) or a Cluster (several Addrs), as go-redis
	// documents for UniversalOptions. It takes precedence over URL. The
	// store always sets ContextTimeoutEnabled on its copy, so context
	// deadlines bound every command. With Sentinel it also rejects every
	// new connection that reaches a replica (see ErrReplicaConnection).
	Universal *redis.UniversalOptions
	// KeyPrefix starts every key the store writes, so several deployments
	// can share one Redis. It must not contain '{' or '}', which would move
	// the Cluster hash tag. Default: "optgate:".
	KeyPrefix string
	// ExpectedRecords is the number of records an account is expected to
	// hold at most. It sets the account's bucket count (about
	// RedisBucketLoad records per bucket) when the store first touches the
	// account. From then on the count recorded in Redis is used, because
	// changing it would move every record. Default: 1,000,000.
	ExpectedRecords int
	// AccountExpectedRecords overrides ExpectedRecords for the listed
	// account ids. Default: none.
	AccountExpectedRecords map[string]int
	// Timeout bounds each store call, retries included, and a shorter
	// context deadline wins. Records applies it to each batch of buckets
	// instead of the whole walk. While Redis is unreachable, a call fails
	// when go-redis stops retrying the connection or at this timeout,
	// whichever comes first. Default: 2s. A negative value means no limit
	// beyond the context's.
	Timeout time.Duration
	// MaxConflicts is how many times Apply runs an event again after
	// another writer changed the same record first, or after the server
	// refused the write for a moment (loading, failing over). Default: 32.
	MaxConflicts int
	// WaitReplicas is how many replicas must confirm each change, with the
	// Redis WAIT command sent on the connection of the write, before Apply
	// returns it. Redis replicates asynchronously, so without waiting a
	// change acknowledged just before the master fails can be missing on
	// the replica that Sentinel promotes. When fewer replicas confirm it
	// within WaitTimeout, Apply returns an error wrapping
	// ErrNotReplicated. The change is then in effect on the master but
	// may be lost with it, so callers treat it as not made. While the
	// master has fewer replicas online, every Apply fails this way.
	// Default: 0, which means no waiting.
	WaitReplicas int
	// WaitTimeout bounds each WAIT when WaitReplicas is set. Keep it below
	// Timeout and below the client's read timeout, which also bound the
	// wait. Default: 1s.
	WaitTimeout time.Duration
	// Logger receives warnings about server settings found at open, and a
	// note for each account whose recorded bucket count differs from the
	// options. Default: no logging.
	Logger *zap.Logger
}

// Defaults of RedisOptions.
const (
	DefaultRedisKeyPrefix       = "optgate:"
	DefaultRedisExpectedRecords = 1_000_000
	DefaultRedisTimeout         = 2 * time.Second
	DefaultRedisMaxConflicts    = 32
	DefaultRedisWaitTimeout     = time.Second
)

// withDefaults returns a copy of o with zero values replaced by defaults,
// or an error naming the first invalid field.
func (o RedisOptions) withDefaults() (RedisOptions, error) {
	if o.Universal == nil && o.URL == "" {
		return o, errors.New("redis store: missing server address: set URL or Universal")
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultRedisKeyPrefix
	}
	if strings.ContainsAny(o.KeyPrefix, "{}") {
		return o, fmt.Errorf("redis store: invalid key prefix %q: a brace would change the Cluster hash slot of the keys", o.KeyPrefix)
	}
	if o.ExpectedRecords == 0 {
		o.ExpectedRecords = DefaultRedisExpectedRecords
	}
	if o.ExpectedRecords < 0 {
		return o, fmt.Errorf("redis store: expected records %d is negative", o.ExpectedRecords)
	}
	for account, n := range o.AccountExpectedRecords {
		if n <= 0 {
			return o, fmt.Errorf("redis store: expected records %d for account %q must be positive", n, account)
		}
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultRedisTimeout
	}
	if o.MaxConflicts == 0 {
		o.MaxConflicts = DefaultRedisMaxConflicts
	}
	if o.MaxConflicts < 0 {
		return o, fmt.Errorf("redis store: max conflicts %d is negative", o.MaxConflicts)
	}
	if o.WaitReplicas < 0 {
		return o, fmt.Errorf("redis store: wait replicas %d is negative", o.WaitReplicas)
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = DefaultRedisWaitTimeout
	}
	if o.WaitTimeout < 0 {
		return o, fmt.Errorf("redis store: wait timeout %v is negative", o.WaitTimeout)
	}
	if o.WaitReplicas > 0 && o.Timeout > 0 && o.WaitTimeout >= o.Timeout {
		return o, fmt.Errorf("redis store: wait timeout %v must be shorter than the timeout %v", o.WaitTimeout, o.Timeout)
	}
	if u := o.Universal; o.WaitReplicas > 0 && u != nil && u.ReadTimeout > 0 && o.WaitTimeout >= u.ReadTimeout {
		return o, fmt.Errorf("redis store: wait timeout %v must be shorter than the read timeout %v",
			o.WaitTimeout, u.ReadTimeout)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o, nil
}

// bucketsFor returns the bucket count the options give a new account.
func (o RedisOptions) bucketsFor(account string) uint32 {
	expected := o.ExpectedRecords
	if n, ok := o.AccountExpectedRecords[account]; ok {
		expected = n
	}
	return redisBucketCount(expected, RedisBucketLoad)
}

// newClient connects as configured; go-redis dials lazily on first use.
func (o RedisOptions) newClient() (redis.UniversalClient, error) {
	if o.Universal != nil {
		u := *o.Universal
		u.ContextTimeoutEnabled = true
		if u.MasterName != "" {
			u.OnConnect = rejectReplica(u.OnConnect)
		}
		return redis.NewUniversalClient(&u), nil
	}
	opt, err := redis.ParseURL(o.URL)
	if err != nil {
		// The URL may carry a password, so it is not quoted.
		return nil, fmt.Errorf("redis store: invalid URL: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// target describes where the store connects, for error messages: the
// addresses and, with Sentinel, the master's name. It leaves out the URL,
// which may carry a password.
func (o RedisOptions) target() string {
	if o.Universal == nil {
		if opt, err := redis.ParseURL(o.URL); err == nil {
			return opt.Addr
		}
		return "the configured URL"
	}
	addrs := strings.Join(o.Universal.Addrs, ", ")
	if o.Universal.MasterName != "" {
		return fmt.Sprintf("master %q through the sentinels %s", o.Universal.MasterName, addrs)
	}
	return addrs
}
