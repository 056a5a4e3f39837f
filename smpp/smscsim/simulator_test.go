package smscsim

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/optgate/optgate/smpp"
)

func TestBindCredentials(t *testing.T) {
	sim := startSim(t, Config{SystemID: "carrier", Password: "secret"})
	tests := []struct {
		systemID, password string
		want               smpp.CommandStatus
	}{
		{"carrier", "wrong", smpp.StatusInvalidPassword},
		{"intruder", "secret", smpp.StatusInvalidSystemID},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		c, err := smpp.Dial(ctx, smpp.ClientConfig{
			Addr: sim.Addr().String(), SystemID: tt.systemID, Password: tt.password,
			EnquireLinkInterval: -1,
		})
		cancel()
		if err == nil {
			c.Close(context.Background())
			t.Errorf("bind %s/%s succeeded", tt.systemID, tt.password)
			continue
		}
		if !isStatus(err, tt.want) {
			t.Errorf("bind %s/%s: %v, want %v", tt.systemID, tt.password, err, tt.want)
		}
	}
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if !e.Bound() {
		t.Error("bind with the right credentials failed")
	}
}

func TestReceivedRecordsEveryPDU(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	if err := e.EnquireLink(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Submit(ctx, submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	e.next(t)
	_, err := sim.WaitReceived(ctx, func(r Received) bool { return r.Header.CommandID == smpp.DeliverSMRespID })
	if err != nil {
		t.Fatalf("wait for deliver_sm_resp: %v", err)
	}

	var ids []smpp.CommandID
	for _, r := range sim.Received() {
		ids = append(ids, r.Header.CommandID)
		if r.SystemID != "carrier" || r.Err != nil || r.PDU == nil || len(r.Raw) != int(r.Header.CommandLength) {
			t.Errorf("record %+v", r)
		}
	}
	want := []smpp.CommandID{smpp.BindTransceiverID, smpp.EnquireLinkID, smpp.SubmitSMID, smpp.DeliverSMRespID}
	if len(ids) != len(want) {
		t.Fatalf("recorded %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("recorded %v, want %v", ids, want)
		}
	}
}

func TestReceivedRecordsInvalidFrame(t *testing.T) {
	sim := startSim(t, Config{})
	conn, err := net.Dial("tcp", sim.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r, err := sim.WaitReceived(testContext(t), func(r Received) bool { return r.Err != nil })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Err.Error(), "invalid command_length 1195725856") || r.PDU != nil {
		t.Errorf("record of an HTTP request: %+v", r)
	}
}

func TestWaitMessagesHonoursContext(t *testing.T) {
	sim := New(Config{})
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := sim.WaitMessages(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitMessages with no message: %v, want context.DeadlineExceeded", err)
	}
}

func TestOnMessageCallback(t *testing.T) {
	got := make(chan Message, 1)
	sim := startSim(t, Config{OnMessage: func(m Message) { got <- m }})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Text != "Hi" || m.Seq != 1 {
			t.Errorf("callback got %+v", m)
		}
	case <-time.After(testTimeout):
		t.Fatal("OnMessage not called")
	}
}

func TestMaxRecordsKeepsNewest(t *testing.T) {
	sim := startSim(t, Config{MaxRecords: 3})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	for i := range 5 {
		if _, err := e.Submit(ctx, submitText(string(rune('a'+i)), 0)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sim.Messages()
	if len(msgs) != 3 || msgs[0].Text != "c" || msgs[2].Text != "e" || msgs[2].Seq != 5 {
		t.Errorf("kept %+v, want the last three", msgs)
	}
	if n := len(sim.Received()); n != 3 {
		t.Errorf("kept %d PDUs, want 3", n)
	}
}

func TestShutdownUnbindsAndDropsPendingReceipts(t *testing.T) {
	sim := New(Config{Addr: "127.0.0.1:0", ControlAddr: "127.0.0.1:0",
		Behaviour: Behaviour{ReceiptDelay: time.Hour}})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sim.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if len(sim.Sessions()) != 0 {
		t.Errorf("%d sessions still bound", len(sim.Sessions()))
	}
	if err := sim.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Shutdown: %v, want ErrClosed", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Serve(l); !errors.Is(err, smpp.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want smpp.ErrServerClosed", err)
	}
	e.none(t, 50*time.Millisecond)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	sim := New(Config{Addr: "127.0.0.1:0", ControlAddr: "127.0.0.1:0",
		Behaviour: Behaviour{ReceiptDelay: time.Hour}})
	if err := sim.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := smpp.Dial(testContext(t), smpp.ClientConfig{
		Addr: sim.Addr().String(), SystemID: "carrier", EnquireLinkInterval: -1,
		ReconnectDelay: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if err := sim.AddRule(Rule{Destination: "12015550199", Drop: true, Count: 5}); err != nil {
		t.Fatal(err)
	}
	heldSubmit := submitText("held", 0)
	heldSubmit.DestinationAddr = "12015550199"
	done := make(chan error, 1)
	go func() {
		_, err := c.Submit(ctx, heldSubmit)
		done <- err
	}()
	if _, err := c.Submit(ctx, submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}

	if err := sim.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("the held submit got a response")
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(cctx)
	goleak.VerifyNone(t, before)
}
