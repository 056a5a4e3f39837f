package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/optgate/optgate/consent"
)

// engineCases run through the engine on a shared store. Each run uses its
// own account ids, so runs never see each other's records.
var engineCases = []struct {
	name string
	run  func(t *testing.T, s consent.Store)
}{
	{"EngineRandomSequences", testEngineRandomSequences},
	{"StopRaceBlocksLaterMT", testStopRaceBlocksLaterMT},
}

// accountSeq makes account ids unique within a test binary.
var accountSeq atomic.Int64

// testAccount returns an account with two ready toll-free numbers,
// TollFree and OtherTF, and a fresh id.
func testAccount(prefix string) consent.Account {
	return consent.Account{
		ID:           fmt.Sprintf("%s-%d", prefix, accountSeq.Add(1)),
		BusinessName: "Acme Dental",
		TollFree: []consent.TollFreeNumber{
			{Number: TollFree, Greeting: true, Voicemail: true},
			{Number: OtherTF, Greeting: true, Voicemail: true},
		},
		Template: consent.Template{Details: "Appointment reminders."},
	}
}

// fakeClock is a clock that moves only when Advance is called.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newEngine(t testing.TB, s consent.Store, clock *fakeClock, accounts ...consent.Account) *consent.Engine {
	t.Helper()
	set, err := consent.NewAccountSet(accounts...)
	if err != nil {
		t.Fatalf("account set: %v", err)
	}
	e, err := consent.NewEngine(s, set, consent.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return e
}

// moTexts are the subscriber texts the random sequences send, with the
// event each must trigger (0 for an ordinary message).
var moTexts = []struct {
	text string
	kind consent.EventKind
}{
	{"YES", consent.EventYes},
	{"yes", consent.EventYes},
	{"STOP", consent.EventStop},
	{"  stop \r\n", consent.EventStop},
	{"Stop…", consent.EventStop},
	{"\u00a0stop! ", consent.EventStop},
	{"UNSTOP", consent.EventResume},
	{"START", consent.EventResume},
	{"HELP", consent.EventHelp},
	{"info", consent.EventHelp},
	{"We have got to STOP this bill", 0},
	{"Can you stop by Monday?", 0},
}

// pairModel is the test's own statement of the rules for one number.
type pairModel struct {
	state    consent.State
	prior    consent.State
	senders  []string // toll-free numbers of the requests sent
	log      []logEntry
	optedOut bool // inside an opt-out episode, for the confirmation check
	// pending is the confirmation not yet reported queued, and
	// pendingSince when an MO last owed it.
	pending      consent.Reply
	pendingSince time.Time
}

// logEntry is one raw input with its observed result, for the invariant
// checks that do not use the model.
type logEntry struct {
	kind     consent.EventKind // 0 for an ordinary MO or an MT
	tollFree string
	ok       bool // request sent, or reply received
	queued   bool // the reply was reported queued
}

type engineMachine struct {
	e       *consent.Engine
	s       consent.Store
	clock   *fakeClock
	account string
	numbers []string
	models  map[string]*pairModel
}

func (m *engineMachine) pick(t *rapid.T) (string, *pairModel) {
	n := rapid.SampledFrom(m.numbers).Draw(t, "number")
	return n, m.models[n]
}

