package gateway

import (
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
)

// TestDaemonRedisStore runs the daemon on a real redis-server and stops
// the server under it: texts are then blocked with store_unavailable, the
// temporary status, and /readyz names the store.
func TestDaemonRedisStore(t *testing.T) {
	srv := testredis.Start(t)
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Store.Type = config.StoreRedis
		c.Store.Redis.Addr = srv.Addr
		c.Store.Redis.ReadTimeout = 500 * time.Millisecond
		c.Store.Redis.DialTimeout = 500 * time.Millisecond
	}})
	if _, ok := f.d.consentStore.(*consent.RedisStore); !ok {
		t.Fatalf("consent store is %T, want the Redis store", f.d.consentStore)
	}
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "stored in redis", 0)); status != smpp.StatusOK {
		t.Fatalf("status %v with redis up", status)
	}
	if err := f.d.Ready(f.ctx)["consent_store"]; err != nil {
		t.Errorf("consent_store not ready with redis up: %v", err)
	}

	srv.Stop()
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "redis is gone", 0)); status != 0x0481 {
		t.Errorf("status %v with redis down, want 0x00000481 (store_unavailable)", status)
	}
	if err := f.d.Ready(f.ctx)["consent_store"]; err == nil {
		t.Error("consent_store reported ready with redis down")
	}
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("the carrier got %d messages, want only the one sent with redis up", n)
	}
}
