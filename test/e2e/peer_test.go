package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	// peersDir holds the npm peers and their node_modules.
	peersDir = "../peers"
	// peerTimeout bounds each wait for an event from the business peer.
	peerTimeout = 15 * time.Second
)

// peerEvent is one JSON line that test/peers/business.js writes to stdout.
type peerEvent struct {
	Event   string `json:"event"`
	Message string `json:"message"`
	// Ref is the test's reference of the submit that a submit_sm_resp
	// responds to.
	Ref       string `json:"ref"`
	Seq       uint32 `json:"seq"`
	Status    uint32 `json:"status"`
	SystemID  string `json:"system_id"`
	MessageID string `json:"message_id"`

	SourceAddr         string `json:"source_addr"`
	DestinationAddr    string `json:"destination_addr"`
	ESMClass           uint8  `json:"esm_class"`
	DataCoding         uint8  `json:"data_coding"`
	Text               string `json:"text"`
	ReceiptedMessageID string `json:"receipted_message_id"`
	MessageState       uint8  `json:"message_state"`
	// MOID, ConsentKeyword, ConsentOutcome and MOFlags are optgate's
	// vendor-specific deliver_sm TLVs 0x1400 to 0x1403.
	MOID           string `json:"mo_id"`
	ConsentKeyword string `json:"consent_keyword"`
	ConsentOutcome string `json:"consent_outcome"`
	MOFlags        *uint8 `json:"mo_flags"`
}

// isReceipt reports whether a deliver_sm is a delivery receipt: esm_class
// message type 0x04 (SMPP 3.4 section 5.2.12).
func (e peerEvent) isReceipt() bool { return e.ESMClass&0x3c == 0x04 }

// submitCommand is a submit command for business.js.
type submitCommand struct {
	Cmd                string `json:"cmd"`
	Ref                string `json:"ref"`
	ServiceType        string `json:"service_type,omitempty"`
	Source             string `json:"source"`
	Destination        string `json:"destination"`
	Text               string `json:"text"`
	RegisteredDelivery uint8  `json:"registered_delivery"`
}

// businessPeer is test/peers/business.js bound to optgate as a
// transceiver: the business's SMPP client.
type businessPeer struct {
	t      *testing.T
	stdin  io.WriteCloser
	events chan peerEvent
	stderr lockedBuffer
	exited chan error
	// pending are events read but not yet consumed by a wait.
	pending []peerEvent
	// delivers are all deliver_sm events consumed so far.
	delivers []peerEvent
	refs     int
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// requireNode returns the path of node, and fails the test with the
// install step when node or the npm packages of test/peers are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH (%v): install Node.js, then run `cd test/peers && npm ci`", err)
	}
	if _, err := os.Stat(filepath.Join(peersDir, "node_modules", "smpp", "package.json")); err != nil {
		t.Fatalf("npm package smpp not installed in test/peers (%v): run `cd test/peers && npm ci`", err)
	}
	return node
}

// startBusiness runs business.js with node against optgate's SMPP port and
// waits for its bind_transceiver_resp, which must be ESME_ROK.
func startBusiness(t *testing.T, node string, port int, systemID, password string) *businessPeer {
	t.Helper()
	cmd := exec.Command(node, "business.js", strconv.Itoa(port), systemID, password)
	cmd.Dir = peersDir
	p := &businessPeer{t: t, events: make(chan peerEvent, 64), exited: make(chan error, 1)}
	cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node business.js: %v", err)
	}
	go func() {
		// Wait closes stdout, so it may run only once read has drained it.
		p.read(stdout)
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.events {
		}
	})

	bind := p.waitEvent("bind_transceiver_resp", func(peerEvent) bool { return true })
	if bind.Status != 0 {
		t.Fatalf("bind_transceiver as %s: command_status 0x%08X, want ESME_ROK", systemID, bind.Status)
	}
	return p
}

