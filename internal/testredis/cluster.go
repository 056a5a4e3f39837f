package testredis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// clusterNodeTimeout is cluster-node-timeout: how long, in milliseconds, a
// node may stay unreachable before the others mark it failed. The Redis
// default is 15 s, but tests need the cluster to notice a killed node
// quickly.
const clusterNodeTimeout = 1000

// Cluster is a Redis Cluster owned by one test.
type Cluster struct {
	// Nodes are the masters the cluster starts with, in the order of the
	// slot ranges they serve: node 0 has the first range.
	Nodes []*Server
	// Replicas is empty or has one replica per master. Replicas[i]
	// starts as the replica of Nodes[i], and a failover swaps the roles of
	// the two.
	Replicas []*Server
}

// Addrs returns the addresses of every node, for a client's seed list.
func (c *Cluster) Addrs() []string {
	var addrs []string
	for _, n := range c.all() {
		addrs = append(addrs, n.Addr)
	}
	return addrs
}

func (c *Cluster) all() []*Server {
	return append(slices.Clone(c.Nodes), c.Replicas...)
}

// StartCluster starts masters redis-server processes in cluster mode,
// splits the 16384 hash slots between them in equal ranges, joins them
// with CLUSTER MEET and waits until every node reports cluster_state:ok
// and has discovered every other node. It needs at least one master. Every
// process is killed when the test ends.
func StartCluster(t testing.TB, masters int, directives ...string) *Cluster {
	t.Helper()
	return startCluster(t, masters, false, directives)
}

// StartClusterWithReplicas is StartCluster with one replica per master,
// so that the cluster fails over when a master dies. It also waits until
// every master reports its replica online.
func StartClusterWithReplicas(t testing.TB, masters int, directives ...string) *Cluster {
	t.Helper()
	return startCluster(t, masters, true, directives)
}

func startCluster(t testing.TB, masters int, replicas bool, directives []string) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatalf("start redis cluster: %d masters, want at least 1", masters)
	}
	c := &Cluster{}
	busPorts := map[*Server]int{}
	for range masters {
		n, bus := startClusterNode(t, directives)
		c.Nodes = append(c.Nodes, n)
		busPorts[n] = bus
	}
	for range masters {
		if !replicas {
			break
		}
		n, bus := startClusterNode(t, directives)
		c.Replicas = append(c.Replicas, n)
		busPorts[n] = bus
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.join(ctx, busPorts); err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	if err := c.WaitOK(ctx); err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	if err := c.replicate(ctx); err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	return c
}

