package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp/smscsim"
)

// SMPP command_status values that optgate documents for consent blocks, in
// the vendor-specific range 0x00000400-0x000004FF (SMPP 3.4 section 5.1.3).
const (
	statusOK           = 0x00000000
	statusNoConsent    = 0x00000400
	statusOptedOut     = 0x00000401
	statusRequestLimit = 0x00000402
)

// messageStateDelivered is the message_state TLV value DELIVERED (SMPP 3.4
// section 5.2.28).
const messageStateDelivered = 2

// optInServiceType is the service_type of a submit_sm that makes optgate
// send an opt-in request instead of a text.
const optInServiceType = "OPTIN"

const (
	// subscriber never opted in when the story starts.
	subscriber = "+12015550101"
	// limitSubscriber gets opt-in requests until the request limit.
	limitSubscriber = "+12015550102"
)

// story holds the parts of one run and what earlier steps learned.
type story struct {
	daemon *daemon
	api    *apiClient
	sim    *carrier
	biz    *businessPeer
	// stopMark is the number of simulator messages before the STOP.
	stopMark int
}

// use points every client at the running (sub)test, so that a failed
// check stops the step it belongs to.
func (s *story) use(t *testing.T) {
	s.api.t, s.sim.t, s.biz.t = t, t, t
}

// TestStory follows the product's main job end to end: a business bound
// over SMPP texts a subscriber who never opted in and is blocked, requests
// an opt-in over HTTP, the subscriber replies YES and texts get through
// with receipts, STOP blocks them again with one confirmation, UNSTOP lifts
// the block, and a second subscriber reaches the request limit. Every
// outcome is checked on the business's SMPP session, at the carrier, in
// the HTTP API, in Redis and in /metrics.
func TestStory(t *testing.T) {
	// Check the peers first, so a missing tool fails before the build.
	node := requireNode(t)
	rds := startRedis(t)
	bin := buildOptgate(t)
	d := startDaemon(t, bin, rds.Addr)
	s := &story{
		daemon: d,
		api:    newAPIClient(t, d.httpURL(), storyAccount.APIToken),
		sim:    newCarrier(t, d.controlURL()),
		biz:    startBusiness(t, node, d.smppPort(), storyAccount.SystemID, storyAccount.Password),
	}
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"1_mt_without_consent_blocked", s.mtWithoutConsent},
		{"2_optin_request_over_http", s.optInRequest},
		{"3_mo_yes_opts_in", s.moYes},
		{"4_mt_sent_with_receipt", s.mtAfterOptIn},
		{"5_mo_stop_opts_out", s.moStop},
		{"6_mo_unstop_resumes", s.moUnstop},
		{"7_request_limit", s.requestLimit},
		{"8_metrics", s.metrics},
		{"9_redis_records", func(t *testing.T) { checkRedis(t, rds.Addr) }},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			s.use(t)
			step.run(t)
		})
		s.use(t)
		if !ok {
			t.Fatalf("step %s failed; the later steps depend on it", step.name)
		}
	}

	s.biz.unbind()
	if extra := s.biz.unconsumed("deliver_sm"); len(extra) > 0 {
		t.Errorf("the business got deliver_sm PDUs the story did not expect: %v", extra)
	}
	d.stop()
}

// submitText sends a business text from the account's toll-free number.
func (s *story) submitText(to, text string, registered uint8) peerEvent {
	return s.biz.submit(submitCommand{
		Source: digits(storyAccount.TollFree), Destination: digits(to), Text: text,
		RegisteredDelivery: registered,
	})
}

func (s *story) mtWithoutConsent(t *testing.T) {
	resp := s.submitText(subscriber, "Your order is ready for pickup.", 0)
	if resp.Status != statusNoConsent {
		t.Errorf("submit_sm_resp command_status 0x%08X, want 0x%08X (no_consent)", resp.Status, statusNoConsent)
	}
	if msgs := s.sim.messages(); len(msgs) != 0 {
		t.Errorf("the carrier received a blocked text:\n%s", describeMessages(msgs))
	}
	if st := s.api.consent(subscriber); st.State != "none" {
		t.Errorf("consent state %q after a blocked text, want none", st.State)
	}
}

