package consent_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/consent/storetest"
	"github.com/optgate/optgate/internal/testredis"
)

// TestRedisCluster runs the conformance suite on a Redis Cluster of
// three masters, so every key a script touches must share a hash slot and
// pipelines spread over the nodes, and then kills one of the masters.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	persist := append([]string{"appendonly yes", "appendfsync always"}, redisDirectives...)
	c := testredis.StartCluster(t, 3, persist...)
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) consent.Store {
			return openRedis(t, nil, consent.RedisOptions{
				Universal: &redis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true},
			})
		})
	})
	// NodeDown runs last because it leaves the cluster without data it had.
	t.Run("NodeDown", func(t *testing.T) { testClusterNodeDown(t, c) })
}

// TestRedisSentinel runs the conformance suite on a master found through
// Sentinel, waiting for the replica on every write, then the tests of
// replica handling, and last a failover.
func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	g := testredis.StartSentinel(t, redisDirectives...)
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) consent.Store {
			return openRedis(t, nil, consent.RedisOptions{
				Universal:    &redis.UniversalOptions{Addrs: g.Addrs(), MasterName: g.MasterName},
				WaitReplicas: 1,
			})
		})
	})
	t.Run("WaitSeesPausedReplica", func(t *testing.T) { testWaitSeesPausedReplica(t, g) })
	t.Run("RejectsReplica", func(t *testing.T) { testSentinelRejectsReplica(t, g) })
	t.Run("Failover", func(t *testing.T) { testSentinelFailover(t, g) })
}

// topologyNumber returns the i-th test number of the topology tests,
// +12015550100 and up.
func topologyNumber(i int) string {
	return fmt.Sprintf("+120155%05d", 50100+i)
}

func TestRedisWaitWithoutReplicaFails(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	s := openRedis(t, srv, consent.RedisOptions{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond})
	_, err := s.Apply(context.Background(), redisEvent(consent.EventStop, storetest.Number, 1))
	if !errors.Is(err, consent.ErrNotReplicated) {
		t.Fatalf("STOP on a master without replicas: %v, want ErrNotReplicated", err)
	}
	// The change stays in effect on the master, which is the safe side
	// for an opt-out.
	if r := redisGet(t, s, storetest.Number); r.State != consent.StateOptedOut {
		t.Errorf("state after the unconfirmed STOP: %s, want opted_out", r.State)
	}
}

// testWaitSeesPausedReplica pauses the replica, so only a WAIT sent
// on the connection of the write, which waits for that write's offset,
// can notice that the replica has not confirmed it.
func testWaitSeesPausedReplica(t *testing.T, g *testredis.Sentinel) {
	s := openRedis(t, nil, consent.RedisOptions{
		Universal:    &redis.UniversalOptions{Addrs: g.Addrs(), MasterName: g.MasterName},
		WaitReplicas: 1,
		WaitTimeout:  500 * time.Millisecond,
	})
	redisApply(t, s, redisEvent(consent.EventRequest, storetest.Number, 1))

	replica := sentinelReplica(t, g)
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Apply(context.Background(), redisEvent(consent.EventStop, storetest.Number, 2))
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, consent.ErrNotReplicated) {
		t.Fatalf("STOP with the replica paused: %v, want ErrNotReplicated", err)
	}
	a := redisApply(t, s, redisEvent(consent.EventResume, storetest.Number, 3))
	if a.After.State != consent.StateRequested {
		t.Errorf("UNSTOP after the replica resumed: state %s, want requested", a.After.State)
	}
}

