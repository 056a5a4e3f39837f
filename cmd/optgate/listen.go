package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

func init() {
	register("listen", "bind as a business over SMPP and print the texts and receipts optgate delivers", runListen)
}

const listenUsage = `Usage: optgate listen [flags]

Binds to optgate's SMPP server as a business and prints every deliver_sm
it receives: texts from subscribers (MO), marked when optgate read them as
a consent keyword such as an opt-out, and delivery receipts for the
business's messages. optgate queues both while the business has no
receiver bound, so listen also prints what waited in the queue. Each item
is acknowledged with ESME_ROK once it is printed; items that arrive after
-count are answered with ESME_RX_T_APPN, so optgate keeps them queued.

listen stops after -count items, after -timeout, or on Ctrl-C. It exits 0
when it stopped after -count items, on Ctrl-C, or at -timeout without
-count; it exits 1 when the bind failed or -timeout passed before -count
items arrived, and 2 on a usage error.

Flags:
`

// listenBindWait bounds the wait for the bind.
const listenBindWait = 10 * time.Second

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate listen", listenUsage, stderr)
	addr := fs.String("addr", "127.0.0.1:2775", "optgate's SMPP `host:port`")
	systemID := fs.String("system-id", "demo", "SMPP `system_id` of the business's ESME")
	password := fs.String("password", "demopass", "SMPP `password` of the ESME")
	bind := fs.String("bind", "receiver", "bind `type`: receiver or transceiver")
	count := fs.Int("count", 0, "stop after `N` items (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after this `duration`, such as 30s (0: no limit)")
	positional, code := parseInterspersed(fs, args, stdout)
	if code >= 0 {
		return code
	}
	bindType := smpp.BindTypeReceiver
	switch {
	case len(positional) > 0:
		return usageError(fs, stderr, "unexpected argument %q", positional[0])
	case *bind == "transceiver":
		bindType = smpp.BindTypeTransceiver
	case *bind != "receiver":
		return usageError(fs, stderr, "-bind %q is not receiver or transceiver", *bind)
	}
	if *count < 0 || *timeout < 0 {
		return usageError(fs, stderr, "-count and -timeout must not be negative")
	}

	// The client's hooks write to stderr from its own goroutines.
	stderr = &lockedWriter{w: stderr}
	l := &listener{out: stdout, count: *count, done: make(chan struct{})}
	listenCtx, cancel := ctx, context.CancelFunc(func() {})
	if *timeout > 0 {
		listenCtx, cancel = context.WithTimeout(ctx, *timeout)
	}
	defer cancel()
	client, err := l.bind(listenCtx, smpp.ClientConfig{
		Addr: *addr, SystemID: *systemID, Password: *password, BindType: bindType, Handler: l.handle,
		// optgate sends up to its window of deliver_sm before the first
		// response; a larger inbound window takes them all without
		// ESME_RTHROTTLED.
		InboundWindow: listenInboundWindow,
		Hooks:         smpp.Hooks{PDUReceived: l.arrived},
	}, stderr)
	if errors.Is(err, smpp.ErrInvalidConfig) {
		return usageError(fs, stderr, "%v", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "optgate listen: bind to %s as %s: %v\n", *addr, *systemID, err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "bound to %s as %s (%s); waiting for texts and receipts\n", *addr, *systemID, bindType)

	result := exitOK
	select {
	case <-l.done:
	case <-listenCtx.Done():
		if ctx.Err() == nil && *count > 0 {
			fmt.Fprintf(stderr, "optgate listen: %s passed with %d of %d items received\n",
				*timeout, l.received(), *count)
			result = exitFailure
		}
	}

	// Close waits for the running handlers, so the last item's
	// deliver_sm_resp goes out before the unbind.
	l.bound.Store(false)
	closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelClose()
	if err := client.Close(closeCtx); err != nil {
		fmt.Fprintf(stderr, "optgate listen: unbind: %v\n", err)
	}
	return result
}

// listener prints the deliver_sm PDUs of one bind and counts them.
type listener struct {
	out   io.Writer
	count int
	// done is closed once count items were printed.
	done chan struct{}

	// bound is set from the first bind until the close starts. In that
	// time a closed connection is reported on stderr.
	bound atomic.Bool

	mu   sync.Mutex
	seen int
	// order holds the sequence numbers of the deliver_sm PDUs read from
	// the connection and not yet handled, in arrival order. The client
	// runs handlers concurrently, so each waits for its turn to keep the
	// printed order and the count in queue order.
	order []uint32
}

