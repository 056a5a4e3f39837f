package consent

import (
	"context"
	"errors"
	"fmt"

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
	res, acked, err := s.applyAndWait(ctx, writer, applyScript.EvalSha, keys, args)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		res, acked, err = s.applyAndWait(ctx, writer, applyScript.Eval, keys, args)
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
//
// TODO: on a Cluster, a slot that moved to another node fails the write
// with MOVED or a connection error instead of following the redirection.
// The call after it uses the slot map that wrap has reloaded.
func (s *RedisStore) writerFor(ctx context.Context, key string) (redis.Cmdable, error) {
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		return cluster.MasterForKey(ctx, key)
	}
	return s.client, nil
}
