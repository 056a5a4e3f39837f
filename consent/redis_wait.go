package consent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated reports that a change was written on the Redis master
// but fewer replicas than RedisOptions.WaitReplicas confirmed it in time.
// The change is in effect on the master and may be lost if the master
// fails, so the caller must treat it as not made. The engine then fails
// closed, and an MO gets a temporary error so that the carrier sends it
// again.
var ErrNotReplicated = errors.New("consent: change not confirmed by enough redis replicas")

// runApply runs applyScript. With WaitReplicas set it sends WAIT in the
// same pipeline, and so on the same connection, because WAIT only covers
// the writes of its own connection.
func (s *RedisStore) runApply(ctx context.Context, keys []string, args ...any) (any, error) {
	if s.opts.WaitReplicas == 0 {
		return applyScript.Run(ctx, s.client, keys, args...).Result()
	}
	writer, err := s.writerFor(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	res, acked, err := s.applyWithWait(ctx, writer, keys, args)
	if redis.HasErrorPrefix(err, "MOVED") {
		// The slot moved to another Cluster master since the client read
		// the slot map. The redirection names the new owner, so the change
		// is sent there once.
		if moved, ok := s.movedWriter(ctx, err); ok {
			res, acked, err = s.applyWithWait(ctx, moved, keys, args)
		}
	}
	if err != nil {
		return nil, err
	}
	// A conflict reply wrote nothing, so there is nothing to confirm.
	if _, wrote := res.(int64); wrote && acked < int64(s.opts.WaitReplicas) {
		return nil, fmt.Errorf("%w: %d of %d replicas within %v",
			ErrNotReplicated, acked, s.opts.WaitReplicas, s.opts.WaitTimeout)
	}
	return res, nil
}

// applyWithWait runs applyAndWait, and again with the whole script when
// the server has not cached it yet.
func (s *RedisStore) applyWithWait(ctx context.Context, writer redis.Cmdable, keys []string,
	args []any) (any, int64, error) {
	res, acked, err := s.applyAndWait(ctx, writer, applyScript.EvalSha, keys, args)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		res, acked, err = s.applyAndWait(ctx, writer, applyScript.Eval, keys, args)
	}
	return res, acked, err
}

// evalFunc is Script.EvalSha or Script.Eval.
type evalFunc func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd

// applyAndWait sends the script and WAIT in one pipeline and returns the
// script's reply and the number of replicas that confirmed it.
func (s *RedisStore) applyAndWait(ctx context.Context, writer redis.Cmdable, eval evalFunc,
	keys []string, args []any) (any, int64, error) {
	pipe := writer.Pipeline()
	script := eval(ctx, pipe, keys, args...)
	// Pipeliner has no Wait method, so WAIT goes as a raw command.
	wait := pipe.Do(ctx, "wait", s.opts.WaitReplicas, s.opts.WaitTimeout.Milliseconds())
	_, _ = pipe.Exec(ctx)
	res, err := script.Result()
	if err != nil {
		return nil, 0, err
	}
	acked, err := wait.Int64()
	if err != nil {
		return nil, 0, fmt.Errorf("WAIT %d: %w", s.opts.WaitReplicas, err)
	}
	return res, acked, nil
}

// writerFor returns a client whose pipelines run on one connection to the
// master that holds key: the client itself, or on a Cluster the client of
// the key's master node.
func (s *RedisStore) writerFor(ctx context.Context, key string) (redis.Cmdable, error) {
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		return cluster.MasterForKey(ctx, key)
	}
	return s.client, nil
}

// movedWriter returns the client of the Cluster master a MOVED error
// names, when the client knows that master.
func (s *RedisStore) movedWriter(ctx context.Context, moved error) (redis.Cmdable, bool) {
	c, ok := MovedMaster(ctx, s.client, moved)
	if !ok {
		return nil, false
	}
	return c, true
}

// MovedMaster returns the client of the Cluster master that a MOVED error
// names, when client is a Cluster client that knows that master. The
// gateway's Redis store uses it too, to send a write and its WAIT again to
// the slot's new owner. ForEachMaster reads the slot map again before it
// runs, so the client also routes the calls after this one to that owner.
func MovedMaster(ctx context.Context, client redis.UniversalClient, moved error) (*redis.Client, bool) {
	cluster, ok := client.(*redis.ClusterClient)
	if !ok {
		return nil, false
	}
	// The error reads "MOVED <slot> <host:port>".
	fields := strings.Fields(moved.Error())
	if len(fields) != 3 {
		return nil, false
	}
	var mu sync.Mutex
	var found *redis.Client
	_ = cluster.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		if c.Options().Addr == fields[2] {
			mu.Lock()
			found = c
			mu.Unlock()
		}
		return nil
	})
	return found, found != nil
}

// CheckReplicas reports whether a change can be confirmed now. It returns
// nil when WaitReplicas is 0, or when every master has at least
// WaitReplicas replicas that are online and acknowledged the replication
// stream within WaitTimeout. The lag INFO replication reports is in whole
// seconds, so the bound is WaitTimeout rounded up, and at least 1 s.
// Otherwise it returns an error wrapping ErrNotReplicated that names the
// master and its count, so that readiness checks can report why changes
// fail.
func (s *RedisStore) CheckReplicas(ctx context.Context) error {
	if s.opts.WaitReplicas == 0 {
		return nil
	}
	maxLag := int64((s.opts.WaitTimeout + time.Second - 1) / time.Second)
	maxLag = max(maxLag, 1)
	check := func(ctx context.Context, c redis.Cmdable, name string) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return fmt.Errorf("read replication state of %s: %w", name, err)
		}
		if n := onlineReplicas(info, maxLag); n < s.opts.WaitReplicas {
			return fmt.Errorf("%w: %s has %d of %d replicas online with a lag of at most %ds",
				ErrNotReplicated, name, n, s.opts.WaitReplicas, maxLag)
		}
		return nil
	}
	cluster, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return check(ctx, s.client, "the master")
	}
	var mu sync.Mutex
	var errs []error
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		if err := check(ctx, c, "master "+c.Options().Addr); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read replication state of the cluster: %w", err)
	}
	return errors.Join(errs...)
}

// onlineReplicas counts the replicas in the output of INFO replication
// (lines "slaveN:ip=...,state=online,...,lag=L") whose state is online
// and whose lag, the seconds since their last acknowledgement, is at most
// maxLag.
func onlineReplicas(info string, maxLag int64) int {
	n := 0
	for line := range strings.Lines(info) {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "slave") || strings.Contains(name, "_") {
			continue
		}
		online, lag := false, int64(-1)
		for f := range strings.SplitSeq(fields, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "state":
				online = v == "online"
			case "lag":
				if l, err := strconv.ParseInt(v, 10, 64); err == nil {
					lag = l
				}
			}
		}
		if online && lag >= 0 && lag <= maxLag {
			n++
		}
	}
	return n
}