// listenInboundWindow is the number of deliver_sm handled at once.
const listenInboundWindow = 64

// turnWait bounds how long a handler waits for the earlier deliver_sm,
// because that one may never reach a handler: the client may have
// rejected it itself, or the connection was replaced.
const turnWait = 2 * time.Second

// arrived notes a deliver_sm read from the connection.
func (l *listener) arrived(_ string, h smpp.Header) {
	if h.CommandID != smpp.DeliverSMID {
		return
	}
	l.mu.Lock()
	l.order = append(l.order, h.SequenceNumber)
	l.mu.Unlock()
}

// takeTurn waits until seq is the oldest unhandled deliver_sm, or turnWait
// passed, and returns with mu held and seq removed from the order.
func (l *listener) takeTurn(seq uint32) {
	deadline := time.Now().Add(turnWait)
	l.mu.Lock()
	for (len(l.order) == 0 || l.order[0] != seq) && time.Now().Before(deadline) {
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
		l.mu.Lock()
	}
	if i := slices.Index(l.order, seq); i >= 0 {
		l.order = slices.Delete(l.order, i, i+1)
	}
}

// bind connects the client and waits for the bind. Credentials that
// optgate rejects end the wait at once. Other failures, such as
// ESME_RBINDFAIL while the server still counts a session that just
// unbound against max_binds, are retried until listenBindWait or ctx
// ends. After the bind, a lost connection is reported on stderr and the
// client binds again by itself.
func (l *listener) bind(ctx context.Context, cfg smpp.ClientConfig, stderr io.Writer) (*smpp.Client, error) {
	bindCtx, cancel := context.WithTimeout(ctx, listenBindWait)
	defer cancel()
	var mu sync.Mutex
	var rejected error
	cfg.ReconnectDelay, cfg.MaxReconnectDelay = 200*time.Millisecond, 2*time.Second
	cfg.Hooks.BindStateChanged = func(_ string, state smpp.SessionState, err error) {
		var st *smpp.StatusError
		switch {
		case state != smpp.SessionClosed || err == nil:
		case l.bound.Load():
			fmt.Fprintf(stderr, "optgate listen: connection closed (%v); binding again\n", err)
		case errors.As(err, &st) && (st.Status == smpp.StatusInvalidPassword || st.Status == smpp.StatusInvalidSystemID):
			mu.Lock()
			rejected = err
			mu.Unlock()
			cancel()
		}
	}
	client, err := smpp.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := client.Connect(bindCtx); err != nil {
		abortCtx, cancelAbort := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancelAbort()
		_ = client.Close(abortCtx)
		mu.Lock()
		defer mu.Unlock()
		if rejected != nil {
			return nil, rejected
		}
		return nil, err
	}
	l.bound.Store(true)
	return client, nil
}

// handle prints one deliver_sm and acknowledges it. Other requests, and
// items beyond the count, get ESME_RX_T_APPN, which makes optgate keep
// them queued and send them again later.
func (l *listener) handle(_ context.Context, req smpp.PDU) smpp.CommandStatus {
	d, ok := req.(*smpp.DeliverSM)
	if !ok {
		return smpp.StatusTempAppError
	}
	l.takeTurn(d.PDUHeader().SequenceNumber)
	defer l.mu.Unlock()
	if l.count > 0 && l.seen >= l.count {
		return smpp.StatusTempAppError
	}
	io.WriteString(l.out, describeDeliverSM(d))
	l.seen++
	if l.seen == l.count {
		close(l.done)
	}
	return smpp.StatusOK
}

func (l *listener) received() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen
}

// describeDeliverSM returns the lines printed for one deliver_sm.
func describeDeliverSM(d *smpp.DeliverSM) string {
	if smpp.IsDeliveryReceipt(d.ESMClass) {
		return describeReceipt(d)
	}
	return describeMO(d)
}

