package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// startTestSim starts a simulator with a control endpoint on free loopback
// ports and binds a transceiver ESME to it. Every deliver_sm the ESME gets
// is sent to the returned channel.
func startTestSim(t *testing.T) (*smscsim.Simulator, *smpp.Client, chan *smpp.DeliverSM) {
	t.Helper()
	sim := smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", ControlAddr: "127.0.0.1:0"})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	got := make(chan *smpp.DeliverSM, 10)
	client := dialSim(t, sim.Addr().String(), got)
	return sim, client, got
}

func dialSim(t *testing.T, addr string, got chan *smpp.DeliverSM) *smpp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr:                addr,
		SystemID:            "optgate",
		Password:            "simpass",
		EnquireLinkInterval: -1,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				got <- d
			}
			return smpp.StatusOK
		},
	})
	if err != nil {
		t.Fatalf("bind to the simulator: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

func receiveDeliverSM(t *testing.T, got chan *smpp.DeliverSM) *smpp.DeliverSM {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("the ESME got no deliver_sm")
		return nil
	}
}

func TestSMSCSimInject(t *testing.T) {
	sim, _, got := startTestSim(t)
	code, stdout, stderr := run(t, "smsc-sim", "inject", "--control", sim.ControlURL(),
		"--from", "+12015550101", "--to", "+18005550100", "--text", "STOP")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if strings.TrimSpace(stdout) != "ESME_ROK (0x00000000)" {
		t.Errorf("stdout %q, want the status", stdout)
	}
	d := receiveDeliverSM(t, got)
	if string(d.ShortMessage) != "STOP" || d.SourceAddr != "12015550101" || d.DestinationAddr != "18005550100" {
		t.Errorf("ESME got %q from %q to %q", d.ShortMessage, d.SourceAddr, d.DestinationAddr)
	}
}

func TestSMSCSimInjectErrors(t *testing.T) {
	sim := smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", ControlAddr: "127.0.0.1:0"})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"missing to", []string{"--from", "+12015550101"}, exitUsage, "-from and -to are required"},
		{"bad split", []string{"--from", "1", "--to", "2", "--split", "zip"}, exitUsage, "invalid split mode"},
		{"no receiver", []string{"--from", "+12015550101", "--to", "+18005550100", "--text", "x"},
			exitFailure, "HTTP 503"},
	}
	for _, tt := range tests {
		args := append([]string{"smsc-sim", "inject", "--control", sim.ControlURL()}, tt.args...)
		code, _, stderr := run(t, args...)
		if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
			t.Errorf("%s: exit code %d stderr %q, want %d and %q", tt.name, code, stderr, tt.wantCode, tt.wantErr)
		}
	}
}

func TestSMSCSimMessages(t *testing.T) {
	sim, client, _ := startTestSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sm := &smpp.SubmitSM{SourceAddr: "18005550100", DestinationAddr: "12015550101",
		ShortMessage: []byte("Reply YES to get offers from Demo Coffee Co.")}
	resp, err := client.Submit(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, "smsc-sim", "messages", "--control", sim.ControlURL())
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SEQ") {
		t.Fatalf("want a header and one message, got:\n%s", stdout)
	}
	for _, want := range []string{"18005550100", "12015550101", "ESME_ROK", resp.MessageID,
		`"Reply YES to get offers from Demo Coffee Co."`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("message line %q lacks %q", lines[1], want)
		}
	}

	code, stdout, _ = run(t, "smsc-sim", "messages", "--control", sim.ControlURL(), "--json")
	if code != exitOK || !strings.Contains(stdout, `"full_text": "Reply YES`) {
		t.Errorf("--json: exit code %d, output %s", code, stdout)
	}
}

func TestSMSCSimBehaviour(t *testing.T) {
	sim, _, _ := startTestSim(t)
	code, stdout, stderr := run(t, "smsc-sim", "behaviour", "--control", sim.ControlURL(),
		`{"throttle": 5, "receipt_state": "UNDELIV"}`)
	if code != exitOK || !strings.Contains(stdout, `"throttle": 5`) {
		t.Errorf("exit code %d, stdout %s, stderr %q", code, stdout, stderr)
	}
	if b := sim.Behaviour(); b.Throttle != 5 || b.ReceiptState != smpp.StateUndeliverable {
		t.Errorf("behaviour %+v, want throttle 5 and UNDELIV", b)
	}
	code, _, stderr = run(t, "smsc-sim", "behaviour", "--control", sim.ControlURL(), `{"throttle": -1}`)
	if code != exitUsage || !strings.Contains(stderr, "negative") {
		t.Errorf("negative throttle: exit code %d, stderr %q", code, stderr)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSMSCSimRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, []string{"smsc-sim", "-addr", "127.0.0.1:0", "-control", "127.0.0.1:0",
			"-id-format", "hex_padded", "-receipt-delay", "0s"}, &stdout, &stderr)
	}()

	listening := regexp.MustCompile(`listening on (\S+) \(SMPP\), control endpoint (\S+)`)
	var m []string
	deadline := time.Now().Add(10 * time.Second)
	for m == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the simulator did not start; stderr:\n%s", stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("the simulator exited with %d; stderr:\n%s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		m = listening.FindStringSubmatch(stdout.String())
	}

	got := make(chan *smpp.DeliverSM, 10)
	client := dialSim(t, m[1], got)
	resp, err := client.Submit(ctx, &smpp.SubmitSM{SourceAddr: "18005550100", DestinationAddr: "12015550101",
		RegisteredDelivery: smpp.RegisteredDeliveryReceiptAlways, ShortMessage: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.MessageID != "00B8BE19" {
		t.Errorf("message id %q, want 00B8BE19 from -id-format hex_padded", resp.MessageID)
	}
	receiveDeliverSM(t, got)
	if code, out, _ := run(t, "smsc-sim", "messages", "--control", m[2]); code != exitOK ||
		!strings.Contains(out, "00B8BE19") {
		t.Errorf("messages: exit code %d, output %q", code, out)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d after cancel, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the simulator did not stop after cancel")
	}
	if !strings.Contains(stderr.String(), "unmasked") {
		t.Errorf("the log does not say numbers are unmasked:\n%s", stderr.String())
	}
}

func TestSMSCSimBadFlags(t *testing.T) {
	code, _, stderr := run(t, "smsc-sim", "-id-format", "octal", "-addr", "127.0.0.1:0", "-control", "")
	if code != exitUsage || !strings.Contains(stderr, "invalid message id format") {
		t.Errorf("bad id format: exit code %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, "smsc-sim", "-receipt-state", "LOST")
	if code != exitUsage || !strings.Contains(stderr, "invalid -receipt-state") {
		t.Errorf("bad receipt state: exit code %d, stderr %q", code, stderr)
	}
}