func (s *story) optInRequest(t *testing.T) {
	status, body := s.api.requestOptIn(subscriber)
	if status != http.StatusAccepted {
		t.Fatalf("POST /v1/optin-requests: HTTP %d %s, want 202", status, body)
	}
	var res optInResponse
	decodeJSON(t, body, &res)
	if res.Request != 1 || res.From != storyAccount.TollFree || res.To != subscriber || res.MessageID == "" {
		t.Errorf("opt-in response %+v, want request 1 from %s to %s with a message id",
			res, storyAccount.TollFree, subscriber)
	}

	msgs := s.sim.waitMessages(0, "the opt-in request", func(m []smscsim.Message) bool { return len(m) > 0 })
	if len(msgs) != 1 {
		t.Fatalf("the carrier received %d texts, want the one request:\n%s", len(msgs), describeMessages(msgs))
	}
	checkRequestText(t, msgs[0], subscriber)
	if msgs[0].Text != res.Text {
		t.Errorf("the carrier received %q, but the API reported the request text %q", msgs[0].Text, res.Text)
	}
	if st := s.api.consent(subscriber); st.State != "requested" || st.Requests != 1 {
		t.Errorf("consent %+v after the request, want state requested with 1 request", st)
	}
}

// checkRequestText checks that a message at the carrier is an opt-in
// request to number from the account's toll-free number. It must name the
// business and the toll-free number, say how to reply YES and STOP, and
// state that rates may apply.
func checkRequestText(t *testing.T, m smscsim.Message, number string) {
	t.Helper()
	if !sameNumber(m.Source, storyAccount.TollFree) || !sameNumber(m.Destination, number) {
		t.Errorf("request went from %s to %s, want from %s to %s", m.Source, m.Destination,
			storyAccount.TollFree, number)
	}
	if !strings.Contains(m.Text, storyAccount.BusinessName) {
		t.Errorf("request %q does not name the business %q", m.Text, storyAccount.BusinessName)
	}
	// The text may format the number nationally, as (800) 555-0100.
	national := digits(storyAccount.TollFree)[1:]
	if !strings.Contains(digits(m.Text), national) {
		t.Errorf("request %q does not contain the toll-free number %s", m.Text, storyAccount.TollFree)
	}
	for _, word := range []string{"YES", "STOP"} {
		if !strings.Contains(m.Text, word) {
			t.Errorf("request %q does not say how to reply %s", m.Text, word)
		}
	}
	if !strings.Contains(strings.ToLower(m.Text), "rates may apply") {
		t.Errorf("request %q does not state that message and data rates may apply", m.Text)
	}
}

func (s *story) moYes(t *testing.T) {
	mark := len(s.sim.messages())
	s.sim.inject(subscriber, storyAccount.TollFree, "Yes")

	mo := s.biz.waitMO("Yes")
	checkMO(t, mo, "opt_in", "opted_in")
	if st := s.api.consent(subscriber); st.State != "opted_in" {
		t.Errorf("consent state %q after YES, want opted_in", st.State)
	}
	msgs := s.sim.waitMessages(mark, "the opt-in confirmation", func(m []smscsim.Message) bool { return len(m) > 0 })
	checkReply(t, msgs, subscriber, "opt-in confirmation")
}

