package smpp

// Interop tests against the npm smpp package (version 0.5.1, an
// independent SMPP implementation), whose peers live in test/peers. They
// need node on PATH and the peers' packages installed with
// `cd test/peers && npm ci`; without them the tests fail, naming that step.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	peersDir         = "../test/peers"
	interopMessages  = "testdata/interop/messages.json"
	peerEventTimeout = 15 * time.Second
)

// interopText is the content of testdata/interop/messages.json, which the
// npm peers read too.
type interopText struct {
	GSM         string `json:"gsm"`
	UCS2        string `json:"ucs2"`
	Long        string `json:"long"`
	MO          string `json:"mo"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

func loadInteropText(t *testing.T) interopText {
	t.Helper()
	b, err := os.ReadFile(interopMessages)
	if err != nil {
		t.Fatal(err)
	}
	var m interopText
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("parse %s: %v", interopMessages, err)
	}
	return m
}

// peerEvent is one JSON line a peer wrote to stdout.
type peerEvent struct {
	Event              string   `json:"event"`
	Message            string   `json:"message"`
	Status             uint32   `json:"status"`
	Seq                uint32   `json:"seq"`
	SystemID           string   `json:"system_id"`
	Password           string   `json:"password"`
	InterfaceVersion   uint8    `json:"interface_version"`
	MessageID          string   `json:"message_id"`
	SourceAddr         string   `json:"source_addr"`
	DestinationAddr    string   `json:"destination_addr"`
	ESMClass           uint8    `json:"esm_class"`
	DataCoding         uint8    `json:"data_coding"`
	Text               string   `json:"text"`
	UDH                []string `json:"udh"`
	ReceiptedMessageID string   `json:"receipted_message_id"`
	MessageState       uint8    `json:"message_state"`
}

// nodePeer is a running npm peer script.
type nodePeer struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan peerEvent
	stderr bytes.Buffer
	exited chan error
}

// startNodePeer runs a script of test/peers with node. It fails the test
// with the install step when node or the npm packages are missing.
func startNodePeer(t *testing.T, script string, args ...string) *nodePeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH (%v): install Node.js, then run `cd test/peers && npm ci`", err)
	}
	if _, err := os.Stat(filepath.Join(peersDir, "node_modules", "smpp", "package.json")); err != nil {
		t.Fatalf("npm package smpp not installed in test/peers (%v): run `cd test/peers && npm ci`", err)
	}
	msgs, err := filepath.Abs(interopMessages)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, append([]string{script}, append(args, msgs)...)...)
	cmd.Dir = peersDir
	p := &nodePeer{t: t, cmd: cmd, events: make(chan peerEvent, 64), exited: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}

	var readDone sync.WaitGroup
	readDone.Add(1)
	go func() {
		defer readDone.Done()
		defer close(p.events)
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			var ev peerEvent
			if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
				ev = peerEvent{Event: "error", Message: "unparsable output: " + scanner.Text()}
			}
			p.events <- ev
		}
	}()
	go func() {
		readDone.Wait()
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.events {
		}
		<-p.exited
	})
	return p
}

// lockedWriter makes a buffer safe for the exec package's copy goroutine
// and the test reading it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// collect returns the peer's events up to and including the first named
// until, failing on an "error" event or when the peer exits first.
func (p *nodePeer) collect(until string) []peerEvent {
	p.t.Helper()
	var seen []peerEvent
	timeout := time.After(peerEventTimeout)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("peer exited before %q; events %+v; stderr: %s", until, seen, p.stderrText())
			}
			if ev.Event == "error" {
				p.t.Fatalf("peer error: %s; stderr: %s", ev.Message, p.stderrText())
			}
			seen = append(seen, ev)
			if ev.Event == until {
				return seen
			}
		case <-timeout:
			p.t.Fatalf("no %q from the peer within %v; events %+v; stderr: %s",
				until, peerEventTimeout, seen, p.stderrText())
		}
	}
}

func (p *nodePeer) stderrText() string {
	lw := p.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.String()
}

// waitExit waits for the peer to exit and checks that it exited cleanly.
func (p *nodePeer) waitExit() {
	p.t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			p.t.Errorf("peer exited with %v; stderr: %s", err, p.stderrText())
		}
	case <-time.After(peerEventTimeout):
		p.t.Errorf("peer still running %v after the test", peerEventTimeout)
	}
}

func eventsNamed(events []peerEvent, name string) []peerEvent {
	var out []peerEvent
	for _, ev := range events {
		if ev.Event == name {
			out = append(out, ev)
		}
	}
	return out
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// decodedSubmit is what our server made of one submit_sm.
type decodedSubmit struct {
	coding DataCoding
	text   string
	concat ConcatInfo
	source string
	dest   string
}

func decodeShortMessage(coding DataCoding, esmClass uint8, data []byte) (string, ConcatInfo, error) {
	ud, err := ParseUserData(coding, data, esmClass&ESMClassUDHI != 0, TextOptions{})
	if err != nil {
		return "", ConcatInfo{}, err
	}
	text, err := ud.Text(coding, TextOptions{})
	var concat ConcatInfo
	if ud.Header != nil {
		concat, _ = ud.Header.Concat()
	}
	return text, concat, err
}

// TestInteropNPMClientToOurServer: the npm client binds to our server,
// submits three messages (one in three segments) and receives a deliver_sm
// and a delivery receipt from us.
func TestInteropNPMClientToOurServer(t *testing.T) {
	checkLeaks(t)
	msgs := loadInteropText(t)

	var mu sync.Mutex
	var submits []decodedSubmit
	var decodeErrs []error
	pushed := make(chan error, 1)
	var pushWG sync.WaitGroup
	t.Cleanup(pushWG.Wait)

	srv := &Server{SystemID: "optgate"}
	srv.Handler = HandlerFunc(func(ctx context.Context, ss *ServerSession, req PDU) PDU {
		sm, ok := req.(*SubmitSM)
		if !ok {
			return NewResponse(req, StatusInvalidCommandID)
		}
		text, concat, err := decodeShortMessage(sm.DataCoding, sm.ESMClass, sm.ShortMessage)
		mu.Lock()
		if err != nil {
			decodeErrs = append(decodeErrs, err)
		}
		submits = append(submits, decodedSubmit{sm.DataCoding, text, concat, sm.SourceAddr, sm.DestinationAddr})
		n := len(submits)
		mu.Unlock()

		resp := NewResponse(req, StatusOK).(*SubmitSMResp)
		resp.MessageID = fmt.Sprintf("og-%d", n)
		if n == 5 {
			// Deliver once the fifth response is on its way.
			pushWG.Add(1)
			go func() {
				defer pushWG.Done()
				time.Sleep(20 * time.Millisecond)
				pushed <- pushToNPMClient(ctx, ss, msgs)
			}()
		}
		return resp
	})
	addr := startServer(t, srv)
	_, port, _ := net.SplitHostPort(addr)

	peer := startNodePeer(t, "client.js", port, testSystemID, testPassword)
	events := peer.collect("closed")
	peer.waitExit()
	if err := <-pushed; err != nil {
		t.Fatalf("pushing deliver_sm to the npm client: %v", err)
	}

	// What the npm client saw.
	if binds := eventsNamed(events, "bind_transceiver_resp"); len(binds) != 1 ||
		binds[0].Status != 0 || binds[0].SystemID != "optgate" {
		t.Errorf("bind_transceiver_resp events %+v, want one ESME_ROK from optgate", binds)
	}
	resps := eventsNamed(events, "submit_sm_resp")
	if len(resps) != 5 {
		t.Fatalf("npm client got %d submit_sm_resp, want 5; events %+v", len(resps), events)
	}
	for i, r := range resps {
		if want := fmt.Sprintf("og-%d", i+1); r.Status != 0 || r.MessageID != want {
			t.Errorf("submit_sm_resp %d = status %d id %q, want 0 and %q", i+1, r.Status, r.MessageID, want)
		}
	}
	delivers := eventsNamed(events, "deliver_sm")
	if len(delivers) != 2 {
		t.Fatalf("npm client got %d deliver_sm, want 2", len(delivers))
	}
	if mo := delivers[0]; mo.Text != msgs.MO || mo.DataCoding != 0x08 ||
		mo.SourceAddr != msgs.Destination || mo.DestinationAddr != msgs.Source {
		t.Errorf("npm client decoded MO %+v, want %q (UCS2) from %s", mo, msgs.MO, msgs.Destination)
	}
	receipt := delivers[1]
	if receipt.ESMClass != ESMClassDeliveryReceipt || receipt.ReceiptedMessageID != "og-1" ||
		receipt.MessageState != uint8(StateDelivered) || !strings.HasPrefix(receipt.Text, "id:og-1 ") ||
		!strings.Contains(receipt.Text, "stat:DELIVRD") {
		t.Errorf("npm client decoded receipt %+v", receipt)
	}
	if u := eventsNamed(events, "unbind_resp"); len(u) != 1 || u[0].Status != 0 {
		t.Errorf("unbind_resp events %+v, want one ESME_ROK", u)
	}

	// What our server decoded.
	mu.Lock()
	defer mu.Unlock()
	for _, err := range decodeErrs {
		t.Errorf("decode: %v", err)
	}
	if len(submits) != 5 {
		t.Fatalf("server decoded %d submit_sm, want 5", len(submits))
	}
	if s := submits[0]; s.coding != CodingDefault || s.text != msgs.GSM || s.source != msgs.Source ||
		s.dest != msgs.Destination {
		t.Errorf("GSM submit decoded as %+v, want %q", s, msgs.GSM)
	}
	if s := submits[1]; s.coding != CodingUCS2 || s.text != msgs.UCS2 {
		t.Errorf("UCS2 submit decoded as %+v, want %q", s, msgs.UCS2)
	}
	var long strings.Builder
	for i, s := range submits[2:] {
		want := ConcatInfo{Ref: 0x2a, Total: 3, Seq: uint8(i + 1)}
		if s.concat != want {
			t.Errorf("segment %d concat %+v, want %+v", i+1, s.concat, want)
		}
		long.WriteString(s.text)
	}
	if long.String() != msgs.Long {
		t.Errorf("segments join to %q, want %q", long.String(), msgs.Long)
	}
}

// pushToNPMClient sends the MO text as UCS2 and a receipt for og-1.
func pushToNPMClient(ctx context.Context, ss *ServerSession, msgs interopText) error {
	data, err := EncodeText(msgs.MO, CodingUCS2, TextOptions{})
	if err != nil {
		return err
	}
	mo := &DeliverSM{
		SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: msgs.Destination,
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: msgs.Source,
		DataCoding: CodingUCS2, ShortMessage: data,
	}
	if _, err := ss.Deliver(ctx, mo); err != nil {
		return fmt.Errorf("MO: %w", err)
	}
	done := time.Date(2026, 12, 4, 12, 1, 0, 0, time.UTC)
	text := Receipt{
		ID: "og-1", Submitted: "001", Delivered: "001",
		SubmitDate: done.Add(-time.Minute), DoneDate: done,
		State: StateDelivered, Err: "000", Text: msgs.GSM[:10],
	}.String()
	receipt := &DeliverSM{
		SourceAddr: msgs.Destination, DestinationAddr: msgs.Source,
		ESMClass: ESMClassDeliveryReceipt, ShortMessage: []byte(text),
	}
	receipt.TLVs.SetReceiptedMessageID("og-1")
	receipt.TLVs.SetMessageState(StateDelivered)
	if _, err := ss.Deliver(ctx, receipt); err != nil {
		return fmt.Errorf("receipt: %w", err)
	}
	return nil
}

// TestInteropOurClientToNPMServer: our client binds to an npm server,
// submits the same three messages and receives its deliver_sm and receipt.
func TestInteropOurClientToNPMServer(t *testing.T) {
	checkLeaks(t)
	msgs := loadInteropText(t)
	port := freePort(t)
	peer := startNodePeer(t, "server.js", strconv.Itoa(port))
	peer.collect("listening")

	received := make(chan *DeliverSM, 2)
	cfg := testClientConfig(fmt.Sprintf("127.0.0.1:%d", port))
	cfg.EnquireLinkInterval = 200 * time.Millisecond
	cfg.Handler = func(_ context.Context, req PDU) CommandStatus {
		if d, ok := req.(*DeliverSM); ok {
			received <- d
		}
		return StatusOK
	}
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("Dial npm server: %v", err)
	}
	defer func() {
		if err := c.Close(testCtx(t)); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	// Submit the GSM, UCS2 and three-segment messages.
	var ids []string
	submit := func(coding DataCoding, seg Segment) {
		t.Helper()
		sm := testSubmit("")
		sm.SourceAddr, sm.DestinationAddr = msgs.Source, msgs.Destination
		sm.DataCoding, sm.ShortMessage, sm.RegisteredDelivery = coding, seg.Data, RegisteredDeliveryReceiptAlways
		if seg.UDHI {
			sm.ESMClass |= ESMClassUDHI
		}
		resp, err := c.Submit(testCtx(t), sm)
		if err != nil {
			t.Fatalf("Submit to npm server: %v", err)
		}
		ids = append(ids, resp.MessageID)
	}
	refs := &interopRef{ref: 0x2b}
	for _, m := range []struct {
		text   string
		coding DataCoding
	}{{msgs.GSM, CodingDefault}, {msgs.UCS2, CodingUCS2}, {msgs.Long, CodingDefault}} {
		segs, err := SplitText(m.text, m.coding, SplitOptions{Refs: refs})
		if err != nil {
			t.Fatalf("SplitText(%q): %v", m.text, err)
		}
		for _, seg := range segs {
			submit(m.coding, seg)
		}
	}
	if want := "[npm-1 npm-2 npm-3 npm-4 npm-5]"; fmt.Sprint(ids) != want {
		t.Errorf("message ids %v, want %s", ids, want)
	}

	// The npm server sends an MO and a receipt after the fifth submit.
	var delivers []*DeliverSM
	for range 2 {
		select {
		case d := <-received:
			delivers = append(delivers, d)
		case <-time.After(peerEventTimeout):
			t.Fatalf("got %d deliver_sm from the npm server, want 2", len(delivers))
		}
	}
	if err := c.Close(testCtx(t)); err != nil {
		t.Errorf("Close: %v", err)
	}
	events := peer.collect("unbind")
	peer.waitExit()

	// Handlers run concurrently, so the two may arrive in either order.
	mo, receipt := delivers[0], delivers[1]
	if IsDeliveryReceipt(mo.ESMClass) {
		mo, receipt = receipt, mo
	}
	if IsDeliveryReceipt(mo.ESMClass) || !IsDeliveryReceipt(receipt.ESMClass) {
		t.Fatalf("esm_class %#x and %#x, want one MO and one receipt", mo.ESMClass, receipt.ESMClass)
	}
	text, _, err := decodeShortMessage(mo.DataCoding, mo.ESMClass, mo.ShortMessage)
	if err != nil || text != msgs.MO || mo.SourceAddr != msgs.Destination {
		t.Errorf("MO from npm decoded as %q from %s (%v), want %q from %s",
			text, mo.SourceAddr, err, msgs.MO, msgs.Destination)
	}
	report, err := ParseDeliverSMReceipt(receipt, TextOptions{})
	if err != nil || report.MessageID != "npm-1" || report.State != StateDelivered ||
		report.Receipt.Err != "000" {
		t.Errorf("receipt from npm parsed as %+v, %v; want npm-1 DELIVRD err 000", report, err)
	}

	// What the npm server decoded.
	binds := eventsNamed(events, "bind_transceiver")
	if len(binds) != 1 || binds[0].SystemID != testSystemID || binds[0].Password != testPassword ||
		binds[0].InterfaceVersion != InterfaceVersion34 {
		t.Errorf("npm server saw binds %+v", binds)
	}
	got := eventsNamed(events, "submit_sm")
	if len(got) != 5 {
		t.Fatalf("npm server saw %d submit_sm, want 5", len(got))
	}
	if got[0].Text != msgs.GSM || got[0].DataCoding != 0 {
		t.Errorf("npm server decoded GSM submit as %q (data_coding %d), want %q", got[0].Text, got[0].DataCoding, msgs.GSM)
	}
	if got[1].Text != msgs.UCS2 || got[1].DataCoding != 8 {
		t.Errorf("npm server decoded UCS2 submit as %q (data_coding %d), want %q", got[1].Text, got[1].DataCoding, msgs.UCS2)
	}
	var long strings.Builder
	for i, ev := range got[2:] {
		wantUDH := fmt.Sprintf("00032b03%02x", i+1)
		if ev.ESMClass&ESMClassUDHI == 0 || len(ev.UDH) != 1 || ev.UDH[0] != wantUDH {
			t.Errorf("segment %d: esm_class %#x udh %v, want UDHI and %s", i+1, ev.ESMClass, ev.UDH, wantUDH)
		}
		long.WriteString(ev.Text)
	}
	if long.String() != msgs.Long {
		t.Errorf("npm server joined segments to %q, want %q", long.String(), msgs.Long)
	}
	resps := eventsNamed(events, "deliver_sm_resp")
	if len(resps) != 2 || resps[0].Status != 0 || resps[1].Status != 0 {
		t.Errorf("npm server saw deliver_sm_resp %+v, want two ESME_ROK", resps)
	}
}

// interopRef is a RefSource that always returns one reference, so the
// test can predict the concatenation header.
type interopRef struct{ ref uint16 }

func (f *interopRef) NextRef() uint16 { return f.ref }
