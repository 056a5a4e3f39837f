package gateway

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

var optgateID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestDaemonMTReachesCarrier(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)

	id, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "Your cleaning is booked for Monday 9:00", 0))
	if status != smpp.StatusOK {
		t.Fatalf("submit_sm_resp status %v, want ESME_ROK", status)
	}
	if !optgateID.MatchString(id) {
		t.Errorf("message id %q is not an optgate id of 16 hex digits", id)
	}
	msgs, err := f.sim.WaitMessages(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.Text != "Your cleaning is booked for Monday 9:00" {
		t.Errorf("carrier got text %q", m.Text)
	}
	if m.Source != "18885550100" || m.Destination != "12015550101" {
		t.Errorf("carrier got %s -> %s, want 18885550100 -> 12015550101", m.Source, m.Destination)
	}
	if m.ID == id {
		t.Errorf("the business got the carrier's id %q instead of optgate's", m.ID)
	}
}

func TestDaemonReceiptMappedToOptgateID(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)

	sm := submitSM(t, acmeTollFree, sub1, "Reminder: cleaning tomorrow", smpp.RegisteredDeliveryReceiptAlways)
	sm.TLVs.SetUserMessageReference(4242)
	id, status := b.submit(t, sm)
	if status != smpp.StatusOK {
		t.Fatalf("submit_sm_resp status %v", status)
	}
	d := b.next(t)
	if d.ESMClass&smpp.ESMClassMessageTypeMask != smpp.ESMClassDeliveryReceipt {
		t.Fatalf("esm_class %#x, want a delivery receipt", d.ESMClass)
	}
	rep, err := smpp.ParseDeliverSMReceipt(d, smpp.TextOptions{})
	if err != nil {
		t.Fatalf("business receipt does not parse: %v", err)
	}
	if rep.MessageID != id {
		t.Errorf("receipted_message_id %q, want optgate's %q", rep.MessageID, id)
	}
	if rep.Receipt.ID != id {
		t.Errorf("receipt text id %q, want optgate's %q", rep.Receipt.ID, id)
	}
	if rep.State != smpp.StateDelivered || rep.Receipt.Stat != "DELIVRD" {
		t.Errorf("receipt state %v stat %q, want DELIVERED/DELIVRD", rep.State, rep.Receipt.Stat)
	}
	if d.SourceAddr != "12015550101" || d.DestinationAddr != "18885550100" {
		t.Errorf("receipt %s -> %s, want subscriber -> toll-free", d.SourceAddr, d.DestinationAddr)
	}
	if ref, err := d.TLVs.UserMessageReference(); err != nil || ref != 4242 {
		t.Errorf("user_message_reference %d (%v), want the business's 4242", ref, err)
	}
}

// TestDaemonBlockStatusOnWire sends one submit_sm per block reason and
// checks the command_status the business gets, as docs/api.md lists it.
// Each case texts its own subscriber, so consent states do not mix.
func TestDaemonBlockStatusOnWire(t *testing.T) {
	optedOut := func(f *daemonFixture, _ *business, n string) { f.setState(n, consent.StateOptedOut) }
	voided := func(f *daemonFixture, _ *business, n string) { f.setState(n, consent.StateVoided) }
	optedIn := func(f *daemonFixture, _ *business, n string) { f.setState(n, consent.StateOptedIn) }
	twoRequests := func(f *daemonFixture, b *business, n string) {
		for range 2 {
			if _, st := b.submit(f.t, optInSM(acmeTollFree, n)); st != smpp.StatusOK {
				f.t.Fatalf("opt-in request: status %v", st)
			}
		}
	}
	tests := []struct {
		name     string
		from, to string
		setup    func(f *daemonFixture, b *business, number string)
		want     smpp.CommandStatus
	}{
		{"no_consent", acmeTollFree, "+12015550111", nil, 0x0400},
		{"opted_out", acmeTollFree, "+12015550112", optedOut, 0x0401},
		{"request_limit", acmeTollFree, "+12015550113", twoRequests, 0x0402},
		{"number_voided", acmeTollFree, "+12015550114", voided, 0x0403},
		{"sender_not_toll_free", "+12015550199", "+12015550115", optedIn, 0x0404},
		{"sender_not_owned", strangerTF, "+12015550116", optedIn, 0x0405},
		{"sender_not_ready", acmeNotReady, "+12015550117", optedIn, 0x0406},
		{"invalid_number", acmeTollFree, "not-a-number", nil, 0x0408},
		{"no_route", acmeTollFree, "+442071234567", optedIn, 0x040A},
	}
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				inner := *f
				inner.t = t
				tt.setup(&inner, b, tt.to)
			}
			_, status := b.submit(t, submitSM(t, tt.from, tt.to, "Hello from Acme", 0))
			if status != tt.want {
				t.Errorf("command_status %v, want %#08x", status, uint32(tt.want))
			}
		})
	}
}