// checkMO checks an MO the business received from the subscriber to the
// toll-free number, with optgate's consent keyword TLVs.
func checkMO(t *testing.T, mo peerEvent, keyword, outcome string) {
	t.Helper()
	if !sameNumber(mo.SourceAddr, subscriber) || !sameNumber(mo.DestinationAddr, storyAccount.TollFree) {
		t.Errorf("MO %q went from %s to %s, want from %s to %s", mo.Text, mo.SourceAddr, mo.DestinationAddr,
			subscriber, storyAccount.TollFree)
	}
	if mo.MOID == "" {
		t.Errorf("MO %q has no optgate MO id TLV (0x1400)", mo.Text)
	}
	if mo.ConsentKeyword != keyword || mo.ConsentOutcome != outcome {
		t.Errorf("MO %q is marked keyword %q outcome %q (TLVs 0x1401, 0x1402), want %q and %q",
			mo.Text, mo.ConsentKeyword, mo.ConsentOutcome, keyword, outcome)
	}
	// The keyword is the whole text, so no flag (TLV 0x1403) applies.
	if mo.MOFlags != nil {
		t.Errorf("MO %q has flags 0x%02X (TLV 0x1403), want none", mo.Text, *mo.MOFlags)
	}
}

// checkReply checks that msgs is exactly one reply of the given kind from
// the toll-free number to number, naming the business, and returns it.
func checkReply(t *testing.T, msgs []smscsim.Message, number, kind string) smscsim.Message {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("the carrier received %d texts, want one %s:\n%s", len(msgs), kind, describeMessages(msgs))
	}
	m := msgs[0]
	if !sameNumber(m.Source, storyAccount.TollFree) || !sameNumber(m.Destination, number) {
		t.Errorf("%s went from %s to %s, want from %s to %s", kind, m.Source, m.Destination,
			storyAccount.TollFree, number)
	}
	if !strings.Contains(m.Text, storyAccount.BusinessName) {
		t.Errorf("%s %q does not name the business", kind, m.Text)
	}
	return m
}

// sendWithReceipt submits a text with registered_delivery 1, checks that
// optgate accepted it, that the carrier received it, and that the receipt
// reaches the business under optgate's message id.
func (s *story) sendWithReceipt(t *testing.T, text string) {
	t.Helper()
	mark := len(s.sim.messages())
	resp := s.submitText(subscriber, text, 1)
	if resp.Status != statusOK || resp.MessageID == "" {
		t.Fatalf("submit_sm_resp command_status 0x%08X message_id %q, want ESME_ROK with optgate's id",
			resp.Status, resp.MessageID)
	}
	if len(resp.MessageID) > 64 {
		t.Errorf("message id %q is longer than the 64 characters submit_sm_resp allows", resp.MessageID)
	}

	msgs := s.sim.since(mark)
	if len(msgs) != 1 || msgs[0].Text != text {
		t.Fatalf("optgate returned ESME_ROK, but the carrier did not receive exactly %q:\n%s",
			text, describeMessages(msgs))
	}
	if m := msgs[0]; !sameNumber(m.Source, storyAccount.TollFree) || !sameNumber(m.Destination, subscriber) ||
		m.RegisteredDelivery&0x03 != 1 {
		t.Errorf("carrier got the text from %s to %s with registered_delivery %d, want from %s to %s with 1",
			m.Source, m.Destination, m.RegisteredDelivery, storyAccount.TollFree, subscriber)
	}
	if msgs[0].ID == resp.MessageID {
		t.Errorf("optgate returned the carrier's id %q, want its own", resp.MessageID)
	}

	receipt := s.biz.waitReceipt(resp.MessageID)
	if !strings.Contains(receipt.Text, "id:"+resp.MessageID) {
		t.Errorf("receipt text %q lacks id:%s", receipt.Text, resp.MessageID)
	}
	if receipt.MessageState != messageStateDelivered || !strings.Contains(receipt.Text, "stat:DELIVRD") {
		t.Errorf("receipt message_state %d text %q, want DELIVERED (2) and stat:DELIVRD",
			receipt.MessageState, receipt.Text)
	}
	if !sameNumber(receipt.SourceAddr, subscriber) || !sameNumber(receipt.DestinationAddr, storyAccount.TollFree) {
		t.Errorf("receipt from %s to %s, want from the subscriber %s to the sender %s",
			receipt.SourceAddr, receipt.DestinationAddr, subscriber, storyAccount.TollFree)
	}
}

