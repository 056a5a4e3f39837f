package topologies

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway/gwstoretest"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// TestGatewayStoreOnCluster runs the gateway store's conformance suite
// (id map, partial MO texts, delivery queues) on a three-master Cluster,
// so its scripts and transactions must keep to one hash slot each.
func TestGatewayStoreOnCluster(t *testing.T) {
	t.Parallel()
	c := testredis.StartCluster(t, 3)
	gwstoretest.Run(t, gwstoretest.RedisFactory(func() redis.UniversalClient {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	}))
}

// TestDaemonOnCluster runs a daemon with store.redis.topology cluster:
// MTs pass for opted-in subscribers, a STOP through the simulator is
// acknowledged and recorded, later MTs to that subscriber are blocked, and
// the MO waits in the business's queue.
func TestDaemonOnCluster(t *testing.T) {
	t.Parallel()
	c := testredis.StartCluster(t, 3)
	verify, err := consent.OpenRedis(context.Background(), consent.RedisOptions{
		Universal: &redis.UniversalOptions{Addrs: c.Addrs(), IsClusterMode: true},
		KeyPrefix: keyPrefix,
	})
	if err != nil {
		t.Fatalf("open the verification store: %v", err)
	}
	t.Cleanup(func() { _ = verify.Close() })
	optIn(t, verify)
	d := startDaemon(t, parseDaemonConfig(t, clusterYAML(c)))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + d.HTTPAddr().String() + "/v1/messages"
	// Numbers spread over the slots, so the daemon reads from every node.
	for i := range subscribers {
		if r := sendMT(ctx, client, url, i, subscriber(i)); r.code != "" {
			t.Errorf("MT to opted-in %s: %s, want accepted", subscriber(i), r.code)
		}
	}

	stopped := subscriber(0)
	status, err := d.Simulator().Inject(ctx, smscsim.MO{From: stopped, To: tollFree, Text: "STOP"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("STOP from %s: status %v, error %v; want ESME_ROK", stopped, status, err)
	}
	if r := sendMT(ctx, client, url, subscribers, stopped); r.code != "opted_out" {
		t.Errorf("MT after STOP: %q, want opted_out", r.code)
	}
	if r := sendMT(ctx, client, url, subscribers+1, subscriber(1)); r.code != "" {
		t.Errorf("MT to opted-in %s after another's STOP: %s, want accepted", subscriber(1), r.code)
	}

	rec, err := verify.Get(ctx, account, stopped)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != consent.StateOptedOut {
		t.Errorf("record of %s after STOP: %s, want opted_out", stopped, rec.State)
	}
	accepted := 0
	for _, m := range d.Simulator().Messages() {
		if strings.HasPrefix(m.Text, "mt-") {
			accepted++
		}
	}
	if accepted != subscribers+1 {
		t.Errorf("the carrier received %d MTs, want %d", accepted, subscribers+1)
	}
	if n := d.Ready(ctx)["consent_store"]; n != nil {
		t.Errorf("consent_store not ready on the cluster: %v", n)
	}
}

// clusterNumber returns the i-th number of the cluster store test,
// +12015550100 and up.
func clusterNumber(i int) string {
	return fmt.Sprintf("+120155%05d", 50100+i)
}

// applyStops sends STOP for numbers [first, last) and returns how many
// failed with ErrNotReplicated. Any other error fails the test.
func applyStops(t *testing.T, s consent.Store, first, last int, at time.Time) int {
	t.Helper()
	unconfirmed := 0
	for i := first; i < last; i++ {
		_, err := s.Apply(context.Background(), consent.Event{
			Kind: consent.EventStop, Account: account, Number: clusterNumber(i),
			TollFree: tollFree, Text: "STOP", Source: consent.SourceSMPP, Time: at,
		})
		switch {
		case errors.Is(err, consent.ErrNotReplicated):
			unconfirmed++
		case err != nil:
			t.Fatalf("STOP from %s: %v", clusterNumber(i), err)
		}
	}
	return unconfirmed
}

// TestConsentStoreClusterFailover runs the consent store with
// WaitReplicas 1 on a Cluster of three masters with one replica each. A
// paused replica holds up only the writes to its master's slots, a killed
// master's replica takes over with every confirmed STOP, and the store
// recovers without being reopened.
func TestConsentStoreClusterFailover(t *testing.T) {
	t.Parallel()
	c := testredis.StartClusterWithReplicas(t, 3)
	s, err := consent.OpenRedis(context.Background(), consent.RedisOptions{
		Universal: &redis.UniversalOptions{
			Addrs: c.Addrs(), IsClusterMode: true,
			DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second,
		},
		KeyPrefix:    keyPrefix,
		WaitReplicas: 1,
		WaitTimeout:  500 * time.Millisecond,
		Timeout:      1500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("open the consent store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	const numbers = 30
	base := time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
	if n := applyStops(t, s, 0, numbers, base); n != 0 {
		t.Fatalf("%d of %d STOPs unconfirmed with every replica online", n, numbers)
	}

	// WAIT must run on the master of each number's slot: only the numbers
	// of the paused replica's master go unconfirmed.
	if err := c.Replicas[1].Pause(); err != nil {
		t.Fatal(err)
	}
	unconfirmed := applyStops(t, s, numbers, 2*numbers, base)
	if err := c.Replicas[1].Resume(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d STOPs unconfirmed with one of three replicas paused", unconfirmed, numbers)
	if unconfirmed == 0 || unconfirmed == numbers {
		t.Errorf("%d of %d STOPs unconfirmed, want only those on the paused replica's master", unconfirmed, numbers)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.Nodes[0].Stop()
	if _, err := c.WaitFailover(ctx, c.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	for i := range numbers {
		rec, err := getWithRetry(ctx, s, clusterNumber(i))
		if err != nil {
			t.Fatalf("read %s after the failover: %v", clusterNumber(i), err)
		}
		if rec.State != consent.StateOptedOut {
			t.Errorf("%s after the failover: state %s, want opted_out", clusterNumber(i), rec.State)
		}
	}
	// The promoted replica has no replica of its own.
	later := base.Add(time.Hour)
	if n := applyStops(t, s, 0, numbers, later); n == 0 {
		t.Error("every STOP confirmed although one master has no replica")
	}

	c.Nodes[0].Restart()
	if err := c.WaitOK(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for applyStops(t, s, 0, numbers, later.Add(time.Hour)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("STOPs still unconfirmed 15 s after the old master came back as a replica")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// getWithRetry reads a record, retrying for a few seconds while the
// client still sends the slot to the dead master.
func getWithRetry(ctx context.Context, s consent.Store, number string) (consent.Record, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := s.Get(ctx, account, number)
		if err == nil || time.Now().After(deadline) {
			return rec, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
