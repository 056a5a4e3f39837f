package gwstoretest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/gateway/gwstoretest"
	"github.com/optgate/optgate/internal/testredis"
)

func TestBoltStore(t *testing.T) {
	gwstoretest.Run(t, func(t testing.TB) gwstoretest.Opener {
		path := filepath.Join(t.TempDir(), "gateway.db")
		return func() gateway.Store {
			s, err := gateway.OpenBoltStore(path, gateway.BoltStoreOptions{})
			if err != nil {
				t.Fatalf("open bolt store: %v", err)
			}
			return s
		}
	})
}

func TestRedisStore(t *testing.T) {
	srv := testredis.Start(t)
	gwstoretest.Run(t, gwstoretest.RedisFactory(func() redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: srv.Addr})
	}))
}

// TestRedisFactoryIsolatesTests checks the premise of the suite on Redis:
// two states of one server share no entries.
func TestRedisFactoryIsolatesTests(t *testing.T) {
	srv := testredis.Start(t)
	var n atomic.Int32
	factory := gwstoretest.RedisFactory(func() redis.UniversalClient {
		n.Add(1)
		return redis.NewClient(&redis.Options{Addr: srv.Addr})
	})
	a, b := factory(t)(), factory(t)()
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	if _, err := a.Enqueue(ctx, []gateway.Item{{Queue: "acme", Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if d := b.Depths()["acme"]; d != 0 {
		t.Errorf("second state sees depth %d, want 0", d)
	}
	if got := fmt.Sprint(n.Load()); got != "2" {
		t.Errorf("client constructor called %s times, want 2", got)
	}
}

func BenchmarkBoltStore(b *testing.B) {
	gwstoretest.Bench(b, func(t testing.TB) gwstoretest.Opener {
		path := filepath.Join(t.TempDir(), "gateway.db")
		return func() gateway.Store {
			s, err := gateway.OpenBoltStore(path, gateway.BoltStoreOptions{})
			if err != nil {
				t.Fatalf("open bolt store: %v", err)
			}
			return s
		}
	})
}

// BenchmarkRedisStore runs on a server that keeps nothing on disk.
func BenchmarkRedisStore(b *testing.B) {
	srv := testredis.Start(b)
	gwstoretest.Bench(b, gwstoretest.RedisFactory(func() redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: srv.Addr})
	}))
}

// BenchmarkRedisStoreAOF runs on a server with the append-only file and
// appendfsync everysec, the persistence a production gateway store needs.
func BenchmarkRedisStoreAOF(b *testing.B) {
	srv := testredis.Start(b, "appendonly yes", "appendfsync everysec")
	gwstoretest.Bench(b, gwstoretest.RedisFactory(func() redis.UniversalClient {
		return redis.NewClient(&redis.Options{Addr: srv.Addr})
	}))
}