func (m *engineMachine) request(t *rapid.T) {
	n, pm := m.pick(t)
	tf := rapid.SampledFrom([]string{"", TollFree, OtherTF}).Draw(t, "sender")
	m.advance(t)
	res, err := m.e.RequestOptIn(context.Background(), consent.OptInRequest{
		Account: m.account, TollFree: tf, To: n, Source: consent.SourceHTTP,
	})

	want := error(nil)
	switch {
	case pm.state == consent.StateOptedOut:
		want = consent.ErrOptedOut
	case pm.state == consent.StateOptedIn:
		want = consent.ErrAlreadyOptedIn
	case len(pm.senders) >= consent.MaxRequests:
		want = consent.ErrRequestLimit
	}
	if want != nil {
		if !errors.Is(err, want) {
			t.Fatalf("request to %s in state %s: error %v, want %v", n, pm.state, err, want)
		}
		pm.log = append(pm.log, logEntry{kind: consent.EventRequest, tollFree: tf})
		return
	}
	if err != nil {
		t.Fatalf("request to %s in state %s: %v", n, pm.state, err)
	}
	if tf == "" {
		tf = TollFree // the first ready number
	}
	if res.From != tf || res.To != n || res.Sequence != len(pm.senders)+1 || res.Text == "" {
		t.Fatalf("request result %+v, want from %s to %s sequence %d", res, tf, n, len(pm.senders)+1)
	}
	pm.senders = append(pm.senders, tf)
	pm.pending = consent.ReplyNone // a recorded request is a change
	if pm.state == consent.StateNone {
		pm.state = consent.StateRequested
	}
	pm.log = append(pm.log, logEntry{kind: consent.EventRequest, tollFree: tf, ok: true})
}

func (m *engineMachine) mo(t *rapid.T) {
	n, pm := m.pick(t)
	tf := rapid.SampledFrom([]string{TollFree, OtherTF}).Draw(t, "to")
	mo := rapid.SampledFrom(moTexts).Draw(t, "text")
	m.advance(t)
	res, err := m.e.HandleMO(context.Background(), consent.MO{
		From: n, To: tf, Text: mo.text, MessageIDs: []string{"mo-1"}, Source: consent.SourceSMPP,
	})
	if err != nil {
		t.Fatalf("MO %q from %s: %v", mo.text, n, err)
	}
	if res.Event != mo.kind {
		t.Fatalf("MO %q gave event %s, want %s", mo.text, res.Event, mo.kind)
	}
	wantReply := m.step(pm, mo.kind, tf)
	gotReply := len(res.Replies) == 1
	if gotReply != wantReply || len(res.Replies) > 1 {
		t.Fatalf("MO %q from %s: %d replies, want reply=%v (effect %+v)", mo.text, n, len(res.Replies), wantReply, res.Effect)
	}
	if gotReply && (res.Replies[0].From != tf || res.Replies[0].To != n || res.Replies[0].Text == "") {
		t.Fatalf("reply %+v, want a text from %s to %s", res.Replies[0], tf, n)
	}

	// The gateway reports the reply queued, unless it stops first.
	queued := gotReply && rapid.Bool().Draw(t, "reply queued")
	if queued {
		if err := m.e.ReplyQueued(context.Background(), res, "reply-1"); err != nil {
			t.Fatalf("reply queued for MO %q from %s: %v", mo.text, n, err)
		}
		if res.Effect.Reply != consent.ReplyHelp {
			pm.pending = consent.ReplyNone
		}
	}
	pm.log = append(pm.log, logEntry{kind: mo.kind, tollFree: tf, ok: gotReply, queued: queued})
}

// advance moves the clock by a minute or, to send repeats while an earlier
// confirmation may still be queueing, by a second.
func (m *engineMachine) advance(t *rapid.T) {
	m.clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, time.Minute}).Draw(t, "advance"))
}

// resend reports whether a keyword that finds the number already in the
// state it requests owes the pending confirmation again.
func (m *engineMachine) resend(pm *pairModel, reply consent.Reply) bool {
	now := m.clock.Now()
	if pm.pending != reply || now.Sub(pm.pendingSince) < consent.PendingReplyRetry {
		return false
	}
	pm.pendingSince = now
	return true
}

// change records a change of state that owes reply.
func (m *engineMachine) change(pm *pairModel, reply consent.Reply) bool {
	pm.pending, pm.pendingSince = reply, m.clock.Now()
	return true
}

