package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
)

// openRedisPair opens two stores on one server and key prefix, as two
// optgate instances with the consumer names a and b would.
func openRedisPair(t *testing.T, opts RedisStoreOptions) (*RedisStore, *RedisStore, *testredis.Server) {
	t.Helper()
	srv := testredis.Start(t)
	open := func(consumer string) *RedisStore {
		o := opts
		o.Consumer = consumer
		return openRedisStore(t, srv, o)
	}
	return open("a"), open("b"), srv
}

func openRedisStore(t *testing.T, srv *testredis.Server, opts RedisStoreOptions) *RedisStore {
	t.Helper()
	s, err := OpenRedisStore(context.Background(), redis.NewClient(&redis.Options{Addr: srv.Addr}), opts)
	if err != nil {
		t.Fatalf("open redis store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func peekSeqs(t *testing.T, s *RedisStore, n int) []uint64 {
	t.Helper()
	items, err := s.Peek(context.Background(), "acme", n)
	if err != nil {
		t.Fatalf("Peek by %s: %v", s.Consumer(), err)
	}
	out := []uint64{}
	for _, it := range items {
		out = append(out, it.Seq)
	}
	return out
}

func TestRedisLeaseKeepsOneReader(t *testing.T) {
	a, b, _ := openRedisPair(t, RedisStoreOptions{})
	ctx := context.Background()
	if _, err := b.Enqueue(ctx, mixedItems(4)); err != nil {
		t.Fatal(err)
	}
	if got := peekSeqs(t, a, 2); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("a reads %v, want 1 2", got)
	}
	if got := peekSeqs(t, b, 10); len(got) != 0 {
		t.Fatalf("b reads %v while a holds the lease, want nothing", got)
	}
	if err := a.Ack(ctx, "acme", 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got := peekSeqs(t, b, 10); !slices.Equal(got, []uint64{2, 3, 4}) {
		t.Fatalf("b reads %v after a released the queue, want 2 3 4 (2 claimed from a)", got)
	}
	if got := peekSeqs(t, a, 10); len(got) != 0 {
		t.Errorf("a reads %v after b took the lease, want nothing", got)
	}
	if err := a.Release(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got := peekSeqs(t, a, 10); len(got) != 0 {
		t.Errorf("a's release dropped b's lease: a reads %v", got)
	}
}

func TestRedisLeaseExpiryClaimsPending(t *testing.T) {
	a, b, _ := openRedisPair(t, RedisStoreOptions{Lease: 300 * time.Millisecond})
	if _, err := a.Enqueue(context.Background(), mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	if got := peekSeqs(t, a, 2); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("a reads %v, want 1 2", got)
	}
	// a stops here, as a crashed instance would.
	if got := peekSeqs(t, b, 10); len(got) != 0 {
		t.Fatalf("b reads %v before a's lease ran out, want nothing", got)
	}
	time.Sleep(400 * time.Millisecond)
	if got := peekSeqs(t, b, 10); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("b reads %v after a's lease ran out, want 1 2 3", got)
	}
}

func TestRedisRestartReadsOwnPending(t *testing.T) {
	a, _, srv := openRedisPair(t, RedisStoreOptions{})
	if _, err := a.Enqueue(context.Background(), mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	if got := peekSeqs(t, a, 2); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("a reads %v, want 1 2", got)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again := openRedisStore(t, srv, RedisStoreOptions{Consumer: "a"})
	if got := peekSeqs(t, again, 10); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("a after a restart reads %v, want its pending 1 2 and then 3", got)
	}
}

func TestRedisMaxUnmatched(t *testing.T) {
	a, _, _ := openRedisPair(t, RedisStoreOptions{MaxUnmatched: 2})
	ctx := context.Background()
	keep := time.Unix(9000, 0)
	fn := func(*MessageRecord, int, CarrierReceipt) []Item { return nil }
	for _, id := range []string{"U1", "U2"} {
		if _, err := a.ApplyReceipt(ctx, []string{id}, CarrierReceipt{Carrier: "sim", ID: id}, keep, fn); !errors.Is(err, ErrNotFound) {
			t.Fatalf("receipt %s: %v, want ErrNotFound", id, err)
		}
	}
	_, err := a.ApplyReceipt(ctx, []string{"U3"}, CarrierReceipt{Carrier: "sim", ID: "U3"}, keep, fn)
	if !errors.Is(err, errUnmatchedFull) {
		t.Errorf("third unmatched id: %v, want errUnmatchedFull", err)
	}
	_, err = a.ApplyReceipt(ctx, []string{"U1"}, CarrierReceipt{Carrier: "sim", ID: "U1"}, keep, fn)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("second receipt of a kept id: %v, want ErrNotFound", err)
	}
}

func TestRedisRejectsBadInput(t *testing.T) {
	a, _, srv := openRedisPair(t, RedisStoreOptions{})
	ctx := context.Background()
	rec := MessageRecord{ID: "m1", Carrier: "a:b", Segments: []SegmentRecord{{CarrierID: "X", Keys: []string{"X"}}}}
	if _, _, err := a.PutMessage(ctx, rec, nil); err == nil || !strings.Contains(err.Error(), "contains ':'") {
		t.Errorf("carrier with a colon: %v, want an error naming the colon", err)
	}
	_, err := a.ApplyReceipt(ctx, []string{"X"}, CarrierReceipt{Carrier: "a:b"}, time.Unix(9000, 0), nil)
	if err == nil || !strings.Contains(err.Error(), "contains ':'") {
		t.Errorf("receipt from a carrier with a colon: %v, want an error naming the colon", err)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	if _, err := OpenRedisStore(ctx, client, RedisStoreOptions{}); err == nil {
		t.Error("OpenRedisStore without a consumer name succeeded")
	}
	port, err := testredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	down := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	if _, err := OpenRedisStore(ctx, down, RedisStoreOptions{Consumer: "a"}); err == nil {
		t.Error("OpenRedisStore on a closed port succeeded")
	}
}

// countingTarget records deliveries and whether the target is bound.
type countingTarget struct {
	mu    sync.Mutex
	got   map[string]int
	order []string
	bound bool
}

func (c *countingTarget) Deliver(_ context.Context, it Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.bound {
		return ErrTargetUnavailable
	}
	id := fmt.Sprintf("%v-%d", it.Kind, it.Seq)
	c.got[id]++
	c.order = append(c.order, id)
	return nil
}

func (c *countingTarget) snapshot() (map[string]int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.got), slices.Clone(c.order)
}

// TestRedisDispatchersDeliverOnce runs two dispatchers on one Redis. Only
// a's target is bound, and every item is queued through b.
func TestRedisDispatchersDeliverOnce(t *testing.T) {
	a, b, _ := openRedisPair(t, RedisStoreOptions{})
	ctx := context.Background()
	targetA := &countingTarget{got: map[string]int{}, bound: true}
	targetB := &countingTarget{got: map[string]int{}}
	start := func(s *RedisStore, target Deliverer) *Dispatcher {
		d, err := NewDispatcher(DispatcherConfig{
			Queue: s, Targets: TargetFunc(func(string) (Deliverer, bool) { return target, true }),
			MinBackoff: 5 * time.Millisecond, MaxBackoff: time.Minute, Poll: 20 * time.Millisecond, Batch: 4,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Stop(ctx) })
		return d
	}
	dispB := start(b, targetB)
	start(a, targetA)

	const total = 60
	for i := 0; i < total; i += 6 {
		if _, err := b.Enqueue(ctx, mixedItems(6)); err != nil {
			t.Fatal(err)
		}
		dispB.Notify("acme")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := targetA.snapshot()
		if len(got) == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	got, order := targetA.snapshot()
	gotB, _ := targetB.snapshot()
	t.Logf("delivered through a: %d distinct items, %d deliveries; through b: %d", len(got), len(order), len(gotB))
	if len(got) != total {
		t.Fatalf("a delivered %d distinct items, want %d", len(got), total)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("item %s delivered %d times, want once", id, n)
		}
	}
	if len(gotB) != 0 {
		t.Errorf("b, whose target is unbound, delivered %d items", len(gotB))
	}
	for i := 1; i < len(order); i++ {
		var prev, cur uint64
		fmt.Sscanf(order[i-1][strings.LastIndex(order[i-1], "-")+1:], "%d", &prev)
		fmt.Sscanf(order[i][strings.LastIndex(order[i], "-")+1:], "%d", &cur)
		if cur != prev+1 {
			t.Errorf("delivery %d has seq %d after %d, want queue order", i, cur, prev)
			break
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for a.Depths()["acme"] != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d := a.Depths()["acme"]; d != 0 {
		t.Errorf("queue depth after delivery = %d, want 0", d)
	}
}

// TestRedisPartsSharedBetweenInstances checks that segments of one text
// that arrive on two instances complete it once.
func TestRedisPartsSharedBetweenInstances(t *testing.T) {
	a, b, _ := openRedisPair(t, RedisStoreOptions{})
	ctx := context.Background()
	key := smpp.PartKey{Session: "sim", Source: "12015550101", Destination: "18005550100", Ref: 9, Total: 2}
	if _, complete, err := a.AddPart(ctx, smpp.Part{Key: key, Seq: 1, Body: []byte("he")}, time.Unix(1000, 0)); err != nil || complete {
		t.Fatalf("first segment on a: complete %v, %v", complete, err)
	}
	parts, complete, err := b.AddPart(ctx, smpp.Part{Key: key, Seq: 2, Body: []byte("llo")}, time.Unix(1001, 0))
	if err != nil || !complete || len(parts) != 2 {
		t.Fatalf("second segment on b: %d parts, complete %v, %v", len(parts), complete, err)
	}
	if string(parts[0].Body)+string(parts[1].Body) != "hello" {
		t.Errorf("joined = %q, want hello", string(parts[0].Body)+string(parts[1].Body))
	}
}