// optInSM builds the submit_sm that requests an opt-in request.
func optInSM(from, to string) *smpp.SubmitSM {
	sm := &smpp.SubmitSM{
		ServiceType:   OptInServiceType,
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: strings.TrimPrefix(from, "+"),
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: strings.TrimPrefix(to, "+"),
	}
	return sm
}

func TestDaemonQuietHoursStatus(t *testing.T) {
	// 08:00 UTC is 03:00 in New Jersey, inside quiet hours.
	f := newDaemonFixture(t, daemonOptions{
		now:    time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC),
		config: func(c *config.Config) { c.Accounts[0].QuietHours = true },
	})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "Early bird offer", 0)); status != 0x0480 {
		t.Errorf("command_status %v, want 0x00000480 (quiet_hours)", status)
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("the carrier got %d messages during quiet hours", n)
	}
}

func TestDaemonOptInFlow(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)

	id, status := b.submit(t, optInSM(acmeTollFree, sub2))
	if status != smpp.StatusOK || !optgateID.MatchString(id) {
		t.Fatalf("opt-in request: status %v id %q", status, id)
	}
	msgs, err := f.sim.WaitMessages(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	req := msgs[0].Text
	for _, want := range []string{"Acme Dental", "YES", "STOP"} {
		if !strings.Contains(req, want) {
			t.Errorf("opt-in request %q lacks %q", req, want)
		}
	}
	if msgs[0].Source != "18885550100" {
		t.Errorf("request sent from %s, want the toll-free number", msgs[0].Source)
	}
	if f.consentState(sub2) != consent.StateRequested {
		t.Errorf("state after the request: %v, want requested", f.consentState(sub2))
	}

	// Before YES, texts are blocked; after it they go out.
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub2, "Welcome!", 0)); status != 0x0400 {
		t.Errorf("text before YES: status %v, want no_consent", status)
	}
	f.inject(sub2, acmeTollFree, "Yes")
	if got := tlvString(b.next(t), TagConsentKeyword); got != "opt_in" {
		t.Errorf("the business got the YES with keyword %q, want opt_in", got)
	}
	if f.consentState(sub2) != consent.StateOptedIn {
		t.Fatalf("state after YES: %v, want opted_in", f.consentState(sub2))
	}
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub2, "Welcome!", 0)); status != smpp.StatusOK {
		t.Errorf("text after YES: status %v, want ESME_ROK", status)
	}
	if _, status := b.submit(t, optInSM(acmeTollFree, sub2)); status != 0x0409 {
		t.Errorf("request to an opted-in number: status %v, want 0x00000409 (already_opted_in)", status)
	}
}

func TestDaemonOptInRequestWithTextRefused(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	sm := optInSM(acmeTollFree, sub1)
	sm.ShortMessage = []byte("please opt in")
	if _, status := b.submit(t, sm); status != StatusFor(CodeInvalidMessage).SMPP {
		t.Errorf("status %v, want invalid_message", status)
	}
	if f.consentState(sub1) != consent.StateNone {
		t.Errorf("a refused request changed the state to %v", f.consentState(sub1))
	}
}