// testSentinelFailover kills the master under a store that waits
// for the replica: the store fails while no master is reachable, keeps
// every change it confirmed, and works again after the failover without
// being reopened.
func testSentinelFailover(t *testing.T, g *testredis.Sentinel) {
	s := openRedis(t, nil, consent.RedisOptions{
		Universal: &redis.UniversalOptions{
			Addrs: g.Addrs(), MasterName: g.MasterName,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second,
		},
		WaitReplicas: 1,
		WaitTimeout:  500 * time.Millisecond,
		Timeout:      1500 * time.Millisecond,
	})
	const numbers = 50
	for i := range numbers {
		redisApply(t, s, redisEvent(consent.EventStop, topologyNumber(i), 1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old, err := g.KillMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Until the sentinels promote the replica, reads and writes fail
	// rather than report a missing record.
	if r, err := s.Get(ctx, storetest.Account, topologyNumber(0)); err == nil {
		t.Errorf("Get with the master killed returned %+v and no error", r)
	}
	if _, err := s.Apply(ctx, redisEvent(consent.EventStop, topologyNumber(numbers), 2)); err == nil {
		t.Error("Apply with the master killed returned no error")
	}

	master, err := g.WaitFailover(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	for i := range numbers {
		r := waitGet(t, ctx, s, topologyNumber(i))
		if r.State != consent.StateOptedOut {
			t.Errorf("%s after the failover: state %s, want opted_out", topologyNumber(i), r.State)
		}
	}
	// The new master has no replica, so no change can be confirmed.
	if _, err := s.Apply(ctx, redisEvent(consent.EventStop, topologyNumber(numbers), 3)); !errors.Is(err, consent.ErrNotReplicated) {
		t.Errorf("Apply on a master without replica: %v, want ErrNotReplicated", err)
	}

	old.RestartReplicaOf(master)
	if err := g.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	a := redisApply(t, s, redisEvent(consent.EventStop, topologyNumber(numbers+1), 4))
	if a.After.State != consent.StateOptedOut {
		t.Errorf("STOP with the replica back: state %s, want opted_out", a.After.State)
	}
}

// waitGet reads a record, retrying for a few seconds while the client
// still reaches the old master.
func waitGet(t *testing.T, ctx context.Context, s consent.Store, number string) consent.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := s.Get(ctx, storetest.Account, number)
		if err == nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("get %s after the failover: %v", number, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testClusterNodeDown kills one of three masters, which have no
// replicas: reads fail rather than report a missing record, and every
// record reads again when the node restarts with its append-only file.
// Records on the other nodes may stay readable for about
// cluster-node-timeout, until the cluster marks itself failed, because
// with cluster-require-full-coverage yes (the Redis default) it then
// rejects every command.
func testClusterNodeDown(t *testing.T, c *testredis.Cluster) {
	s := openRedis(t, nil, consent.RedisOptions{
		Universal: &redis.UniversalOptions{
			Addrs: c.Addrs(), IsClusterMode: true,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		},
		Timeout: time.Second,
	})
	const numbers = 60
	for i := range numbers {
		redisApply(t, s, redisEvent(consent.EventStop, topologyNumber(i), 1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Nodes[1].Stop()

	failed := 0
	for i := range numbers {
		r, err := s.Get(ctx, storetest.Account, topologyNumber(i))
		switch {
		case err != nil:
			failed++
		case r.State != consent.StateOptedOut:
			t.Errorf("%s with a node down: state %s, want opted_out or an error", topologyNumber(i), r.State)
		}
	}
	t.Logf("%d of %d reads failed with one of three masters down", failed, numbers)
	if failed == 0 {
		t.Errorf("no read of %d failed with a master down", numbers)
	}

	c.Nodes[1].Restart()
	if err := c.WaitOK(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range numbers {
		if r := waitGet(t, ctx, s, topologyNumber(i)); r.State != consent.StateOptedOut {
			t.Errorf("%s after the node restarted: state %s, want opted_out", topologyNumber(i), r.State)
		}
	}
}

// testSentinelRejectsReplica sends the store's connections for the
// master to the replica, as happens when a sentinel still names the
// address of an old master that came back as a replica: the store must
// refuse to read the replica's records.
func testSentinelRejectsReplica(t *testing.T, g *testredis.Sentinel) {
	current, err := g.Master(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	master, replica := current.Addr, sentinelReplica(t, g).Addr
	redirect := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == master {
			addr = replica
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	s, err := consent.OpenRedis(context.Background(), consent.RedisOptions{
		Universal: &redis.UniversalOptions{Addrs: g.Addrs(), MasterName: g.MasterName, Dialer: redirect},
		Timeout:   500 * time.Millisecond,
	})
	if err == nil {
		_ = s.Close()
	}
	if !errors.Is(err, consent.ErrReplicaConnection) {
		t.Errorf("OpenRedis through connections to the replica: %v, want ErrReplicaConnection", err)
	}
}

// sentinelReplica returns the data server of the group that is not the
// master.
func sentinelReplica(t *testing.T, g *testredis.Sentinel) *testredis.Server {
	t.Helper()
	master, err := g.Master(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if master == g.Data[0] {
		return g.Data[1]
	}
	return g.Data[0]
}