// read turns stdout lines into events and closes the channel at the end.
func (p *businessPeer) read(stdout io.Reader) {
	defer close(p.events)
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		var ev peerEvent
		if err := json.Unmarshal(scanner.Bytes(), &ev); err != nil {
			ev = peerEvent{Event: "error", Message: "unparsable output: " + scanner.Text()}
		}
		p.events <- ev
	}
}

// waitEvent returns the first event named name for which match is true,
// taken from the events not yet consumed or from those still to come. It
// fails the test on an error event, on the peer's exit, and after
// peerTimeout.
func (p *businessPeer) waitEvent(name string, match func(peerEvent) bool) peerEvent {
	p.t.Helper()
	for i, ev := range p.pending {
		if ev.Event == name && match(ev) {
			p.pending = append(p.pending[:i], p.pending[i+1:]...)
			return p.consumed(ev)
		}
	}
	timeout := time.After(peerTimeout)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("business peer exited while the test waited for %s; unconsumed events %+v; stderr: %s",
					name, p.pending, p.stderr.String())
			}
			if ev.Event == "error" {
				p.t.Fatalf("business peer failed: %s; stderr: %s", ev.Message, p.stderr.String())
			}
			if ev.Event == name && match(ev) {
				return p.consumed(ev)
			}
			p.pending = append(p.pending, ev)
		case <-timeout:
			p.t.Fatalf("no matching %s from the business peer within %v; unconsumed events %+v",
				name, peerTimeout, p.pending)
		}
	}
}

func (p *businessPeer) consumed(ev peerEvent) peerEvent {
	if ev.Event == "deliver_sm" {
		p.delivers = append(p.delivers, ev)
	}
	return ev
}

// submit sends a submit_sm and returns its submit_sm_resp.
func (p *businessPeer) submit(c submitCommand) peerEvent {
	p.t.Helper()
	p.refs++
	c.Cmd, c.Ref = "submit", "submit-"+strconv.Itoa(p.refs)
	p.send(c)
	return p.waitEvent("submit_sm_resp", func(ev peerEvent) bool { return ev.Ref == c.Ref })
}

// waitMO returns the next MO deliver_sm whose text is text.
func (p *businessPeer) waitMO(text string) peerEvent {
	p.t.Helper()
	return p.waitEvent("deliver_sm", func(ev peerEvent) bool { return !ev.isReceipt() && ev.Text == text })
}

// waitReceipt returns the delivery receipt whose receipted_message_id is
// id.
func (p *businessPeer) waitReceipt(id string) peerEvent {
	p.t.Helper()
	return p.waitEvent("deliver_sm", func(ev peerEvent) bool {
		return ev.isReceipt() && ev.ReceiptedMessageID == id
	})
}

// unbind unbinds and waits until the peer closed its connection.
func (p *businessPeer) unbind() {
	p.t.Helper()
	p.send(map[string]string{"cmd": "unbind"})
	resp := p.waitEvent("unbind_resp", func(peerEvent) bool { return true })
	if resp.Status != 0 {
		p.t.Errorf("unbind_resp command_status 0x%08X, want ESME_ROK", resp.Status)
	}
	p.waitEvent("closed", func(peerEvent) bool { return true })
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("business peer exited with %v after unbinding; stderr: %s", err, p.stderr.String())
		}
	case <-time.After(peerTimeout):
		p.t.Errorf("business peer still running %v after unbinding", peerTimeout)
	}
}

// unconsumed returns the events of kind name read but never consumed.
func (p *businessPeer) unconsumed(name string) []peerEvent {
	var out []peerEvent
	for _, ev := range p.pending {
		if ev.Event == name {
			out = append(out, ev)
		}
	}
	return out
}

func (p *businessPeer) send(command any) {
	p.t.Helper()
	line, err := json.Marshal(command)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("write a command to the business peer: %v; stderr: %s", err, p.stderr.String())
	}
}

func (e peerEvent) String() string {
	return fmt.Sprintf("%s{status 0x%08X id %q text %q keyword %q}", e.Event, e.Status, e.MessageID, e.Text,
		e.ConsentKeyword)
}