func TestDaemonMOStopConfirmsOnce(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeReceiver)

	f.inject(sub1, acmeTollFree, "STOP")
	mo := b.next(t)
	if text, _ := smpp.DecodeText(mo.DataCoding, mo.ShortMessage, smpp.TextOptions{}); text != "STOP" {
		t.Errorf("the business got text %q", text)
	}
	if got := tlvString(mo, TagConsentKeyword); got != "opt_out" {
		t.Errorf("keyword TLV %q, want opt_out", got)
	}
	if got := tlvString(mo, TagConsentOutcome); got != "opted_out" {
		t.Errorf("outcome TLV %q, want opted_out", got)
	}
	if !optgateID.MatchString(tlvString(mo, TagMOID)) {
		t.Errorf("mo id TLV %q is not an optgate id", tlvString(mo, TagMOID))
	}
	if mo.SourceAddr != "12015550101" || mo.DestinationAddr != "18885550100" {
		t.Errorf("mo %s -> %s", mo.SourceAddr, mo.DestinationAddr)
	}
	if f.consentState(sub1) != consent.StateOptedOut {
		t.Errorf("state %v, want opted_out", f.consentState(sub1))
	}

	// A second STOP changes nothing and owes no second confirmation.
	f.inject(sub1, acmeTollFree, "stop")
	if got := tlvString(b.next(t), TagConsentOutcome); got != "none" {
		t.Errorf("second STOP outcome %q, want none", got)
	}
	f.waitFor("the reply queue to drain", func() bool { return f.d.store.Depths()[ReplyQueue] == 0 })
	var confirmations []smscsim.Message
	for _, m := range f.sim.Messages() {
		if m.Destination == "12015550101" {
			confirmations = append(confirmations, m)
		}
	}
	if len(confirmations) != 1 {
		t.Fatalf("the subscriber got %d texts after two STOPs, want one confirmation", len(confirmations))
	}
	if confirmations[0].Source != "18885550100" {
		t.Errorf("confirmation sent from %s, want the toll-free number written to", confirmations[0].Source)
	}
	if !strings.Contains(confirmations[0].Text, "Acme Dental") {
		t.Errorf("confirmation %q does not name the business", confirmations[0].Text)
	}
}

func TestDaemonQueuedMODeliveredAfterBind(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	texts := []string{"first: is the clinic open?", "second: on Saturday?", "third: thanks"}
	for _, text := range texts {
		f.inject(sub3, acmeTollFree, text)
	}
	f.waitFor("three queued texts", func() bool { return f.d.store.Depths()["acme"] == 3 })

	b := f.bind("acme01", "secret1", smpp.BindTypeReceiver)
	for i, want := range texts {
		d := b.next(t)
		got, err := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{})
		if err != nil || got != want {
			t.Errorf("deliver_sm %d: %q (%v), want %q", i+1, got, err, want)
		}
	}
	f.waitFor("the queue to drain", func() bool { return f.d.store.Depths()["acme"] == 0 })
}

func TestDaemonUCS2MOKeepsText(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeReceiver)
	f.inject(sub1, acmeTollFree, "Café ☕ at 10?")
	d := b.next(t)
	if d.DataCoding != smpp.CodingUCS2 {
		t.Errorf("data_coding %v, want UCS2 for text outside GSM 03.38", d.DataCoding)
	}
	if got, _ := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{}); got != "Café ☕ at 10?" {
		t.Errorf("text %q", got)
	}
}

