package testredis

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestSentinelFailsOver(t *testing.T) {
	t.Parallel()
	g := StartSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    g.MasterName,
		SentinelAddrs: g.Addrs(),
	})
	defer rdb.Close()
	if err := rdb.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatalf("SET before the failover: %v", err)
	}
	// WAIT makes sure the key reached the replica before the master dies.
	if n, err := rdb.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 returned %d, %v; want 1 replica", n, err)
	}

	old, err := g.KillMaster(ctx)
	if err != nil {
		t.Fatalf("kill master: %v", err)
	}
	if old != g.Data[0] {
		t.Errorf("first master is %s, want Data[0] %s", old.Addr, g.Data[0].Addr)
	}
	master, err := g.WaitFailover(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if master != g.Data[1] {
		t.Errorf("new master is %s, want the replica %s", master.Addr, g.Data[1].Addr)
	}
	if v, err := rdb.Get(ctx, "before").Result(); err != nil || v != "1" {
		t.Errorf("GET before on the new master: %q, %v; want \"1\"", v, err)
	}

	old.RestartReplicaOf(master)
	if err := g.WaitReady(ctx); err != nil {
		t.Fatalf("after restarting the old master: %v", err)
	}
	if role, err := serverRole(ctx, old.Addr); err != nil || role != "slave" {
		t.Errorf("restarted old master has role %q (%v), want slave", role, err)
	}
}
