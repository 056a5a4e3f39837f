package topologies

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/testredis"
)

// slotOwner returns the address and node id of the master that serves
// slot, as the node at seed reports it.
func slotOwner(ctx context.Context, seed string, slot int) (addr, id string, err error) {
	rdb := redis.NewClient(&redis.Options{Addr: seed})
	defer rdb.Close()
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return "", "", err
	}
	for _, s := range slots {
		if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr, s.Nodes[0].ID, nil
		}
	}
	return "", "", fmt.Errorf("no node serves slot %d", slot)
}

// moveSlot moves slot with its keys from its master to another master of
// c, the way redis-cli --cluster reshard does (IMPORTING, MIGRATING,
// MIGRATE, SETSLOT NODE), and returns the new owner's address. Clients
// that read the slot map before keep sending the slot's commands to the
// old master, which replies MOVED.
func moveSlot(t *testing.T, ctx context.Context, c *testredis.Cluster, slot int) string {
	t.Helper()
	fromAddr, fromID, err := slotOwner(ctx, c.Nodes[0].Addr, slot)
	if err != nil {
		t.Fatal(err)
	}
	var toAddr, toID string
	ids := map[string]string{}
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr})
		id, err := rdb.Do(ctx, "cluster", "myid").Text()
		_ = rdb.Close()
		if err != nil {
			t.Fatalf("CLUSTER MYID on %s: %v", n.Addr, err)
		}
		ids[n.Addr] = id
		if n.Addr != fromAddr && toAddr == "" {
			toAddr, toID = n.Addr, id
		}
	}
	from := redis.NewClient(&redis.Options{Addr: fromAddr})
	defer from.Close()
	to := redis.NewClient(&redis.Options{Addr: toAddr})
	defer to.Close()

	steps := []struct {
		rdb  *redis.Client
		args []any
	}{
		{to, []any{"cluster", "setslot", slot, "importing", fromID}},
		{from, []any{"cluster", "setslot", slot, "migrating", toID}},
	}
	for _, s := range steps {
		if err := s.rdb.Do(ctx, s.args...).Err(); err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
	}
	keys, err := from.ClusterGetKeysInSlot(ctx, slot, 1000).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		host, port, _ := strings.Cut(toAddr, ":")
		args := []any{"migrate", host, port, "", 0, 5000, "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := from.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("MIGRATE %d keys of slot %d to %s: %v", len(keys), slot, toAddr, err)
		}
	}
	for addr := range ids {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		err := rdb.Do(ctx, "cluster", "setslot", slot, "node", toID).Err()
		_ = rdb.Close()
		if err != nil {
			t.Fatalf("CLUSTER SETSLOT %d NODE on %s: %v", slot, addr, err)
		}
	}
	if _, id, err := slotOwner(ctx, fromAddr, slot); err != nil || id != toID {
		t.Fatalf("slot %d still served by %s after the move (error %v)", slot, id, err)
	}
	return toAddr
}

// waitReplicasConfirm waits until the replica of every master of c
// confirms a write with WAIT. StartClusterWithReplicas returns once the
// masters list their replicas as online, but a replica that is still
// loading the master's data confirms nothing yet.
func waitReplicasConfirm(t *testing.T, ctx context.Context, c *testredis.Cluster) {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer cc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		// Keys spread over the slots, so every master gets some.
		pending := 0
		for j := range 16 {
			key := fmt.Sprintf("probe:{%d}", 16*i+j)
			master, err := cc.MasterForKey(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			if err = master.Set(ctx, key, "x", time.Minute).Err(); err == nil {
				n, err = master.Wait(ctx, 1, 500*time.Millisecond).Result()
			}
			if err != nil || n < 1 {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 16 writes not confirmed by a replica after 20s", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keySlot returns the hash slot of key.
func keySlot(ctx context.Context, t *testing.T, seed, key string) int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: seed})
	defer rdb.Close()
	n, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestWaitFollowsMovedSlot writes with wait_replicas through a gateway
// store and a consent store whose clients read the slot map before the
// slot of their keys moved to another master. Each write must follow the
// MOVED redirection once and be confirmed by the new owner's replica.
func TestWaitFollowsMovedSlot(t *testing.T) {
	t.Parallel()
	c := testredis.StartClusterWithReplicas(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitReplicasConfirm(t, ctx, c)
	client := func() *redis.ClusterClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), ReadTimeout: 2 * time.Second})
	}

	t.Run("gateway store", func(t *testing.T) {
		s, err := gateway.OpenRedisStore(ctx, client(), gateway.RedisStoreOptions{
			KeyPrefix: "moved:", Consumer: "a", WaitReplicas: 1, WaitTimeout: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		enqueue := func(i int) error {
			_, err := s.Enqueue(ctx, []gateway.Item{{Queue: account, Kind: gateway.KindMO, Enqueued: time.Now(),
				MO: &gateway.MOItem{ID: "mo" + strconv.Itoa(i), From: subscriber(i), To: tollFree, Text: "STOP"}}})
			return err
		}
		if err := enqueue(0); err != nil {
			t.Fatalf("enqueue before the move: %v", err)
		}
		stream := "moved:{gw}:q:" + account
		newOwner := moveSlot(t, ctx, c, keySlot(ctx, t, c.Nodes[0].Addr, stream))
		if err := enqueue(1); err != nil {
			t.Fatalf("enqueue after the slot moved to %s: %v", newOwner, err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: newOwner})
		defer rdb.Close()
		if n, err := rdb.XLen(ctx, stream).Result(); err != nil || n != 2 {
			t.Errorf("the new owner %s has %d queue entries (error %v), want 2", newOwner, n, err)
		}
	})

	t.Run("consent store", func(t *testing.T) {
		s, err := consent.OpenRedis(ctx, consent.RedisOptions{
			Universal: &redis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true, ReadTimeout: 2 * time.Second},
			KeyPrefix: "movedc:", WaitReplicas: 1, WaitTimeout: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		number := subscriber(3)
		apply := func(kind consent.EventKind) error {
			_, err := s.Apply(ctx, consent.Event{Kind: kind, Account: account, Number: number,
				Import: consent.StateOptedIn, Source: consent.SourceImport, Time: time.Now()})
			return err
		}
		if err := apply(consent.EventImport); err != nil {
			t.Fatalf("import before the move: %v", err)
		}
		slot := recordSlot(t, ctx, c, "movedc:")
		moveSlot(t, ctx, c, slot)
		if err := apply(consent.EventStop); err != nil {
			t.Fatalf("STOP after the slot moved: %v", err)
		}
		rec, err := s.Get(ctx, account, number)
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != consent.StateOptedOut {
			t.Errorf("record after STOP: %s, want opted_out", rec.State)
		}
	})
}

// recordSlot returns the slot of the first key under prefix that a scan
// of the masters finds. The store has written one number only, and its
// record and audit list share one slot.
func recordSlot(t *testing.T, ctx context.Context, c *testredis.Cluster, prefix string) int {
	t.Helper()
	for _, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr})
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		_ = rdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 0 {
			return keySlot(ctx, t, n.Addr, keys[0])
		}
	}
	t.Fatalf("no key under %s on any master", prefix)
	return 0
}
