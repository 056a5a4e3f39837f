package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
)

// ErrNotReplicated reports a gateway store write that the Redis master
// made but fewer replicas than RedisStoreOptions.WaitReplicas confirmed
// within WaitTimeout. The write may be lost if the master fails, so the
// caller treats it as not made: an MO or receipt gets a temporary
// deliver_sm_resp status, so that the carrier sends it again.
var ErrNotReplicated = errors.New("gateway store: write not confirmed by enough redis replicas")

// DefaultRedisWaitTimeout is the default of RedisStoreOptions.WaitTimeout.
const DefaultRedisWaitTimeout = time.Second

// runWrite runs a script that changes the store. With WaitReplicas set it
// sends WAIT (https://redis.io/commands/wait) in the same pipeline as the
// script, so that both run on one connection, because WAIT covers only the
// writes of its own connection. One script makes every change of a step,
// so a step costs one WAIT however many keys it writes. A reply for which
// wrote returns true (every reply when wrote is nil) becomes an error
// wrapping ErrNotReplicated when fewer replicas confirmed it, so that
// error always means that the master has the write.
func (s *RedisStore) runWrite(ctx context.Context, script *redis.Script, wrote func(reply any) bool,
	keys []string, args ...any) *redis.Cmd {
	if s.opts.WaitReplicas <= 0 {
		return script.Run(ctx, s.rdb, keys, args...)
	}
	writer, err := s.writer(ctx)
	if err != nil {
		return errorCmd(ctx, err)
	}
	cmd, acked := s.writeAndWait(ctx, writer, script, keys, args)
	if redis.HasErrorPrefix(cmd.Err(), "MOVED") {
		// The {gw} slot moved to another Cluster master since the client
		// read the slot map. The redirection names the new owner, so the
		// write is sent there once.
		if moved, ok := s.movedWriter(ctx, cmd.Err()); ok {
			cmd, acked = s.writeAndWait(ctx, moved, script, keys, args)
		}
	}
	if cmd.Err() == nil && acked < int64(s.opts.WaitReplicas) && (wrote == nil || wrote(cmd.Val())) {
		cmd.SetErr(fmt.Errorf("%w: %d of %d replicas within %v",
			ErrNotReplicated, acked, s.opts.WaitReplicas, s.opts.WaitTimeout))
	}
	return cmd
}

// writeAndWait sends the script and WAIT in one pipeline and returns the
// script's reply and the number of replicas that confirmed it. A script
// the server has not cached yet is sent again in full.
func (s *RedisStore) writeAndWait(ctx context.Context, writer redis.Cmdable, script *redis.Script,
	keys []string, args []any) (*redis.Cmd, int64) {
	cmd, wait := s.pipeWithWait(ctx, writer, script.EvalSha, keys, args)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		cmd, wait = s.pipeWithWait(ctx, writer, script.Eval, keys, args)
	}
	if cmd.Err() != nil {
		return cmd, 0
	}
	acked, err := wait.Int64()
	if err != nil {
		cmd.SetErr(fmt.Errorf("WAIT %d: %w", s.opts.WaitReplicas, err))
		return cmd, 0
	}
	return cmd, acked
}

type evalFunc func(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd

func (s *RedisStore) pipeWithWait(ctx context.Context, writer redis.Cmdable, eval evalFunc,
	keys []string, args []any) (*redis.Cmd, *redis.Cmd) {
	pipe := writer.Pipeline()
	cmd := eval(ctx, pipe, keys, args...)
	// Pipeliner has no Wait method, so WAIT goes as a raw command.
	wait := pipe.Do(ctx, "wait", s.opts.WaitReplicas, s.opts.WaitTimeout.Milliseconds())
	_, _ = pipe.Exec(ctx)
	return cmd, wait
}

// writer returns a client whose pipelines run on one connection to the
// master of the store's keys: the client itself, or on a Cluster the
// client of the master that owns the {gw} slot.
func (s *RedisStore) writer(ctx context.Context) (redis.Cmdable, error) {
	if cluster, ok := s.rdb.(*redis.ClusterClient); ok {
		return cluster.MasterForKey(ctx, s.key("seq"))
	}
	return s.rdb, nil
}

// movedWriter returns the client of the Cluster master a MOVED error
// names, when the client knows that master.
func (s *RedisStore) movedWriter(ctx context.Context, moved error) (redis.Cmdable, bool) {
	c, ok := consent.MovedMaster(ctx, s.rdb, moved)
	if !ok {
		return nil, false
	}
	return c, true
}

// wroteUnlessConflict reports a reply other than the -1 of a script whose
// optimistic check failed and which so wrote nothing.
func wroteUnlessConflict(reply any) bool { return !conflicted(reply) }

// errorCmd returns a failed command, for a call that could not be sent.
func errorCmd(ctx context.Context, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}
