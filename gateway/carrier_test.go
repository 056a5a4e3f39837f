package gateway

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// startSim starts a simulator on a free loopback port for one test.
func startSim(t testing.TB) *smscsim.Simulator {
	t.Helper()
	sim := smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", SystemID: "optgate", Password: "simpass"})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// poolCarrier returns a carrier configuration for addr.
func poolCarrier(addr string, binds int) config.Carrier {
	return config.Carrier{
		Name: "sim", Address: addr, SystemID: "optgate", Password: "simpass",
		BindType: config.BindTransceiver, Binds: binds, Window: 5, EnquireLink: 30 * time.Second,
		Routes: []string{"+1"},
	}
}

// startPool starts a pool and stops it when the test ends.
func startPool(t testing.TB, cfg CarrierPoolConfig) *CarrierPool {
	t.Helper()
	if cfg.ReconnectDelay == 0 {
		cfg.ReconnectDelay, cfg.MaxReconnectDelay = 20*time.Millisecond, 100*time.Millisecond
	}
	p, err := NewCarrierPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop pool: %v", err)
		}
	})
	return p
}

// waitBound waits until the pool has n bound sessions.
func waitBound(t testing.TB, p *CarrierPool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.BoundSessions() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions bound after 10s", p.BoundSessions(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func poolSubmit(t *testing.T, p *CarrierPool, text string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Submit(ctx, submitSM(t, acmeTollFree, sub1, text, 0))
}

func TestCarrierPoolRoundRobin(t *testing.T) {
	sim := startSim(t)
	reg := prometheus.NewRegistry()
	metrics, err := NewCarrierMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p := startPool(t, CarrierPoolConfig{Carrier: poolCarrier(sim.Addr().String(), 3), Metrics: metrics})
	waitBound(t, p, 3)
	if n := gathered(t, reg, "optgate_carrier_sessions_bound", map[string]string{"carrier": "sim"}); n != 3 {
		t.Errorf("sessions bound gauge %v, want 3", n)
	}
	if n := gathered(t, reg, "optgate_carrier_window_size", nil); n != 15 {
		t.Errorf("window size gauge %v, want 3 binds x 5", n)
	}

	for range 9 {
		if _, err := poolSubmit(t, p, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	perConn := map[string]int{}
	for _, r := range sim.Received() {
		if r.Header.CommandID == smpp.SubmitSMID {
			perConn[r.RemoteAddr]++
		}
	}
	if len(perConn) != 3 {
		t.Fatalf("submits went over %d connections, want all 3: %v", len(perConn), perConn)
	}
	for addr, n := range perConn {
		if n != 3 {
			t.Errorf("connection %s carried %d submits, want 3", addr, n)
		}
	}
}

func TestCarrierPoolNoSessionIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := startPool(t, CarrierPoolConfig{Carrier: poolCarrier(addr, 1), BindWait: 20 * time.Millisecond})
	_, err = poolSubmit(t, p, "hello")
	if !errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("error %v, want ErrLinkUnavailable", err)
	}
}

func TestCarrierPoolReceiverOnlyIsUnavailable(t *testing.T) {
	sim := startSim(t)
	c := poolCarrier(sim.Addr().String(), 1)
	c.BindType = config.BindReceiver
	p := startPool(t, CarrierPoolConfig{Carrier: c})
	waitBound(t, p, 1)
	if _, err := poolSubmit(t, p, "hello"); !errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("error %v, want ErrLinkUnavailable", err)
	}
	if n := len(sim.Messages()); n != 0 {
		t.Errorf("a receiver bind sent %d messages", n)
	}
}

