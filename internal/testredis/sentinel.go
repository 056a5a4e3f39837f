package testredis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMasterName is the name the sentinels of StartSentinel monitor
// the master under.
const SentinelMasterName = "optgate-test"

// Sentinel timing. The Redis defaults (30 s down-after, 3 min failover
// timeout) suit production, but tests need a failover within seconds.
const (
	// sentinelDownAfter is down-after-milliseconds: how long the master
	// may stay silent before a sentinel considers it down. 2 s leaves
	// room for a loaded test machine, where a slow reply must not make
	// the sentinels fail over a healthy master.
	sentinelDownAfter = 2000
	// sentinelFailoverTimeout is failover-timeout in milliseconds: how
	// long a failover may take before another sentinel retries it.
	sentinelFailoverTimeout = 4000
	// sentinelQuorum is how many sentinels must agree that the master is
	// down, a majority of three.
	sentinelQuorum = 2
)

// Sentinel is a Redis Sentinel group owned by one test: two data servers,
// started as one master and one replica, watched by three sentinels.
type Sentinel struct {
	// MasterName is the name the master is monitored under.
	MasterName string
	// Data are the data servers. Data[0] starts as the master and Data[1]
	// as its replica, and a failover swaps the roles.
	Data []*Server
	// Sentinels are the three sentinel processes.
	Sentinels []*Server
}

// StartSentinel starts one master, one replica of it and three sentinels
// with a quorum of two, and waits until the replica is in sync and every
// sentinel has discovered the master, the replica and the two other
// sentinels.
// The directives apply to both data servers. Every process is killed when
// the test ends.
func StartSentinel(t testing.TB, directives ...string) *Sentinel {
	t.Helper()
	g := &Sentinel{MasterName: SentinelMasterName}
	master := Start(t, directives...)
	replica := Start(t, append([]string{"replicaof " + strings.Replace(master.Addr, ":", " ", 1)},
		directives...)...)
	g.Data = []*Server{master, replica}
	for range 3 {
		g.Sentinels = append(g.Sentinels, startSentinelProcess(t, g.MasterName, master.Addr))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.WaitReady(ctx); err != nil {
		t.Fatalf("start redis sentinel group: %v", err)
	}
	return g
}

// startSentinelProcess starts one sentinel monitoring the master at addr,
// on a new port when the sentinel exits at start. A sentinel rewrites its
// configuration file, so the file lives in the sentinel's own directory.
func startSentinelProcess(t testing.TB, name, addr string) *Server {
	t.Helper()
	var err error
	for range startAttempts {
		var s *Server
		s, err = trySentinelProcess(t, name, addr)
		if err == nil {
			return s
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatal(err)
	return nil
}

func trySentinelProcess(t testing.TB, name, addr string) (*Server, error) {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("pick a free port for redis sentinel: %w", err)
	}
	dir := t.TempDir()
	host, masterPort, _ := strings.Cut(addr, ":")
	conf := strings.Join([]string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(port),
		"dir " + dir,
		fmt.Sprintf("sentinel monitor %s %s %s %d", name, host, masterPort, sentinelQuorum),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", name, sentinelDownAfter),
		fmt.Sprintf("sentinel failover-timeout %s %d", name, sentinelFailoverTimeout),
		fmt.Sprintf("sentinel parallel-syncs %s 1", name),
		"",
	}, "\n")
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write sentinel configuration: %w", err)
	}
	// Debian's redis-server runs as a sentinel with --sentinel; it is the
	// same binary as redis-sentinel.
	return launch(t, port, dir, []string{path, "--sentinel"})
}

// Addrs returns the addresses of the sentinels, for a client's
// configuration.
func (g *Sentinel) Addrs() []string {
	addrs := make([]string, len(g.Sentinels))
	for i, s := range g.Sentinels {
		addrs[i] = s.Addr
	}
	return addrs
}

