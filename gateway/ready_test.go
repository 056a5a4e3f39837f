package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// getReadyz returns the status code and the checks of GET /readyz.
func (f *daemonFixture) getReadyz() (int, map[string]string) {
	f.t.Helper()
	resp, err := http.Get("http://" + f.d.HTTPAddr().String() + "/readyz")
	if err != nil {
		f.t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out readyResponse
	if err := json.Unmarshal(body, &out); err != nil {
		f.t.Fatalf("GET /readyz body %q: %v", body, err)
	}
	return resp.StatusCode, out.Checks
}

// TestReadyFollowsWaitReplicas runs the daemon on a master with one
// replica and store.redis.wait_replicas 1, stops the replica and starts
// it again: /readyz and optgate_ready turn false with the reason while
// changes cannot be confirmed, and true again by themselves after.
func TestReadyFollowsWaitReplicas(t *testing.T) {
	master, replica := startReplicated(t)
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Store.Type = config.StoreRedis
		c.Store.Redis.Addr = master.Addr
		c.Store.Redis.ReadTimeout = time.Second
		c.Store.Redis.DialTimeout = 500 * time.Millisecond
		c.Store.Redis.WaitReplicas = 1
		c.Store.Redis.WaitTimeout = 200 * time.Millisecond
	}})
	ready := func() float64 { return gathered(t, f.d.Prometheus(), "optgate_ready", nil) }
	f.waitFor("readiness with the replica online", func() bool {
		code, _ := f.getReadyz()
		return code == http.StatusOK
	})
	if v := ready(); v != 1 {
		t.Errorf("optgate_ready = %v with the replica online, want 1", v)
	}
	f.setState(sub1, consent.StateOptedIn)

	replica.Stop()
	f.waitFor("/readyz to report the missing replica", func() bool {
		code, _ := f.getReadyz()
		return code == http.StatusServiceUnavailable
	})
	_, checks := f.getReadyz()
	if reason := checks["redis_replicas"]; !strings.Contains(reason, "0 of 1 replicas") {
		t.Errorf("/readyz redis_replicas = %q, want the count of replicas online", reason)
	}
	if v := ready(); v != 0 {
		t.Errorf("optgate_ready = %v without the replica, want 0", v)
	}
	// A STOP cannot be confirmed now, so the carrier must send it again.
	status, err := f.sim.Inject(f.ctx, smscsim.MO{From: sub1, To: acmeTollFree, Text: "STOP"})
	if err != nil || status != DeliverTemporaryFailure {
		t.Errorf("STOP without the replica: deliver_sm_resp %v (error %v), want ESME_RX_T_APPN", status, err)
	}

	replica.Restart()
	f.waitFor("readiness after the replica came back", func() bool {
		code, _ := f.getReadyz()
		return code == http.StatusOK
	})
	if v := ready(); v != 1 {
		t.Errorf("optgate_ready = %v after the replica came back, want 1", v)
	}
	status, err = f.sim.Inject(f.ctx, smscsim.MO{From: sub1, To: acmeTollFree, Text: "STOP"})
	if err != nil || status != smpp.StatusOK {
		t.Errorf("STOP after the replica came back: deliver_sm_resp %v (error %v), want ESME_ROK", status, err)
	}
}
