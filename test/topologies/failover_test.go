package topologies

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// moResult is the STOP of one subscriber: when the carrier got
// ESME_ROK for it and how many deliver_sm it took.
type moResult struct {
	acked    time.Time
	attempts int
	statuses map[string]int
	// queued is how many MO entries from the subscriber are in the
	// business's queue after the failover.
	queued int
}

// TestSentinelFailoverKeepsStops runs a daemon on a Sentinel group and
// cuts off the replica, then kills the master, while MTs flow over HTTP
// and every subscriber sends STOP through the simulator. No MT sent after
// a STOP was acknowledged to the carrier may reach the carrier, every
// acknowledged STOP must be in the consent audit and in the business's
// queue after the failover, counting those acknowledged before the kill
// on their own, and no MT may get a 500 internal_error: a Redis failure
// is a temporary store_unavailable.
func TestSentinelFailoverKeepsStops(t *testing.T) {
	t.Parallel()
	g := testredis.StartSentinel(t)
	t.Cleanup(func() {
		if t.Failed() {
			logSentinels(t, g)
		}
	})
	verify := openVerifyStore(t, g)
	optIn(t, verify)
	cfg := parseDaemonConfig(t, sentinelYAML(g))
	if n := cfg.Store.Redis.ReplicaAcks(); n != 1 {
		t.Fatalf("the sentinel topology waits for %d replicas by default, want 1", n)
	}
	d := startDaemon(t, cfg)
	sim := d.Simulator()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var (
		mtMu    sync.Mutex
		mts     []mtResult
		stopMTs = make(chan struct{})
		mtWG    sync.WaitGroup
		nextID  atomic.Int64
	)
	stopTraffic := sync.OnceFunc(func() {
		close(stopMTs)
		mtWG.Wait()
	})
	defer stopTraffic()
	// An MT whose id mapping meets the failover waits up to 5 s for the
	// new master before its response.
	client := &http.Client{Timeout: 10 * time.Second}
	url := "http://" + d.HTTPAddr().String() + "/v1/messages"
	for w := range 3 {
		mtWG.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stopMTs:
					return
				case <-time.After(5 * time.Millisecond):
				}
				r := sendMT(ctx, client, url, int(nextID.Add(1)), subscriber(i%subscribers))
				mtMu.Lock()
				mts = append(mts, r)
				mtMu.Unlock()
			}
		})
	}

	// The carrier sends each STOP until optgate acknowledges it, as an
	// SMSC redelivers after a temporary error.
	mos := make([]moResult, subscribers)
	acked := make(chan int, subscribers)
	moDone := make(chan error, 1)
	go func() {
		defer close(acked)
		for i := range subscribers {
			res, err := sendStop(ctx, sim, subscriber(i))
			if err != nil {
				moDone <- err
				return
			}
			mos[i] = res
			acked <- i
			time.Sleep(100 * time.Millisecond)
		}
		moDone <- nil
	}()

	// A third of the way through the STOPs, pause the replica and cut its
	// link, so that it falls behind as a partitioned replica does: without
	// waiting for it, the STOPs acknowledged in the pause would die with
	// the master. Then kill the master, and bring it back as a replica
	// once the sentinels promoted the other server.
	for range subscribers / 3 {
		<-acked
	}
	master, err := g.Master(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replica := g.Data[0]
	if replica == master {
		replica = g.Data[1]
	}
	if err := replica.Pause(); err != nil {
		t.Fatal(err)
	}
	// Closing the replication link keeps the writes from here on out of
	// the replica's socket buffer, where it would still find them after
	// the master died.
	disconnectReplicas(t, ctx, master.Addr)
	// The pause stays below the sentinels' down-after-milliseconds of
	// 2 s, so they still consider the replica fit for promotion.
	time.Sleep(700 * time.Millisecond)
	killed := time.Now()
	old, err := g.KillMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := replica.Resume(); err != nil {
		t.Fatal(err)
	}
	master, err = g.WaitFailover(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	failedOver := time.Now()
	old.RestartReplicaOf(master)
	if err := g.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	replicaBack := time.Now()
	for range acked {
	}
	if err := <-moDone; err != nil {
		t.Fatal(err)
	}
	stopTraffic()

	t.Logf("master %s killed; sentinels promoted %s after %v; replica back after %v more",
		old.Addr, master.Addr, failedOver.Sub(killed).Round(time.Millisecond),
		replicaBack.Sub(failedOver).Round(time.Millisecond))
	violations := checkMTs(t, sim.Messages(), mts, mos)
	lost := checkStops(t, ctx, verify, mos)
	unqueued := checkQueued(t, ctx, g, mos)
	beforeKill, unqueuedBeforeKill := 0, 0
	for i, mo := range mos {
		if mo.acked.Before(killed) {
			beforeKill++
			if mo.queued == 0 {
				unqueuedBeforeKill++
			}
		}
		if mo.queued > 1 {
			t.Logf("%s: %d MO entries queued for one STOP; the carrier redelivered one whose "+
				"entry the master had but no replica confirmed", subscriber(i), mo.queued)
		}
	}
	t.Logf("MOs acknowledged before the master was killed: %d, of which %d are missing from the "+
		"business queue after the failover", beforeKill, unqueuedBeforeKill)
	if beforeKill == 0 {
		t.Error("no STOP was acknowledged before the master was killed: the test checked no MO across the failover")
	}
	internal := checkNoInternalErrors(t, mts)
	summarize(t, mts, mos, violations, lost, unqueued)
	t.Logf("failover MOs: %d acknowledged before the kill, %d of them not queued after it; "+
		"%d MTs answered 500", beforeKill, unqueuedBeforeKill, internal)
}

// checkNoInternalErrors fails the test for every MT that got a 500
// (internal_error): during a failover every Redis failure must be the
// temporary store_unavailable. It returns their number.
func checkNoInternalErrors(t *testing.T, mts []mtResult) int {
	t.Helper()
	n := 0
	for _, m := range mts {
		if m.code == "internal_error" || m.code == "http_500" {
			n++
			if n <= 5 {
				t.Errorf("MT %d to %s sent at %s got %s", m.id, m.to, m.start.Format(time.StampMilli), m.code)
			}
		}
	}
	if n > 5 {
		t.Errorf("%d MTs in all got a 500", n)
	}
	return n
}

// logSentinels logs what the sentinels logged, to explain a failover that
// went wrong.
func logSentinels(t *testing.T, g *testredis.Sentinel) {
	for _, s := range append(slices.Clone(g.Sentinels), g.Data...) {
		data, err := os.ReadFile(s.LogPath())
		if err != nil {
			t.Logf("log of %s: %v", s.Addr, err)
			continue
		}
		t.Logf("log of %s:\n%s", s.Addr, data)
	}
}

// disconnectReplicas closes the master's connections to its replicas.
func disconnectReplicas(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	n, err := rdb.ClientKillByFilter(ctx, "TYPE", "replica").Result()
	if err != nil || n == 0 {
		t.Fatalf("CLIENT KILL TYPE replica on %s closed %d connections: %v", addr, n, err)
	}
}

// openVerifyStore opens the test's own consent store on the group, with
// the daemon's key prefix, to set up and check records.
func openVerifyStore(t *testing.T, g *testredis.Sentinel) *consent.RedisStore {
	t.Helper()
	s, err := consent.OpenRedis(context.Background(), consent.RedisOptions{
		Universal:    &redis.UniversalOptions{Addrs: g.Addrs(), MasterName: g.MasterName},
		KeyPrefix:    keyPrefix,
		WaitReplicas: 1,
	})
	if err != nil {
		t.Fatalf("open the verification store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sendStop injects STOP from number until optgate responds ESME_ROK,
// pausing 50 ms after a temporary error, for at most 30 seconds. Any
// other status ends it with an error.
func sendStop(ctx context.Context, sim *smscsim.Simulator, number string) (moResult, error) {
	res := moResult{statuses: map[string]int{}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res.attempts++
		status, err := sim.Inject(ctx, smscsim.MO{From: number, To: tollFree, Text: "STOP"})
		switch {
		case ctx.Err() != nil:
			return res, fmt.Errorf("STOP from %s: %w", number, ctx.Err())
		case err != nil:
			res.statuses["error"]++
		case status == smpp.StatusOK:
			res.acked = time.Now()
			return res, nil
		case status == gateway.DeliverTemporaryFailure:
			res.statuses[status.String()]++
		default:
			return res, fmt.Errorf("STOP from %s rejected with %v, which is not a temporary failure", number, status)
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("STOP from %s not acknowledged after %d attempts: last status %v, error %v",
				number, res.attempts, status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkMTs fails the test for every MT that reached the carrier although
// the HTTP request for it started after the subscriber's STOP was
// acknowledged, and returns their number.
func checkMTs(t *testing.T, received []smscsim.Message, mts []mtResult, mos []moResult) int {
	t.Helper()
	started := map[int]mtResult{}
	for _, m := range mts {
		started[m.id] = m
	}
	ackedAt := map[string]time.Time{}
	for i, mo := range mos {
		ackedAt[subscriber(i)] = mo.acked
	}
	violations := 0
	for _, msg := range received {
		idText, ok := strings.CutPrefix(msg.Text, "mt-")
		if !ok {
			continue // an opt-out confirmation
		}
		id, err := strconv.Atoi(idText)
		if err != nil {
			t.Errorf("the carrier received an MT with text %q", msg.Text)
			continue
		}
		m, ok := started[id]
		if !ok {
			t.Errorf("the carrier received MT %d, which the test did not record", id)
			continue
		}
		if !sameNumber(msg.Destination, m.to) {
			t.Errorf("MT %d to %s reached the carrier for %s", id, m.to, msg.Destination)
		}
		if ack := ackedAt[m.to]; m.start.After(ack) {
			violations++
			t.Errorf("MT %d to %s sent %v after its STOP was acknowledged reached the carrier",
				id, m.to, m.start.Sub(ack))
		}
	}
	return violations
}

// sameNumber compares two numbers by their digits, because the carrier
// receives destination_addr without the '+'.
func sameNumber(a, b string) bool {
	return strings.TrimPrefix(a, "+") == strings.TrimPrefix(b, "+")
}

// checkStops fails the test for every acknowledged STOP that is not in
// the subscriber's consent record and audit trail, and returns their
// number.
func checkStops(t *testing.T, ctx context.Context, s consent.Store, mos []moResult) int {
	t.Helper()
	lost := 0
	for i := range mos {
		number := subscriber(i)
		rec, err := s.Get(ctx, account, number)
		if err != nil {
			t.Fatalf("read %s after the failover: %v", number, err)
		}
		history, err := s.History(ctx, account, number)
		if err != nil {
			t.Fatalf("read the history of %s after the failover: %v", number, err)
		}
		stops := 0
		for _, e := range history {
			if e.Event == consent.EventStop {
				stops++
			}
		}
		if rec.State != consent.StateOptedOut || stops == 0 {
			lost++
			t.Errorf("%s: STOP acknowledged at %s, but the record is %s with %d STOP audit entries",
				number, mos[i].acked.Format(time.StampMilli), rec.State, stops)
		}
	}
	return lost
}

// checkQueued fails the test for every acknowledged STOP that is not in
// the business's delivery queue, and returns their number. The business
// never binds, so every MO it was sent stays queued. The queue is the
// Redis stream "<prefix>{gw}:q:<account>", one entry per item with the
// item's JSON in field "d".
func checkQueued(t *testing.T, ctx context.Context, g *testredis.Sentinel, mos []moResult) int {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.MasterName, SentinelAddrs: g.Addrs()})
	defer rdb.Close()
	key := keyPrefix + "{gw}:q:" + account
	entries, err := rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", key, err)
	}
	queued := map[string]int{}
	for _, e := range entries {
		var item gateway.Item
		data, _ := e.Values["d"].(string)
		if err := json.Unmarshal([]byte(data), &item); err != nil {
			t.Fatalf("queue entry %s of %s: %v", e.ID, key, err)
		}
		if item.MO != nil {
			queued[item.MO.From]++
		}
	}
	unqueued := 0
	for i := range mos {
		mos[i].queued = queued[subscriber(i)]
		if queued[subscriber(i)] == 0 {
			unqueued++
			t.Errorf("%s: STOP acknowledged at %s, but no MO from it is queued for the business",
				subscriber(i), mos[i].acked.Format(time.StampMilli))
		}
	}
	return unqueued
}

// summarize logs the traffic the test saw and one summary line, and
// fails the test when the traffic did not cover what the test checks.
func summarize(t *testing.T, mts []mtResult, mos []moResult, violations, lost, unqueued int) {
	codes := map[string]int{}
	accepted := 0
	for _, m := range mts {
		if m.code == "" {
			accepted++
		} else {
			codes[m.code]++
		}
	}
	attempts, retried := 0, 0
	statuses := map[string]int{}
	for _, mo := range mos {
		attempts += mo.attempts
		if mo.attempts > 1 {
			retried++
		}
		for s, n := range mo.statuses {
			statuses[s] += n
		}
	}
	t.Logf("MTs: %d sent, %d accepted by the carrier, blocked or failed by code: %v", len(mts), accepted, codes)
	t.Logf("STOPs: %d acknowledged after %d deliver_sm, %d needed a redelivery; refusals: %v",
		len(mos), attempts, retried, statuses)
	t.Logf("failover summary: %d MTs, %d STOPs acknowledged, %d MTs after an acknowledged STOP, "+
		"%d acknowledged STOPs lost from the consent audit, %d missing from the business queue",
		len(mts), len(mos), violations, lost, unqueued)

	if accepted == 0 || codes["opted_out"] == 0 {
		t.Errorf("%d MTs accepted and %d blocked as opted_out: the traffic did not reach both sides of a STOP",
			accepted, codes["opted_out"])
	}
	// Every subscriber was opted in, so no_consent means that a read
	// returned no record because a stale or empty server acted as master.
	if n := codes["no_consent"]; n > 0 {
		t.Errorf("%d MTs blocked as no_consent: the daemon read records from a server without them", n)
	}
	if retried == 0 {
		t.Error("no STOP needed a redelivery: the paused replica and the failover went unnoticed")
	}
}