// step applies an MO to the model and reports whether it owes a reply.
func (m *engineMachine) step(pm *pairModel, kind consent.EventKind, tf string) bool {
	switch kind {
	case consent.EventYes:
		if pm.state == consent.StateOptedOut {
			return false
		}
		if pm.state == consent.StateOptedIn {
			return m.resend(pm, consent.ReplyOptIn)
		}
		for _, s := range pm.senders {
			if s == tf {
				pm.state = consent.StateOptedIn
				return m.change(pm, consent.ReplyOptIn)
			}
		}
	case consent.EventStop:
		if pm.state == consent.StateOptedOut {
			return m.resend(pm, consent.ReplyOptOut)
		}
		pm.prior, pm.state = pm.state, consent.StateOptedOut
		return m.change(pm, consent.ReplyOptOut)
	case consent.EventResume:
		if pm.state != consent.StateOptedOut {
			return m.resend(pm, consent.ReplyResume)
		}
		pm.state, pm.prior = pm.prior, consent.StateNone
		return m.change(pm, consent.ReplyResume)
	case consent.EventHelp:
		return true
	}
	return false
}

func (m *engineMachine) mt(t *rapid.T) {
	n, pm := m.pick(t)
	from := rapid.SampledFrom([]string{TollFree, OtherTF}).Draw(t, "from")
	d := m.e.CheckMT(context.Background(), consent.MT{Account: m.account, From: from, To: n})
	want := consent.ReasonNoConsent
	switch {
	case pm.state == consent.StateOptedIn:
		want = consent.ReasonNone
	case pm.state == consent.StateOptedOut:
		want = consent.ReasonOptedOut
	case len(pm.senders) >= consent.MaxRequests:
		want = consent.ReasonRequestLimit
	}
	if d.Reason != want || d.Allowed != (want == consent.ReasonNone) {
		t.Fatalf("MT to %s in state %s: decision %+v, want reason %q", n, pm.state, d, want)
	}
	if d.Allowed {
		checkAllowedInvariant(t, n, pm.log)
	}
}

// checkAllowedInvariant checks, from the raw inputs alone, that an allowed
// MT follows a YES to the sender of an earlier request, and that any STOP
// after that YES was undone by a later UNSTOP or START.
func checkAllowedInvariant(t *rapid.T, number string, log []logEntry) {
	yes := -1
	for i, e := range log {
		if e.kind != consent.EventYes {
			continue
		}
		for _, r := range log[:i] {
			if r.kind == consent.EventRequest && r.ok && r.tollFree == e.tollFree {
				yes = i
			}
		}
	}
	if yes < 0 {
		t.Fatalf("MT to %s allowed without a YES after a request", number)
	}
	lastStop, lastResume := -1, -1
	for i, e := range log {
		switch e.kind {
		case consent.EventStop:
			lastStop = i
		case consent.EventResume:
			lastResume = i
		}
	}
	if lastStop > yes && lastResume < lastStop {
		t.Fatalf("MT to %s allowed after a STOP that no UNSTOP undid", number)
	}
}

// check runs after every action: the invariants over the raw log, and the
// store's record against the model.
func (m *engineMachine) check(t *rapid.T) {
	for _, n := range m.numbers {
		pm := m.models[n]
		sent, optedOut, confirmed := 0, false, false
		for _, e := range pm.log {
			switch e.kind {
			case consent.EventRequest:
				if e.ok {
					sent++
				}
			case consent.EventStop:
				// The first STOP of an opt-out episode gets a confirmation.
				// A later STOP gets one only while no confirmation of the
				// episode was reported queued, so the subscriber gets at
				// most one after that.
				if !optedOut && !e.ok || optedOut && confirmed && e.ok {
					t.Fatalf("%s: STOP reply=%v while opted out=%v and confirmed=%v", n, e.ok, optedOut, confirmed)
				}
				optedOut, confirmed = true, confirmed || e.queued
			case consent.EventResume:
				if e.ok {
					optedOut, confirmed = false, false
				}
			}
		}
		if sent > consent.MaxRequests {
			t.Fatalf("%s: %d requests sent, more than %d", n, sent, consent.MaxRequests)
		}
		r, err := m.s.Get(context.Background(), m.account, n)
		if err != nil {
			t.Fatalf("get %s: %v", n, err)
		}
		if r.State != pm.state || int(r.Requests) != len(pm.senders) {
			t.Fatalf("%s: record state %s with %d requests, model %s with %d", n, r.State, r.Requests,
				pm.state, len(pm.senders))
		}
		if r.PendingReply != pm.pending {
			t.Fatalf("%s: record pending reply %s, model %s", n, r.PendingReply, pm.pending)
		}
	}
}

