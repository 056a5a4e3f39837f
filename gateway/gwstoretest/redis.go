package gwstoretest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/gateway"
)

var redisStates atomic.Int64

// RedisFactory returns a Factory of gateway.RedisStore states on the
// Redis that newClient connects to, which may be a standalone server, a
// Sentinel master or a Cluster. Each state gets a key prefix of its own,
// so the tests of one run share the server without seeing each other's
// keys. Each store the Opener opens gets a new client from newClient and
// closes it on Close.
func RedisFactory(newClient func() redis.UniversalClient) Factory {
	return func(t testing.TB) Opener {
		prefix := fmt.Sprintf("gwstoretest:%d:", redisStates.Add(1))
		return func() gateway.Store {
			s, err := gateway.OpenRedisStore(context.Background(), newClient(), gateway.RedisStoreOptions{
				KeyPrefix: prefix,
				Consumer:  "gwstoretest",
			})
			if err != nil {
				t.Fatalf("open redis store: %v", err)
			}
			return s
		}
	}
}