// WaitReady waits until every running sentinel names the same running
// master, lists every other data server as its replica and has discovered
// the other sentinels, and until the master reports every replica online.
func (g *Sentinel) WaitReady(ctx context.Context) error {
	var last error
	for {
		last = g.ready(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sentinels not ready: %w (%v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (g *Sentinel) ready(ctx context.Context) error {
	master, err := g.Master(ctx)
	if err != nil {
		return err
	}
	replicas := len(g.Data) - 1
	for _, s := range g.Sentinels {
		if !s.Running() {
			continue
		}
		info, err := sentinelMaster(ctx, s.Addr, g.MasterName)
		if err != nil {
			return err
		}
		addr := info["ip"] + ":" + info["port"]
		switch {
		case addr != master.Addr:
			return fmt.Errorf("sentinel %s names master %s, another sentinel names %s", s.Addr, addr, master.Addr)
		case strings.Contains(info["flags"], "down"):
			return fmt.Errorf("sentinel %s reports the master with flags %s", s.Addr, info["flags"])
		case info["num-slaves"] != strconv.Itoa(replicas):
			return fmt.Errorf("sentinel %s lists %s replicas, want %d", s.Addr, info["num-slaves"], replicas)
		case info["num-other-sentinels"] != strconv.Itoa(len(g.Sentinels)-1):
			return fmt.Errorf("sentinel %s has discovered %s other sentinels, want %d",
				s.Addr, info["num-other-sentinels"], len(g.Sentinels)-1)
		}
	}
	online, err := onlineReplicas(ctx, master.Addr)
	if err != nil {
		return err
	}
	if online != replicas {
		return fmt.Errorf("master %s has %d replicas online, want %d", master.Addr, online, replicas)
	}
	return nil
}

// Master returns the data server that the first running sentinel names
// as master, after checking that the server runs and reports role:master.
func (g *Sentinel) Master(ctx context.Context) (*Server, error) {
	for _, s := range g.Sentinels {
		if !s.Running() {
			continue
		}
		var addr []string
		err := withSentinelClient(s.Addr, func(sc *redis.SentinelClient) error {
			var err error
			addr, err = sc.GetMasterAddrByName(ctx, g.MasterName).Result()
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ask sentinel %s for the master: %w", s.Addr, err)
		}
		want := strings.Join(addr, ":")
		for _, d := range g.Data {
			if d.Addr != want {
				continue
			}
			if !d.Running() {
				return nil, fmt.Errorf("sentinel %s names master %s, which is stopped", s.Addr, want)
			}
			role, err := serverRole(ctx, d.Addr)
			if err != nil {
				return nil, err
			}
			if role != "master" {
				return nil, fmt.Errorf("sentinel %s names master %s, which reports role %s", s.Addr, want, role)
			}
			return d, nil
		}
		return nil, fmt.Errorf("sentinel %s names master %s, which is not a server of the group", s.Addr, want)
	}
	return nil, errors.New("no sentinel is running")
}

// KillMaster stops the current master at once, as a crash would, and
// returns it.
func (g *Sentinel) KillMaster(ctx context.Context) (*Server, error) {
	master, err := g.Master(ctx)
	if err != nil {
		return nil, err
	}
	master.Stop()
	return master, nil
}

// WaitFailover waits until every running sentinel names the same running
// master, other than old, and that server reports role:master. Restart
// old only after that: a sentinel that still names old would turn the
// new master into a replica of the restarted, empty server.
func (g *Sentinel) WaitFailover(ctx context.Context, old *Server) (*Server, error) {
	var last error
	for {
		master, err := g.Master(ctx)
		if err == nil {
			err = g.agree(ctx, master)
		}
		switch {
		case err != nil:
			last = err
		case master == old:
			last = fmt.Errorf("the sentinels still name %s", old.Addr)
		default:
			return master, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no failover from %s: %w (%v)", old.Addr, ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// agree checks that every running sentinel names master.
func (g *Sentinel) agree(ctx context.Context, master *Server) error {
	for _, s := range g.Sentinels {
		if !s.Running() {
			continue
		}
		info, err := sentinelMaster(ctx, s.Addr, g.MasterName)
		if err != nil {
			return err
		}
		if addr := info["ip"] + ":" + info["port"]; addr != master.Addr {
			return fmt.Errorf("sentinel %s names master %s, another sentinel names %s", s.Addr, addr, master.Addr)
		}
	}
	return nil
}

// sentinelMaster returns SENTINEL MASTER name as asked of one sentinel.
func sentinelMaster(ctx context.Context, addr, name string) (map[string]string, error) {
	var info map[string]string
	err := withSentinelClient(addr, func(sc *redis.SentinelClient) error {
		var err error
		info, err = sc.Master(ctx, name).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("SENTINEL MASTER %s on %s: %w", name, addr, err)
	}
	return info, nil
}

// serverRole returns the role line of INFO replication: master or slave.
func serverRole(ctx context.Context, addr string) (string, error) {
	fields, err := replicationInfo(ctx, addr)
	return fields["role"], err
}

// onlineReplicas counts the replicas that the master at addr reports
// online in INFO replication.
func onlineReplicas(ctx context.Context, addr string) (int, error) {
	fields, err := replicationInfo(ctx, addr)
	if err != nil {
		return 0, err
	}
	n := 0
	for name, value := range fields {
		if strings.HasPrefix(name, "slave") && strings.Contains(value, "state=online") {
			n++
		}
	}
	return n, nil
}

// replicationInfo returns the fields of INFO replication of one server.
func replicationInfo(ctx context.Context, addr string) (map[string]string, error) {
	fields := map[string]string{}
	err := withClient(addr, func(rdb *redis.Client) error {
		info, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		for line := range strings.SplitSeq(info, "\r\n") {
			if name, value, ok := strings.Cut(line, ":"); ok {
				fields[name] = value
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("INFO replication on %s: %w", addr, err)
	}
	return fields, nil
}

// withSentinelClient runs fn with a client of the sentinel at addr.
func withSentinelClient(addr string, fn func(sc *redis.SentinelClient) error) error {
	sc := redis.NewSentinelClient(&redis.Options{
		Addr:            addr,
		DialTimeout:     time.Second,
		ReadTimeout:     2 * time.Second,
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	defer sc.Close()
	return fn(sc)
}