func (s *story) mtAfterOptIn(t *testing.T) {
	s.sendWithReceipt(t, "Your order is ready for pickup.")
}

func (s *story) moStop(t *testing.T) {
	s.stopMark = len(s.sim.messages())
	s.sim.inject(subscriber, storyAccount.TollFree, "STOP")

	mo := s.biz.waitMO("STOP")
	checkMO(t, mo, "opt_out", "opted_out")
	if st := s.api.consent(subscriber); st.State != "opted_out" || st.PriorState != "opted_in" {
		t.Errorf("consent %+v after STOP, want state opted_out with prior state opted_in", st)
	}
	msgs := s.sim.waitMessages(s.stopMark, "the opt-out confirmation", func(m []smscsim.Message) bool {
		return len(m) > 0
	})
	confirmation := checkReply(t, msgs, subscriber, "opt-out confirmation")
	if !strings.Contains(confirmation.Text, "UNSTOP") {
		t.Errorf("opt-out confirmation %q does not say how to resume with UNSTOP", confirmation.Text)
	}

	resp := s.submitText(subscriber, "Weekly offer: two for one.", 0)
	if resp.Status != statusOptedOut {
		t.Errorf("submit_sm_resp command_status 0x%08X after STOP, want 0x%08X (opted_out)",
			resp.Status, statusOptedOut)
	}
	if msgs := s.sim.since(s.stopMark); len(msgs) != 1 {
		t.Errorf("after STOP the carrier received more than the confirmation:\n%s", describeMessages(msgs))
	}
}

func (s *story) moUnstop(t *testing.T) {
	mark := len(s.sim.messages())
	s.sim.inject(subscriber, storyAccount.TollFree, "UNSTOP")

	mo := s.biz.waitMO("UNSTOP")
	checkMO(t, mo, "resume", "resumed")
	if st := s.api.consent(subscriber); st.State != "opted_in" {
		t.Errorf("consent state %q after UNSTOP, want opted_in", st.State)
	}
	msgs := s.sim.waitMessages(mark, "the resume confirmation", func(m []smscsim.Message) bool { return len(m) > 0 })
	checkReply(t, msgs, subscriber, "resume confirmation")

	// Replies leave one queue in order, so once the resume confirmation
	// is out, a second opt-out confirmation would have been sent too.
	if stop := s.sim.messages()[s.stopMark:mark]; len(stop) != 1 {
		t.Errorf("the STOP got %d texts, want exactly one confirmation:\n%s", len(stop), describeMessages(stop))
	}

	s.sendWithReceipt(t, "Your table for two is booked for 7pm.")
}

