package smpp

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogsCarryNoPasswordsOrNumbers(t *testing.T) {
	checkLeaks(t)
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	srv := &Server{Logger: logger, Handler: okHandler}
	addr := startServer(t, srv)

	// A rejected bind, a malformed submit_sm and normal traffic both ways.
	bad := testClientConfig(addr)
	bad.Password = "hunter2"
	bad.Logger = logger
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, _ = Dial(ctx, bad)
	cancel()

	p := dialRaw(t, addr)
	p.bindRaw()
	p.sendBytes(hexWords(t, `0000002f 00000004 00000000 00000002 00010131 32303135 35353031
		30310000 00000000 00000000 00000010 414243`))
	p.expect(SubmitSMRespID, StatusInvalidMsgLength, 2)
	p.send(&Unbind{Header: Header{SequenceNumber: 3}})
	p.expect(UnbindRespID, StatusOK, 3)
	p.expectClosed()
	waitFor(t, "the raw session to go", func() bool { return len(srv.Sessions()) == 0 })

	cfg := testClientConfig(addr)
	cfg.Logger = logger
	cfg.Handler = func(context.Context, PDU) CommandStatus { return StatusOK }
	c := dialClient(t, cfg)
	if _, err := c.Submit(testCtx(t), testSubmit("STOP")); err != nil {
		t.Fatal(err)
	}
	mo := &DeliverSM{SourceAddr: "12015550101", DestinationAddr: "18885550100", ShortMessage: []byte("HELP")}
	if _, err := srv.Sessions()[0].Deliver(testCtx(t), mo); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 {
		t.Fatal("no logs recorded")
	}
	secrets := []string{testPassword, "hunter2", "12015550101", "18885550100", "STOP", "HELP"}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, " ", e.ContextMap())
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("log line contains %q: %s", s, line)
			}
		}
	}
}