// describeReceipt prints a receipt to the business: optgate's message id,
// then the state. Its source_addr is the subscriber and its
// destination_addr the toll-free sender of the message.
func describeReceipt(d *smpp.DeliverSM) string {
	rep, err := smpp.ParseDeliverSMReceipt(d, smpp.TextOptions{})
	if err != nil {
		return fmt.Sprintf("receipt from %s to %s that cannot be read: %v\n",
			address(d.SourceAddrTON, d.SourceAddr), address(d.DestAddrTON, d.DestinationAddr), err)
	}
	stat := rep.Receipt.Stat
	if stat == "" || rep.Receipt.State != rep.State {
		stat = rep.State.String()
	}
	var nec *gateway.NetworkError
	if rep.HasNetworkError {
		nec = &gateway.NetworkError{Type: rep.NetworkError.NetworkType, Code: rep.NetworkError.ErrorCode}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "receipt for message %s from %s to %s: %s", rep.MessageID,
		address(d.DestAddrTON, d.DestinationAddr), address(d.SourceAddrTON, d.SourceAddr),
		receiptSummary(gateway.ReceiptStateName(rep.State), stat, rep.Receipt.Err, nec))
	if !rep.Receipt.DoneDate.IsZero() {
		fmt.Fprintf(&b, ", done %s", formatTime(rep.Receipt.DoneDate))
	}
	if ref, err := d.TLVs.UserMessageReference(); err == nil {
		fmt.Fprintf(&b, ", user_message_reference %d", ref)
	}
	if flags, _ := d.TLVs.Uint8(gateway.TagMOFlags); flags&gateway.MOFlagPossibleResend != 0 {
		b.WriteString(", " + possibleResendNote)
	}
	b.WriteString("\n")
	return b.String()
}

// possibleResendNote describes MOFlagPossibleResend to the person reading
// the output.
const possibleResendNote = "possible resend: optgate may have delivered this before, so drop it if its id was seen"

// describeMO prints a subscriber's text with the consent marking optgate
// adds in its vendor TLVs.
func describeMO(d *smpp.DeliverSM) string {
	var b strings.Builder
	fmt.Fprintf(&b, "MO from %s to %s: %s\n", address(d.SourceAddrTON, d.SourceAddr),
		address(d.DestAddrTON, d.DestinationAddr), moText(d))

	var notes []string
	keyword, _ := d.TLVs.CString(gateway.TagConsentKeyword)
	if keyword != "" {
		outcome, _ := d.TLVs.CString(gateway.TagConsentOutcome)
		note := fmt.Sprintf("consent keyword %s, outcome %s; optgate already replied, so do not reply", keyword, outcome)
		if keyword == "opt_out" {
			note = "OPT-OUT: " + note
		}
		notes = append(notes, note)
	}
	flags, _ := d.TLVs.Uint8(gateway.TagMOFlags)
	if flags&gateway.MOFlagFreeText != 0 {
		notes = append(notes, "keyword found among other words")
	}
	if flags&gateway.MOFlagPartial != 0 {
		notes = append(notes, "partial: segments never arrived, so it was not read for keywords")
	}
	if flags&gateway.MOFlagPossibleResend != 0 {
		notes = append(notes, possibleResendNote)
	}
	if id, err := d.TLVs.CString(gateway.TagMOID); err == nil {
		notes = append(notes, "optgate id "+id)
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	return b.String()
}

// moText returns the text of an MO quoted, or its octets in hex when
// optgate marked its data_coding undecodable or it does not decode.
func moText(d *smpp.DeliverSM) string {
	data := d.ShortMessage
	if len(data) == 0 {
		data, _ = d.TLVs.MessagePayload()
	}
	if d.ESMClass&smpp.ESMClassUDHI != 0 {
		if _, rest, err := smpp.ParseUDH(data); err == nil {
			data = rest
		}
	}
	flags, _ := d.TLVs.Uint8(gateway.TagMOFlags)
	if flags&gateway.MOFlagUndecodable == 0 {
		if text, err := smpp.DecodeText(d.DataCoding, data, smpp.TextOptions{}); err == nil {
			return fmt.Sprintf("%q", text)
		}
	}
	return fmt.Sprintf("data_coding 0x%02X, octets % x", uint8(d.DataCoding), data)
}

// address returns an SMPP address, with a "+" for TON international
// (SMPP 3.4 section 5.2.5).
func address(ton smpp.TON, addr string) string {
	if ton == smpp.TONInternational && addr != "" && !strings.HasPrefix(addr, "+") {
		return "+" + addr
	}
	return addr
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}
