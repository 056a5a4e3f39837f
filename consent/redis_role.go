package consent

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// ErrReplicaConnection reports that a connection meant for the Sentinel
// master reached a replica. Around a failover a sentinel may still name
// the old master's address, where a restarted old master now runs as a
// replica, possibly empty or behind. Reading consent records there
// could allow an MT that a newer STOP forbids, so the store refuses the
// connection and the call fails until the sentinels name the new master.
var ErrReplicaConnection = errors.New("consent: connected to a redis replica, not the master")

// rejectReplica wraps an OnConnect hook of a Sentinel client so that a new
// connection fails unless the server's ROLE (Redis 2.8.12 and later) is
// master. go-redis runs the same hook on its connections to the
// sentinels, which report the role "sentinel" and are accepted too.
func rejectReplica(next func(ctx context.Context, cn *redis.Conn) error) func(ctx context.Context, cn *redis.Conn) error {
	return func(ctx context.Context, cn *redis.Conn) error {
		cmd := redis.NewSliceCmd(ctx, "role")
		if err := cn.Process(ctx, cmd); err != nil {
			return fmt.Errorf("ROLE: %w", err)
		}
		reply := cmd.Val()
		if len(reply) == 0 {
			return errors.New("ROLE: empty reply")
		}
		switch role, _ := reply[0].(string); role {
		case "master", "sentinel":
		case "slave", "replica":
			return ErrReplicaConnection
		default:
			return fmt.Errorf("ROLE: unknown role %q", role)
		}
		if next != nil {
			return next(ctx, cn)
		}
		return nil
	}
}