func TestCarrierPoolUnansweredSubmitNotResent(t *testing.T) {
	sim := startSim(t)
	if err := sim.SetRules([]smscsim.Rule{{Drop: true, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := NewCarrierMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p := startPool(t, CarrierPoolConfig{Carrier: poolCarrier(sim.Addr().String(), 2), Metrics: metrics})
	waitBound(t, p, 2)

	_, err = poolSubmit(t, p, "only once")
	if !errors.Is(err, ErrSubmitUnconfirmed) {
		t.Fatalf("error %v, want ErrSubmitUnconfirmed", err)
	}
	if errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("an unconfirmed submit is also reported as not sent: %v", err)
	}
	if n := len(sim.Messages()); n != 1 {
		t.Errorf("the carrier got the message %d times, want once", n)
	}
	if n := gathered(t, reg, "optgate_carrier_submits_unconfirmed_total", nil); n != 1 {
		t.Errorf("unconfirmed metric %v, want 1", n)
	}
	// The other bind still takes traffic.
	if _, err := poolSubmit(t, p, "next"); err != nil {
		t.Errorf("next submit: %v", err)
	}
}

func TestCarrierPoolDeliverAnsweredAfterHandler(t *testing.T) {
	sim := startSim(t)
	var calls atomic.Int32
	deliver := func(_ context.Context, carrier string, pdu smpp.PDU) smpp.CommandStatus {
		calls.Add(1)
		if carrier != "sim" {
			t.Errorf("carrier %q, want sim", carrier)
		}
		if _, ok := pdu.(*smpp.DeliverSM); !ok {
			t.Errorf("got %T, want a deliver_sm", pdu)
		}
		return smpp.StatusTempAppError
	}
	p := startPool(t, CarrierPoolConfig{Carrier: poolCarrier(sim.Addr().String(), 1), Deliver: deliver})
	waitBound(t, p, 1)
	status, err := sim.Inject(context.Background(), smscsim.MO{From: sub1, To: acmeTollFree, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if status != smpp.StatusTempAppError {
		t.Errorf("deliver_sm_resp %v, want the handler's ESME_RX_T_APPN", status)
	}
	if calls.Load() != 1 {
		t.Errorf("handler ran %d times, want 1", calls.Load())
	}
}

func TestCarrierPoolConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *config.Carrier)
	}{
		{"no address", func(c *config.Carrier) { c.Address = "" }},
		{"unknown bind type", func(c *config.Carrier) { c.BindType = "both" }},
		{"zero binds", func(c *config.Carrier) { c.Binds = 0 }},
		{"negative rate", func(c *config.Carrier) { c.Rate = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := poolCarrier("127.0.0.1:2776", 1)
			tt.change(&c)
			if _, err := NewCarrierPool(CarrierPoolConfig{Carrier: c}); err == nil {
				t.Error("NewCarrierPool accepted the configuration")
			}
		})
	}
}

func TestCarrierTLSNeedsPEM(t *testing.T) {
	c := poolCarrier("smsc.example:3550", 1)
	c.TLS = config.CarrierTLS{Enabled: true, CAFile: t.TempDir() + "/none.pem"}
	if _, err := carrierTLS(c, c.Address); err == nil {
		t.Error("a missing CA file was accepted")
	}
	c.TLS.CAFile = ""
	cfg, err := carrierTLS(c, c.Address)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "smsc.example" {
		t.Errorf("server name %q, want the address's host", cfg.ServerName)
	}
}

func TestCarrierPoolRateLimit(t *testing.T) {
	sim := startSim(t)
	c := poolCarrier(sim.Addr().String(), 1)
	c.Rate = 1
	p := startPool(t, CarrierPoolConfig{Carrier: c})
	waitBound(t, p, 1)
	if _, err := poolSubmit(t, p, "first"); err != nil {
		t.Fatal(err)
	}
	// At one segment a second, the next token is a second away, beyond
	// this deadline, so the limiter refuses at once and nothing is sent.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := p.Submit(ctx, submitSM(t, acmeTollFree, sub1, "second", 0))
	if !errors.Is(err, ErrLinkUnavailable) {
		t.Errorf("error %v, want ErrLinkUnavailable from the rate limit", err)
	}
	if n := len(sim.Messages()); n != 1 {
		t.Errorf("the carrier got %d messages, want 1", n)
	}
}
