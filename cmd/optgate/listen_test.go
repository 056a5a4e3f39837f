package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers of the daemon tests.
const (
	daemonTollFree   = "+18885550100"
	daemonSubscriber = "+12015550101"
)

// testDaemon is a whole optgate started in-process on free loopback ports,
// with the built-in simulator as carrier and one account, acme: ESME
// acme01 with password secret1, API token tok-acme.
type testDaemon struct {
	d       *gateway.Daemon
	smppURL string // host:port of the business SMPP server
	api     string // base URL of the HTTP API
}

func startTestDaemon(t *testing.T) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	simAddr := freeRunAddr(t)
	yaml := fmt.Sprintf(`
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: false}
  simulator: {enabled: true, addr: %q, receipt_delay: 0s}
store:
  embedded: {path: %q}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: %q, greeting: %q, voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: %q}
    api_tokens:
      - {name: main, hash: %q}
carriers:
  - {name: sim, address: %q, system_id: optgate, password: simpass, routes: ["+1"]}
`, simAddr, filepath.Join(dir, "consent.db"), daemonTollFree, config.DemoGreeting,
		cliHash(t, "secret1"), cliHash(t, cliAcmeToken), simAddr)
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("parse test configuration: %v", err)
	}
	d, err := gateway.NewDaemon(cfg, nil, gateway.DaemonOptions{
		ESME:     gateway.ESMEServerConfig{FailedBindDelay: 5 * time.Millisecond, MaxFailedBindDelay: 20 * time.Millisecond},
		Dispatch: gateway.DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("new daemon: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Errorf("stop daemon: %v", err)
		}
	})
	td := &testDaemon{d: d, smppURL: d.SMPPAddr().String(), api: "http://" + d.HTTPAddr().String()}
	td.waitFor(t, "the daemon to be ready", func() bool {
		for _, err := range d.Ready(ctx) {
			if err != nil {
				return false
			}
		}
		return true
	})
	return td
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func (td *testDaemon) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inject sends an MO from the simulator, failing unless optgate responds
// with ESME_ROK.
func (td *testDaemon) inject(t *testing.T, from, to, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := td.d.Simulator().Inject(ctx, smscsim.MO{From: from, To: to, Text: text})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("inject %q: %v, %v; want ESME_ROK", text, status, err)
	}
}

// runAPI runs an HTTP API command against the daemon as acme.
func (td *testDaemon) runAPI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append(args, "-api", td.api, "-token", cliAcmeToken)...)
}

// listen runs optgate listen against the daemon as acme01.
func (td *testDaemon) listen(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"listen", "-addr", td.smppURL, "-system-id", "acme01", "-password", "secret1"},
		args...)...)
}

var sentID = regexp.MustCompile(`^sent message ([0-9a-f]{16}) in 1 segment`)

