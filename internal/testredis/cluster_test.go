package testredis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStartClusterServesAllSlots(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	if len(c.Nodes) != 3 {
		t.Fatalf("cluster has %d nodes, want 3", len(c.Nodes))
	}
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()[:1]})
	defer rdb.Close()

	// Keys spread over all slots, so every node must serve some of them.
	for i := range 300 {
		key := fmt.Sprintf("key-%d", i)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("SET %s through the cluster: %v", key, err)
		}
	}
	for _, n := range c.Nodes {
		var size int64
		err := withClient(n.Addr, func(node *redis.Client) error {
			var err error
			size, err = node.DBSize(ctx).Result()
			return err
		})
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", n.Addr, err)
		}
		if size == 0 {
			t.Errorf("node %s holds no key of 300", n.Addr)
		}
	}
}

func TestClusterFailsWhenNodeKilled(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	c.Nodes[1].Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		state, _, err := clusterInfo(ctx, c.Nodes[0].Addr)
		if err != nil {
			t.Fatalf("CLUSTER INFO on %s: %v", c.Nodes[0].Addr, err)
		}
		if state == "fail" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("node %s still reports cluster_state %q with a master killed", c.Nodes[0].Addr, state)
		}
		time.Sleep(50 * time.Millisecond)
	}

	c.Nodes[1].Restart()
	if err := c.WaitOK(ctx); err != nil {
		t.Fatalf("cluster after the node restarted: %v", err)
	}
}

func TestClusterReplicaTakesOver(t *testing.T) {
	t.Parallel()
	c := StartClusterWithReplicas(t, 3)
	if len(c.Replicas) != 3 {
		t.Fatalf("cluster has %d replicas, want 3", len(c.Replicas))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	for i := range 100 {
		if err := rdb.Set(ctx, fmt.Sprintf("key-%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key-%d: %v", i, err)
		}
	}
	// Let every replica catch up before its master dies.
	for _, n := range c.Nodes {
		err := withClient(n.Addr, func(node *redis.Client) error {
			return node.Wait(ctx, 1, 2*time.Second).Err()
		})
		if err != nil {
			t.Fatalf("WAIT on %s: %v", n.Addr, err)
		}
	}

	c.Nodes[0].Stop()
	master, err := c.WaitFailover(ctx, c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if master != c.Replicas[0] {
		t.Errorf("new master is %s, want the replica %s", master.Addr, c.Replicas[0].Addr)
	}
	for i := range 100 {
		key := fmt.Sprintf("key-%d", i)
		var v int
		var err error
		// go-redis keeps its slot map, which still names the dead master,
		// until a reload: after an error it has to be asked for one.
		for range 50 {
			if v, err = rdb.Get(ctx, key).Int(); err == nil {
				break
			}
			rdb.ReloadState(ctx)
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || v != i {
			t.Fatalf("GET %s after the failover: %d, %v; want %d", key, v, err, i)
		}
	}

	c.Nodes[0].Restart()
	if err := c.WaitOK(ctx); err != nil {
		t.Fatalf("cluster after the old master restarted: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		role, err := serverRole(ctx, c.Nodes[0].Addr)
		if err == nil && role == "slave" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted old master %s has role %q (%v), want slave", c.Nodes[0].Addr, role, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