func (s *story) requestLimit(t *testing.T) {
	mark := len(s.sim.messages())

	// The first request over HTTP, the second over SMPP.
	status, body := s.api.requestOptIn(limitSubscriber)
	if status != http.StatusAccepted {
		t.Fatalf("first POST /v1/optin-requests: HTTP %d %s, want 202", status, body)
	}
	var res optInResponse
	decodeJSON(t, body, &res)
	if res.Request != 1 {
		t.Errorf("first request numbered %d, want 1", res.Request)
	}
	optIn := submitCommand{ServiceType: optInServiceType, Source: digits(storyAccount.TollFree),
		Destination: digits(limitSubscriber)}
	if resp := s.biz.submit(optIn); resp.Status != statusOK || resp.MessageID == "" {
		t.Fatalf("second request over SMPP: command_status 0x%08X message_id %q, want ESME_ROK with an id",
			resp.Status, resp.MessageID)
	}
	msgs := addressedTo(s.sim.since(mark), limitSubscriber)
	if len(msgs) != 2 {
		t.Fatalf("the carrier received %d requests for %s, want 2:\n%s", len(msgs), limitSubscriber,
			describeMessages(msgs))
	}
	for _, m := range msgs {
		checkRequestText(t, m, limitSubscriber)
	}

	// The third is rejected on both channels, and nothing more is sent.
	status, body = s.api.requestOptIn(limitSubscriber)
	var e apiError
	decodeJSON(t, body, &e)
	if status != http.StatusForbidden || e.Error.Code != "request_limit" {
		t.Errorf("third request over HTTP: HTTP %d code %q, want 403 request_limit", status, e.Error.Code)
	}
	if resp := s.biz.submit(optIn); resp.Status != statusRequestLimit {
		t.Errorf("third request over SMPP: command_status 0x%08X, want 0x%08X (request_limit)",
			resp.Status, statusRequestLimit)
	}
	if msgs := addressedTo(s.sim.since(mark), limitSubscriber); len(msgs) != 2 {
		t.Errorf("the carrier received %d requests for %s after the limit, want 2:\n%s",
			len(msgs), limitSubscriber, describeMessages(msgs))
	}
	if st := s.api.consent(limitSubscriber); st.State != "requested" || st.Requests != 2 {
		t.Errorf("consent %+v at the limit, want state requested with 2 requests", st)
	}
}

func (s *story) metrics(t *testing.T) {
	messageLabels := func(direction, outcome, reason string) map[string]string {
		return map[string]string{"direction": direction, "outcome": outcome, "reason": reason}
	}
	messages := func(direction, outcome, reason string, value float64) metricWant {
		return series("optgate_gateway_messages_total", messageLabels(direction, outcome, reason), value)
	}
	deliveries := func(kind string, value float64) metricWant {
		return series("optgate_gateway_deliveries_total", map[string]string{"kind": kind, "outcome": "delivered"}, value)
	}
	httpRequests := func(route, status string, value float64) metricWant {
		return series("optgate_http_requests_total", map[string]string{"route": route, "status": status}, value)
	}
	waitMetrics(t, s.daemon.httpURL(), []metricWant{
		// Business texts: steps 1 and 5 blocked, steps 4 and 6 sent.
		messages("mt", "blocked", "no_consent", 1),
		messages("mt", "blocked", "opted_out", 1),
		messages("mt", "sent", "", 2),
		// Opt-in requests: one in step 2, two in step 7, then two rejected.
		messages("request", "sent", "", 3),
		messages("request", "blocked", "request_limit", 2),
		// YES, STOP and UNSTOP, each confirmed with one reply.
		messages("mo", "accepted", "", 3),
		messages("reply", "sent", "", 3),
		// The receipts of the texts of steps 4 and 6. The simulator sends
		// each one right after its submit_sm_resp, so it may arrive before
		// optgate has stored the id mapping. Such a receipt counts as
		// unmatched and is matched once the mapping is written, without a
		// second count. Either way each receipt counts once, none expires,
		// and both reach the business.
		{name: "optgate_gateway_messages_total", value: 2, series: []map[string]string{
			messageLabels("receipt", "matched", ""), messageLabels("receipt", "unmatched", ""),
		}},
		messages("receipt", "invalid", "", 0),
		messages("receipt", "failed", "internal_error", 0),
		series("optgate_gateway_receipts_unmatched_expired_total", map[string]string{"carrier": "sim"}, 0),
		deliveries("mo", 3),
		deliveries("receipt", 2),
		deliveries("reply", 3),
		httpRequests("POST /v1/optin-requests", "202", 2),
		httpRequests("POST /v1/optin-requests", "403", 1),
		series("optgate_carrier_sessions_bound", map[string]string{"carrier": "sim"}, 1),
		series("optgate_esme_sessions_bound",
			map[string]string{"account": storyAccount.ID, "bind_type": "transceiver"}, 1),
	})
}
