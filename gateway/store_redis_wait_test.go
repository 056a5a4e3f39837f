package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
)

// startReplicated starts a master and one replica of it, and waits until
// the replica is online.
func startReplicated(t testing.TB) (master, replica *testredis.Server) {
	t.Helper()
	// Without the delay a diskless full sync waits 5 s for more replicas.
	master = testredis.Start(t, "repl-diskless-sync-delay 0")
	host, port, _ := strings.Cut(master.Addr, ":")
	replica = testredis.Start(t, "replicaof "+host+" "+port)
	waitReplicas(t, master.Addr, 1)
	return master, replica
}

// waitReplicas waits until n replicas confirm a write to the master at
// addr. A replica listed as online may still be loading the master's data
// and so confirms nothing yet.
func waitReplicas(t testing.TB, addr string, n int) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var confirmed int64
		err := rdb.Set(ctx, "probe", time.Now().String(), 0).Err()
		if err == nil {
			confirmed, err = rdb.Wait(ctx, n, 500*time.Millisecond).Result()
		}
		if err == nil && confirmed >= int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replicas of %s confirm writes after 10s (error %v)", confirmed, n, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitWrites are the store writes that come before an acknowledgement to
// a peer, each of which must wait for the replicas.
var waitWrites = []struct {
	name  string
	write func(ctx context.Context, s *RedisStore, i int) error
}{
	{"enqueue", func(ctx context.Context, s *RedisStore, i int) error {
		_, err := s.Enqueue(ctx, []Item{{Queue: "acme", Kind: KindMO, Enqueued: time.Now(),
			MO: &MOItem{ID: "mo" + string(rune('a'+i)), From: "+12015550101", To: "+18885550100", Text: "STOP"}}})
		return err
	}},
	{"add segment", func(ctx context.Context, s *RedisStore, i int) error {
		_, _, err := s.AddPart(ctx, smpp.Part{Key: smpp.PartKey{Session: "sim", Source: "+12015550101",
			Destination: "+18885550100", Ref: uint16(i), Total: 2}, Seq: 1, Body: []byte("half")}, time.Now())
		return err
	}},
	{"put message", func(ctx context.Context, s *RedisStore, i int) error {
		_, _, err := s.PutMessage(ctx, MessageRecord{ID: "m" + string(rune('a'+i)), Account: "acme",
			Carrier: "sim", Segments: []SegmentRecord{{CarrierID: "C" + string(rune('a'+i)),
				Keys: []string{"C" + string(rune('a'+i))}}}, Expires: time.Now().Add(time.Hour)}, nil)
		return err
	}},
	{"keep receipt", func(ctx context.Context, s *RedisStore, i int) error {
		_, err := s.ApplyReceipt(ctx, []string{"X" + string(rune('a'+i))},
			CarrierReceipt{Carrier: "sim", ID: "X" + string(rune('a'+i)), State: smpp.StateDelivered},
			time.Now().Add(time.Hour), nil)
		if errors.Is(err, ErrNotFound) {
			return nil // kept as unmatched, the expected outcome
		}
		return err
	}},
}

func openWaitStore(t testing.TB, addr string, replicas int, wait time.Duration) *RedisStore {
	t.Helper()
	s, err := OpenRedisStore(context.Background(), redis.NewClient(&redis.Options{Addr: addr}),
		RedisStoreOptions{Consumer: "a", WaitReplicas: replicas, WaitTimeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisWaitFailsWithoutReplicas(t *testing.T) {
	srv := testredis.Start(t)
	s := openWaitStore(t, srv.Addr, 1, 100*time.Millisecond)
	for i, w := range waitWrites {
		err := w.write(context.Background(), s, i)
		if !errors.Is(err, ErrNotReplicated) {
			t.Errorf("%s without a replica: error %v, want ErrNotReplicated", w.name, err)
		}
		if !StoreTemporary(err) {
			t.Errorf("%s without a replica: StoreTemporary(%v) = false", w.name, err)
		}
	}
}

func TestRedisWaitReplicatesBeforeReturning(t *testing.T) {
	master, replica := startReplicated(t)
	s := openWaitStore(t, master.Addr, 1, time.Second)
	for i, w := range waitWrites {
		if err := w.write(context.Background(), s, i); err != nil {
			t.Errorf("%s with a replica online: %v", w.name, err)
		}
	}
	// WAIT returned, so the replica has the queue entry already.
	rdb := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer rdb.Close()
	if n, err := rdb.XLen(context.Background(), s.streamKey("acme")).Result(); err != nil || n != 1 {
		t.Errorf("the replica has %d entries in the queue (error %v), want 1", n, err)
	}
}

// TestRedisWaitPausedReplica checks that a stalled replica fails the
// writes and that they succeed again, without any action, once it is
// back.
func TestRedisWaitPausedReplica(t *testing.T) {
	master, replica := startReplicated(t)
	// A second is long enough for a running replica under load, and the
	// paused one makes each of the four writes wait that long.
	s := openWaitStore(t, master.Addr, 1, time.Second)
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	for i, w := range waitWrites {
		if err := w.write(context.Background(), s, i); !errors.Is(err, ErrNotReplicated) {
			t.Errorf("%s with the replica paused: error %v, want ErrNotReplicated", w.name, err)
		}
	}
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	for i, w := range waitWrites {
		if err := w.write(context.Background(), s, len(waitWrites)+i); err != nil {
			t.Errorf("%s after the replica resumed: %v", w.name, err)
		}
	}
}

// BenchmarkRedisEnqueueWait measures one MO enqueue on a local master
// with one replica, without WAIT and with WAIT for the replica.
func BenchmarkRedisEnqueueWait(b *testing.B) {
	master, _ := startReplicated(b)
	for _, replicas := range []int{0, 1} {
		s := openWaitStore(b, master.Addr, replicas, time.Second)
		b.Run("replicas="+string(rune('0'+replicas)), func(b *testing.B) {
			ctx := context.Background()
			item := []Item{{Queue: "bench", Kind: KindMO, Enqueued: time.Now(),
				MO: &MOItem{ID: "mo", From: "+12015550101", To: "+18885550100", Text: "STOP"}}}
			for b.Loop() {
				if _, err := s.Enqueue(ctx, item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