// startClusterNode starts one node in cluster mode and returns it with
// its cluster bus port. It picks new ports when the node exits at start.
func startClusterNode(t testing.TB, directives []string) (*Server, int) {
	t.Helper()
	var err error
	for range startAttempts {
		var bus int
		bus, err = FreePort()
		if err != nil {
			t.Fatalf("pick a free cluster bus port: %v", err)
		}
		// cluster-port sets the bus port explicitly, because the default
		// (port + 10000) is past 65535 for ports above 55535.
		d := append([]string{
			"cluster-enabled yes",
			"cluster-config-file nodes.conf",
			"cluster-port " + strconv.Itoa(bus),
			"cluster-node-timeout " + strconv.Itoa(clusterNodeTimeout),
		}, directives...)
		var s *Server
		s, err = start(t, d)
		if err == nil {
			return s, bus
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatal(err)
	return nil, 0
}

// join assigns every master its slot range and introduces every other
// node to node 0.
func (c *Cluster) join(ctx context.Context, busPorts map[*Server]int) error {
	per := clusterSlots / len(c.Nodes)
	for i, n := range c.Nodes {
		first := i * per
		last := first + per - 1
		if i == len(c.Nodes)-1 {
			last = clusterSlots - 1
		}
		err := withClient(n.Addr, func(rdb *redis.Client) error {
			if err := rdb.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
				return fmt.Errorf("CLUSTER ADDSLOTSRANGE %d %d on %s: %w", first, last, n.Addr, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return withClient(c.Nodes[0].Addr, func(rdb *redis.Client) error {
		for _, n := range c.all()[1:] {
			host, port, _ := strings.Cut(n.Addr, ":")
			cmd := rdb.Do(ctx, "CLUSTER", "MEET", host, port, busPorts[n])
			if err := cmd.Err(); err != nil {
				return fmt.Errorf("CLUSTER MEET %s on %s: %w", n.Addr, c.Nodes[0].Addr, err)
			}
		}
		return nil
	})
}

// replicate makes Replicas[i] a replica of Nodes[i] with CLUSTER
// REPLICATE and waits until every master reports its replica online.
func (c *Cluster) replicate(ctx context.Context) error {
	for i, r := range c.Replicas {
		master := c.Nodes[i]
		var id string
		err := withClient(master.Addr, func(rdb *redis.Client) error {
			var err error
			id, err = rdb.ClusterMyID(ctx).Result()
			return err
		})
		if err != nil {
			return fmt.Errorf("CLUSTER MYID on %s: %w", master.Addr, err)
		}
		err = withClient(r.Addr, func(rdb *redis.Client) error {
			return rdb.ClusterReplicate(ctx, id).Err()
		})
		if err != nil {
			return fmt.Errorf("CLUSTER REPLICATE %s on %s: %w", id, r.Addr, err)
		}
	}
	for _, master := range c.Nodes[:len(c.Replicas)] {
		for {
			online, err := onlineReplicas(ctx, master.Addr)
			if err == nil && online == 1 {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("master %s has %d replicas online, want 1: %w (%v)", master.Addr, online, ctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// WaitOK waits until every running node reports cluster_state:ok and
// has discovered as many nodes as the cluster has. After a master without
// replica was killed, the others report cluster_state:fail until it runs
// again. With replicas, they report ok again once a replica took over.
func (c *Cluster) WaitOK(ctx context.Context) error {
	var last string
	for {
		ok := true
		for _, n := range c.all() {
			if !n.Running() {
				continue
			}
			state, known, err := clusterInfo(ctx, n.Addr)
			if err != nil || state != "ok" || known != len(c.all()) {
				last = fmt.Sprintf("node %s: cluster_state %q, %d of %d nodes known, error %v",
					n.Addr, state, known, len(c.all()), err)
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %w (%s)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitFailover waits until the replica paired with the stopped node dead
// (Replicas[i] for Nodes[i], or the other way round after an earlier
// failover) reports role:master, and then for WaitOK. It returns the new
// master.
func (c *Cluster) WaitFailover(ctx context.Context, dead *Server) (*Server, error) {
	var partner *Server
	for i := range c.Replicas {
		switch dead {
		case c.Nodes[i]:
			partner = c.Replicas[i]
		case c.Replicas[i]:
			partner = c.Nodes[i]
		}
	}
	if partner == nil {
		return nil, fmt.Errorf("node %s has no replica to take over", dead.Addr)
	}
	for {
		role, err := serverRole(ctx, partner.Addr)
		if err == nil && role == "master" {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s did not take over from %s: %w (role %q, %v)",
				partner.Addr, dead.Addr, ctx.Err(), role, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return partner, c.WaitOK(ctx)
}

// clusterInfo returns cluster_state and cluster_known_nodes of one node.
func clusterInfo(ctx context.Context, addr string) (state string, known int, err error) {
	err = withClient(addr, func(rdb *redis.Client) error {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			name, value, _ := strings.Cut(line, ":")
			switch name {
			case "cluster_state":
				state = value
			case "cluster_known_nodes":
				known, _ = strconv.Atoi(value)
			}
		}
		return nil
	})
	return state, known, err
}

// withClient runs fn with a plain client of the server at addr.
func withClient(addr string, fn func(rdb *redis.Client) error) error {
	rdb := redis.NewClient(&redis.Options{
		Addr:            addr,
		DialTimeout:     time.Second,
		ReadTimeout:     2 * time.Second,
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	defer rdb.Close()
	return fn(rdb)
}
