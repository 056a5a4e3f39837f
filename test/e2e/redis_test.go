package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/testredis"
)

// startRedis starts the test's redis-server. testredis fails the test,
// naming `apt-get install redis-server`, when the server is missing.
func startRedis(t *testing.T) *testredis.Server {
	t.Helper()
	return testredis.Start(t)
}

// auditWant is the expected part of one audit entry: the event, its
// outcome, the reason it changed nothing (empty when it changed the
// record) and the state after it.
type auditWant struct {
	event, outcome, skip, after string
}

// checkRedis reads redis-server directly and checks that optgate kept the
// story's consent records and their history there, under the configured
// key prefix: each number's audit list, in order, and one record per
// number in the account's record hashes.
func checkRedis(t *testing.T, addr string) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })

	keys, err := rdb.Keys(ctx, redisKeyPrefix+"*").Result()
	if err != nil {
		t.Fatalf("KEYS %s*: %v", redisKeyPrefix, err)
	}
	if len(keys) == 0 {
		t.Fatalf("redis-server contains no key under %q: the consent records were not kept in Redis", redisKeyPrefix)
	}
	if all, err := rdb.DBSize(ctx).Result(); err != nil || all != int64(len(keys)) {
		t.Errorf("redis-server contains %d keys (%v), %d of them under %q: optgate wrote outside its prefix",
			all, err, len(keys), redisKeyPrefix)
	}

	// Each confirmation the gateway queued is recorded after its keyword.
	checkAudit(t, rdb, keys, subscriber, []auditWant{
		{"request", "requested", "", "requested"},
		{"yes", "opted_in", "", "opted_in"},
		{"reply_queued", "reply_queued", "", "opted_in"},
		{"stop", "opted_out", "", "opted_out"},
		{"reply_queued", "reply_queued", "", "opted_out"},
		{"resume", "resumed", "", "opted_in"},
		{"reply_queued", "reply_queued", "", "opted_in"},
	})
	// The rejected third requests, one over HTTP and one over SMPP, are
	// kept as evidence too, with the reason nothing changed.
	checkAudit(t, rdb, keys, limitSubscriber, []auditWant{
		{"request", "requested", "", "requested"},
		{"request", "requested", "", "requested"},
		{"request", "none", "request_limit", "requested"},
		{"request", "none", "request_limit", "requested"},
	})

	// Record hashes are "<prefix>{<account>:<bucket>}:c", one field per
	// number.
	var records int64
	for _, k := range keys {
		if strings.HasPrefix(k, redisKeyPrefix+"{"+storyAccount.ID+":") && strings.HasSuffix(k, "}:c") {
			n, err := rdb.HLen(ctx, k).Result()
			if err != nil {
				t.Fatalf("HLEN %s: %v", k, err)
			}
			records += n
		}
	}
	if records != 2 {
		t.Errorf("the record hashes of account %s contain %d records, want 2 (%s and %s); keys: %v",
			storyAccount.ID, records, subscriber, limitSubscriber, keys)
	}
}

// checkAudit finds the audit list of number among keys and checks its
// entries against want, in order.
func checkAudit(t *testing.T, rdb *redis.Client, keys []string, number string, want []auditWant) {
	t.Helper()
	i := slices.IndexFunc(keys, func(k string) bool {
		return strings.HasPrefix(k, redisKeyPrefix+"{"+storyAccount.ID+":") && strings.HasSuffix(k, "}:a:"+number)
	})
	if i < 0 {
		t.Errorf("no audit list for %s among the Redis keys %v", number, keys)
		return
	}
	values, err := rdb.LRange(context.Background(), keys[i], 0, -1).Result()
	if err != nil {
		t.Fatalf("LRANGE %s: %v", keys[i], err)
	}
	var got []auditWant
	for j, v := range values {
		e, err := consent.UnmarshalAuditEntry([]byte(v))
		if err != nil {
			t.Fatalf("audit entry %d of %s: %v", j+1, keys[i], err)
		}
		if e.Account != storyAccount.ID || e.Number != number || e.Seq != uint32(j+1) {
			t.Errorf("audit entry %d of %s is for %s/%s with seq %d", j+1, keys[i], e.Account, e.Number, e.Seq)
		}
		got = append(got, auditWant{e.Event.String(), e.Outcome.String(), string(e.Skip), e.After.String()})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit list %s contains (event outcome skip state_after)\n%v, want\n%v", keys[i], got, want)
	}
}