func testEngineRandomSequences(t *testing.T, s consent.Store) {
	rapid.Check(t, func(rt *rapid.T) {
		acct := testAccount("prop")
		m := &engineMachine{
			s:       s,
			clock:   &fakeClock{now: base},
			account: acct.ID,
			numbers: []string{Number, OtherNumber},
			models:  map[string]*pairModel{Number: {}, OtherNumber: {}},
		}
		m.e = newEngine(t, s, m.clock, acct)
		rt.Repeat(map[string]func(*rapid.T){
			"request": m.request,
			"mo":      m.mo,
			"mt":      m.mt,
			"":        m.check,
		})
	})
}

func testStopRaceBlocksLaterMT(t *testing.T, s consent.Store) {
	acct := testAccount("race")
	clock := &fakeClock{now: base}
	e := newEngine(t, s, clock, acct)
	ctx := context.Background()
	if _, err := e.RequestOptIn(ctx, consent.OptInRequest{Account: acct.ID, To: Number}); err != nil {
		t.Fatalf("request: %v", err)
	}
	if _, err := e.HandleMO(ctx, consent.MO{From: Number, To: TollFree, Text: "YES"}); err != nil {
		t.Fatalf("YES: %v", err)
	}
	mt := consent.MT{Account: acct.ID, From: TollFree, To: Number}
	if d := e.CheckMT(ctx, mt); !d.Allowed {
		t.Fatalf("MT before STOP blocked: %+v", d)
	}

	const checkers, stoppers, afterAck = 4, 4, 200
	var (
		acked      atomic.Bool
		violations atomic.Int64
		checked    atomic.Int64
		replies    atomic.Int64
		stopsDone  sync.WaitGroup
		checkersWG sync.WaitGroup
	)
	for range checkers {
		checkersWG.Go(func() {
			for after := 0; after < afterAck; {
				// Read the acknowledgement before deciding: any MT decided
				// after a STOP was acknowledged must be blocked.
				wasAcked := acked.Load()
				d := e.CheckMT(ctx, mt)
				if wasAcked {
					after++
					checked.Add(1)
					if d.Allowed {
						violations.Add(1)
					}
				}
			}
		})
	}
	for i := range stoppers {
		stopsDone.Go(func() {
			res, err := e.HandleMO(ctx, consent.MO{From: Number, To: TollFree, Text: "STOP",
				MessageIDs: []string{fmt.Sprintf("stop-%d", i)}, Source: consent.SourceSMPP})
			if err != nil {
				t.Errorf("STOP %d: %v", i, err)
			}
			acked.Store(true)
			replies.Add(int64(len(res.Replies)))
		})
	}
	stopsDone.Wait()
	checkersWG.Wait()

	if n := violations.Load(); n != 0 {
		t.Errorf("%d MTs allowed after a STOP was acknowledged (of %d checked)", n, checked.Load())
	}
	if n := replies.Load(); n != 1 {
		t.Errorf("%d concurrent STOPs gave %d confirmations, want 1", stoppers, n)
	}
	if d := e.CheckMT(ctx, mt); d.Allowed || d.Reason != consent.ReasonOptedOut {
		t.Errorf("MT after the STOPs: %+v, want blocked as opted_out", d)
	}
}