// TestListenWalkThrough follows the README: an opt-in request, the
// subscriber's YES, a text with a receipt, its status and a STOP, then
// listen prints what was queued for the business, in order.
func TestListenWalkThrough(t *testing.T) {
	td := startTestDaemon(t)
	if code, _, stderr := td.runAPI(t, "optin", "-to", daemonSubscriber); code != exitOK {
		t.Fatalf("optin: exit %d: %s", code, stderr)
	}
	td.inject(t, daemonSubscriber, daemonTollFree, "Yes")

	code, stdout, stderr := td.runAPI(t, "send", "-from", daemonTollFree, "-to", daemonSubscriber,
		"-text", "Your order is ready", "-receipt")
	m := sentID.FindStringSubmatch(stdout)
	if code != exitOK || m == nil {
		t.Fatalf("send: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	id := m[1]
	var status string
	td.waitFor(t, "the receipt of "+id, func() bool {
		_, status, _ = td.runAPI(t, "status", id)
		return strings.HasPrefix(status, "message "+id+": delivered (DELIVRD, err 000)")
	})
	if !strings.Contains(status, "  from "+daemonTollFree+" to "+daemonSubscriber+" via carrier sim, 1 segment") {
		t.Errorf("status output lacks the route line:\n%s", status)
	}
	td.inject(t, daemonSubscriber, daemonTollFree, "STOP")

	code, stdout, stderr = td.listen(t, "-count", "3", "-timeout", "20s")
	if code != exitOK {
		t.Fatalf("listen: exit %d; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^MO from \+12015550101 to \+18885550100: "Yes"$`),
		regexp.MustCompile(`^  consent keyword opt_in, outcome opted_in; optgate already replied, so do not reply$`),
		regexp.MustCompile(`^  optgate id [0-9a-f]{16}$`),
		regexp.MustCompile(`^receipt for message ` + id + ` from \+18885550100 to \+12015550101: ` +
			`delivered \(DELIVRD, err 000\), done \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`),
		regexp.MustCompile(`^MO from \+12015550101 to \+18885550100: "STOP"$`),
		regexp.MustCompile(`^  OPT-OUT: consent keyword opt_out, outcome opted_out; optgate already replied`),
		regexp.MustCompile(`^  optgate id [0-9a-f]{16}$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("listen printed %d lines, want %d:\n%s", len(lines), len(want), stdout)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d = %q, want a match of %s", i+1, lines[i], re)
		}
	}
	if !strings.Contains(stderr, "bound to "+td.smppURL+" as acme01 (receiver)") {
		t.Errorf("stderr lacks the bind notice: %q", stderr)
	}

	// Every item was acknowledged, so nothing is left for a second bind.
	code, stdout, stderr = td.listen(t, "-count", "1", "-timeout", "500ms", "-bind", "transceiver")
	if code != exitFailure || stdout != "" {
		t.Errorf("second listen: exit %d, stdout %q; want exit 1 and nothing printed", code, stdout)
	}
	if !strings.Contains(stderr, "500ms passed with 0 of 1 items received") {
		t.Errorf("second listen stderr = %q, want the timeout named", stderr)
	}
}

func TestListenKeepsItemsBeyondCount(t *testing.T) {
	td := startTestDaemon(t)
	for _, text := range []string{"first", "second"} {
		td.inject(t, daemonSubscriber, daemonTollFree, text)
	}
	code, stdout, stderr := td.listen(t, "-count", "1", "-timeout", "10s")
	if code != exitOK || !strings.Contains(stdout, `"first"`) || strings.Contains(stdout, `"second"`) {
		t.Fatalf("first listen: exit %d, stdout %q, stderr %q; want only the first text", code, stdout, stderr)
	}
	code, stdout, stderr = td.listen(t, "-count", "1", "-timeout", "10s")
	if code != exitOK || !strings.Contains(stdout, `"second"`) {
		t.Errorf("second listen: exit %d, stdout %q, stderr %q; want the second text, kept queued", code, stdout, stderr)
	}
	code, stdout, _ = td.listen(t, "-timeout", "200ms")
	if code != exitOK || stdout != "" {
		t.Errorf("listen without -count: exit %d, stdout %q; want exit 0 at the timeout, nothing printed", code, stdout)
	}
}

func TestListenerRefusesBeyondCount(t *testing.T) {
	var out strings.Builder
	l := &listener{out: &out, count: 1, done: make(chan struct{})}
	first := &smpp.DeliverSM{SourceAddr: "12015550101", DestinationAddr: "18885550100", ShortMessage: []byte("one")}
	second := &smpp.DeliverSM{SourceAddr: "12015550101", DestinationAddr: "18885550100", ShortMessage: []byte("two")}
	if st := l.handle(context.Background(), first); st != smpp.StatusOK {
		t.Errorf("first item: %v, want ESME_ROK", st)
	}
	select {
	case <-l.done:
	default:
		t.Error("done is still open after the counted item")
	}
	if st := l.handle(context.Background(), second); st != smpp.StatusTempAppError {
		t.Errorf("item beyond the count: %v, want ESME_RX_T_APPN so optgate keeps it", st)
	}
	if st := l.handle(context.Background(), &smpp.DataSM{}); st != smpp.StatusTempAppError {
		t.Errorf("data_sm: %v, want ESME_RX_T_APPN", st)
	}
	if got := out.String(); got != "MO from 12015550101 to 18885550100: \"one\"\n" {
		t.Errorf("printed %q, want only the first item", got)
	}
}

func TestListenBindRejected(t *testing.T) {
	td := startTestDaemon(t)
	start := time.Now()
	code, stdout, stderr := run(t, "listen", "-addr", td.smppURL, "-system-id", "acme01", "-password", "wrong",
		"-timeout", "30s")
	if code != exitFailure || stdout != "" {
		t.Errorf("exit %d, stdout %q; want exit 1 and nothing printed", code, stdout)
	}
	if !strings.Contains(stderr, "bind to "+td.smppURL+" as acme01") || !strings.Contains(stderr, "ESME_R") {
		t.Errorf("stderr = %q, want the rejected bind with its status", stderr)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("a rejected bind took %v to report, want at once", elapsed)
	}
}

func TestListenUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-bind", "transmitter"},
		{"-count", "-1"},
		{"-timeout", "-1s"},
		{"extra"},
		{"-system-id", "a-system-id-of-20-chr"},
		{"-count", "many"},
	} {
		code, _, stderr := run(t, append([]string{"listen"}, args...)...)
		if code != exitUsage {
			t.Errorf("listen %v: exit %d, want %d; stderr %q", args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "Usage: optgate listen") {
			t.Errorf("listen %v: stderr lacks the usage: %q", args, stderr)
		}
	}
}

func TestDescribeDeliverSM(t *testing.T) {
	ucs2, err := smpp.EncodeText("Ça marche ✓", smpp.CodingUCS2, smpp.TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mo := func(coding smpp.DataCoding, data []byte, tlvs func(ts *smpp.TLVs)) *smpp.DeliverSM {
		d := &smpp.DeliverSM{SourceAddrTON: smpp.TONInternational, SourceAddr: "12015550101",
			DestAddrTON: smpp.TONInternational, DestinationAddr: "18885550100", DataCoding: coding, ShortMessage: data}
		if tlvs != nil {
			tlvs(&d.TLVs)
		}
		return d
	}
	receipt := &smpp.DeliverSM{ESMClass: smpp.ESMClassDeliveryReceipt,
		SourceAddrTON: smpp.TONInternational, SourceAddr: "12015550101",
		DestAddrTON: smpp.TONInternational, DestinationAddr: "18885550100",
		ShortMessage: []byte("id:0123456789abcdef sub:001 dlvrd:000 submit date:2603101500 " +
			"done date:2603101502 stat:UNDELIV err:011 text:")}
	receipt.TLVs.SetReceiptedMessageID("0123456789abcdef")
	receipt.TLVs.SetMessageState(smpp.StateUndeliverable)
	receipt.TLVs.SetNetworkErrorCode(smpp.NetworkErrorCode{NetworkType: 3, ErrorCode: 2050})
	receipt.TLVs.SetUserMessageReference(42)
	resentReceipt := *receipt
	resentReceipt.TLVs = smpp.TLVs{}
	resentReceipt.TLVs.SetReceiptedMessageID("0123456789abcdef")
	resentReceipt.TLVs.SetMessageState(smpp.StateUndeliverable)
	resentReceipt.TLVs.SetNetworkErrorCode(smpp.NetworkErrorCode{NetworkType: 3, ErrorCode: 2050})
	resentReceipt.TLVs.SetUserMessageReference(42)
	resentReceipt.TLVs.SetUint8(gateway.TagMOFlags, gateway.MOFlagPossibleResend)

	tests := []struct {
		name string
		pdu  *smpp.DeliverSM
		want string
	}{
		{"ordinary text in UCS2", mo(smpp.CodingUCS2, ucs2, func(ts *smpp.TLVs) {
			ts.SetCString(gateway.TagMOID, "aa11")
		}), "MO from +12015550101 to +18885550100: \"Ça marche ✓\"\n  optgate id aa11\n"},
		{"opt-out in free text", mo(smpp.CodingDefault, []byte("Stop. Thanks"), func(ts *smpp.TLVs) {
			ts.SetCString(gateway.TagConsentKeyword, "opt_out")
			ts.SetCString(gateway.TagConsentOutcome, "opted_out")
			ts.SetUint8(gateway.TagMOFlags, gateway.MOFlagFreeText)
		}), "MO from +12015550101 to +18885550100: \"Stop. Thanks\"\n" +
			"  OPT-OUT: consent keyword opt_out, outcome opted_out; optgate already replied, so do not reply\n" +
			"  keyword found among other words\n"},
		{"partial text", mo(smpp.CodingDefault, []byte("Part one"), func(ts *smpp.TLVs) {
			ts.SetUint8(gateway.TagMOFlags, gateway.MOFlagPartial)
		}), "MO from +12015550101 to +18885550100: \"Part one\"\n" +
			"  partial: segments never arrived, so it was not read for keywords\n"},
		{"undecodable octets", mo(0x05, []byte{0x01, 0xFE}, func(ts *smpp.TLVs) {
			ts.SetUint8(gateway.TagMOFlags, gateway.MOFlagUndecodable)
		}), "MO from +12015550101 to +18885550100: data_coding 0x05, octets 01 fe\n"},
		{"receipt", receipt, "receipt for message 0123456789abcdef from +18885550100 to +12015550101: " +
			"undeliverable (UNDELIV, err 011, network error 3/2050), done 2026-03-10T15:02:00Z, " +
			"user_message_reference 42\n"},
		{"text sent again", mo(smpp.CodingDefault, []byte("Hi"), func(ts *smpp.TLVs) {
			ts.SetCString(gateway.TagMOID, "bb22")
			ts.SetUint8(gateway.TagMOFlags, gateway.MOFlagPossibleResend)
		}), "MO from +12015550101 to +18885550100: \"Hi\"\n  " + possibleResendNote + "\n  optgate id bb22\n"},
		{"receipt sent again", &resentReceipt, "receipt for message 0123456789abcdef from +18885550100 to +12015550101: " +
			"undeliverable (UNDELIV, err 011, network error 3/2050), done 2026-03-10T15:02:00Z, " +
			"user_message_reference 42, " + possibleResendNote + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeDeliverSM(tt.pdu); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