func TestDaemonReloadKeepsBinds(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{
		options: func(o *DaemonOptions) {
			o.Load = func() (*config.Config, error) { return nil, context.Canceled }
		},
	})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)

	// A failed load keeps the running configuration.
	if err := f.d.Reload(f.ctx); err == nil {
		t.Fatal("reload with a failing load succeeded")
	}
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "still here", 0)); status != smpp.StatusOK {
		t.Fatalf("after a failed reload: status %v", status)
	}

	// Adding voicemail to the second number makes it ready.
	next, err := config.Parse([]byte(strings.Replace(
		configYAML(t, f), `{number: "+18885550101", greeting: "builtin:demo"}`,
		`{number: "+18885550101", greeting: "builtin:demo", voicemail: {enabled: true}}`, 1)), "reload.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.d.opts.Load = func() (*config.Config, error) { return next, nil }
	if _, status := b.submit(t, submitSM(t, acmeNotReady, sub1, "from the second number", 0)); status != 0x0406 {
		t.Fatalf("before reload: status %v, want sender_not_ready", status)
	}
	if err := f.d.Reload(f.ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !b.client.Bound() {
		t.Fatal("the business bind dropped at reload")
	}
	if _, status := b.submit(t, submitSM(t, acmeNotReady, sub1, "from the second number", 0)); status != smpp.StatusOK {
		t.Errorf("after reload: status %v, want ESME_ROK", status)
	}

	// Removing the account leaves the bind up, but it may not send.
	empty, err := config.Parse([]byte(strings.Replace(configYAML(t, f), "id: acme", "id: other", 1)), "reload.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.d.opts.Load = func() (*config.Config, error) { return empty, nil }
	if err := f.d.Reload(f.ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "gone", 0)); status != 0x0407 {
		t.Errorf("after removing the account: status %v, want 0x00000407 (unknown_account)", status)
	}
}

// configYAML returns the fixture's configuration text.
func configYAML(t *testing.T, f *daemonFixture) string {
	t.Helper()
	port := f.d.SimulatorAddr().(interface{ String() string }).String()
	_, p, _ := strings.Cut(port, ":")
	hash := f.cfg.Accounts[0].ESMEs[0].PasswordHash
	return strings.NewReplacer("%d", p, "%s/consent.db", f.dir+"/consent.db", `"%s"`, `"`+hash+`"`).
		Replace(daemonYAML)
}

func TestDaemonThrottledSubmitRetried(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	err := f.sim.SetRules([]smscsim.Rule{
		{Status: smpp.StatusThrottled, Count: 1},
		{Status: smpp.StatusMsgQueueFull, Count: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A receipt sent at once may overtake the id map write, which is
	// legal but counts as unmatched; the delay keeps the count exact.
	delayReceipts := func(b *smscsim.Behaviour) { b.ReceiptDelay = 300 * time.Millisecond }
	if err := f.sim.UpdateBehaviour(delayReceipts); err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	sm := submitSM(t, acmeTollFree, sub1, "Your code is 1234", smpp.RegisteredDeliveryReceiptAlways)
	id, status := b.submit(t, sm)
	if status != smpp.StatusOK {
		t.Fatalf("status %v, want one ESME_ROK after the retries", status)
	}
	msgs := f.sim.Messages()
	statuses := make([]smpp.CommandStatus, len(msgs))
	for i, m := range msgs {
		statuses[i] = m.Status
	}
	want := []smpp.CommandStatus{smpp.StatusThrottled, smpp.StatusMsgQueueFull, smpp.StatusOK}
	if !slices.Equal(statuses, want) {
		t.Errorf("carrier answers %v, want %v", statuses, want)
	}
	rep, err := smpp.ParseDeliverSMReceipt(b.next(t), smpp.TextOptions{})
	if err != nil || rep.MessageID != id {
		t.Errorf("receipt id %q (%v), want %q", rep.MessageID, err, id)
	}
	if n := gathered(t, f.d.prom, "optgate_carrier_throttled_total", map[string]string{"carrier": "sim"}); n != 2 {
		t.Errorf("throttled metric %v, want 2", n)
	}
	if n := gathered(t, f.d.prom, "optgate_gateway_receipts_unmatched_total", nil); n != 0 {
		t.Errorf("unmatched receipts %v, want 0", n)
	}
}

func TestDaemonThrottledTooOftenIsTemporary(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	if err := f.sim.SetRules([]smscsim.Rule{{Status: smpp.StatusThrottled}}); err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "busy", 0)); status != smpp.StatusThrottled {
		t.Errorf("status %v, want the carrier's ESME_RTHROTTLED", status)
	}
	if n := len(f.sim.Messages()); n != 4 {
		t.Errorf("carrier got %d submits, want 1 and 3 retries", n)
	}
}

func TestDaemonCarrierRejectionRelayed(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	if err := f.sim.SetRules([]smscsim.Rule{{Status: smpp.StatusSubmitFailed, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	if _, status := b.submit(t, submitSM(t, acmeTollFree, sub1, "hello", 0)); status != smpp.StatusSubmitFailed {
		t.Errorf("status %v, want the carrier's ESME_RSUBMITFAIL", status)
	}
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("carrier got %d submits, want 1: a refusal is not retried", n)
	}
}

func TestDaemonReadyz(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	ready := f.d.Ready(f.ctx)
	if err, ok := ready["carrier:sim"]; !ok || err != nil {
		t.Errorf("carrier:sim = %v (present %v), want ready", err, ok)
	}
	if err := ready["consent_store"]; err != nil {
		t.Errorf("consent_store: %v", err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := f.sim.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the carrier to lose its bind", func() bool { return f.d.Ready(f.ctx)["carrier:sim"] != nil })
}
