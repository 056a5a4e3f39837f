package consent

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// EventKind is the kind of an event on an (account, number) pair.
type EventKind uint8

// Event kinds. Each one is a row in the audit trail.
const (
	EventRequest EventKind = iota + 1 // the account sent an opt-in request
	EventYes                          // the number replied YES
	EventStop                         // the number sent a STOP-family keyword or revocation phrase
	EventResume                       // the number sent UNSTOP or START
	EventHelp                         // the number sent HELP or INFO
	EventVoid                         // the number was reported reassigned or disconnected
	EventImport                       // an operator imported a consent state
	// EventReplyQueued records that the gateway durably queued the
	// confirmation an earlier event owed, so a redelivered keyword owes none.
	EventReplyQueued
	eventKindEnd
)

var eventKindNames = [eventKindEnd]string{"", "request", "yes", "stop", "resume", "help", "void", "import",
	"reply_queued"}

// String returns the event kind's stable name, used in audit entries.
func (k EventKind) String() string {
	if k > 0 && k < eventKindEnd {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (k EventKind) MarshalText() ([]byte, error) {
	if k == 0 || k >= eventKindEnd {
		return nil, fmt.Errorf("invalid event kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with the String form.
func (k *EventKind) UnmarshalText(b []byte) error {
	for i := EventRequest; i < eventKindEnd; i++ {
		if eventKindNames[i] == string(b) {
			*k = i
			return nil
		}
	}
	return fmt.Errorf("unknown event kind %q", b)
}

// Source is the channel an event arrived on.
type Source uint8

// Sources.
const (
	SourceUnknown Source = iota
	SourceSMPP           // MO or MT over an SMPP session
	SourceHTTP           // the HTTP API used by businesses
	SourceSIP            // SIP MESSAGE, or a request triggered during a call
	SourceImport         // CSV import by an operator
	SourceAPI            // the operator's administrative API
	sourceCount
)

var sourceNames = [sourceCount]string{"unknown", "smpp", "http", "sip", "import", "api"}

// String returns the source's stable name: unknown, smpp, http, sip, import
// or api.
func (s Source) String() string {
	if s < sourceCount {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// ParseSource returns the source whose String form is name, ignoring case.
func ParseSource(name string) (Source, error) {
	for i, n := range sourceNames {
		if strings.EqualFold(n, name) {
			return Source(i), nil
		}
	}
	return SourceUnknown, fmt.Errorf("unknown source %q (want smpp, http, sip, import or api)", name)
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the String form.
func (s *Source) UnmarshalText(b []byte) error {
	v, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Event is one thing that happened to an (account, number) pair. Stores
// apply events with Transition and keep every event in the audit trail.
type Event struct {
	Kind    EventKind
	Account string
	// Number is the subscriber's number in E.164 form.
	Number string
	// TollFree is the account's toll-free number involved: the sender of a
	// request, or the number a YES, STOP or HELP was sent to.
	TollFree string
	// Text is the verbatim message: the MO text, the rendered request, or
	// for an import the origin given in the imported row.
	Text string
	// ReplyText is the reply the engine sends when the transition owes one.
	// It is recorded in the audit entry only when a reply is owed.
	ReplyText  string
	MessageIDs []string
	Source     Source
	// FreeText is set for a STOP that matched a revocation phrase rather
	// than a keyword.
	FreeText bool
	// Import is the imported state of an EventImport: StateOptedIn,
	// StateOptedOut or StateVoided.
	Import State
	// Reply is the confirmation an EventReplyQueued reports as queued:
	// ReplyOptOut, ReplyOptIn or ReplyResume.
	Reply Reply
	Time  time.Time
}

// Validate checks the fields every store relies on. The kind must be known
// and the time after 1970 and before 2262. The account id and the number
// must not contain NUL bytes, because stores use NUL as a key separator. A
// request and a YES must name a toll-free number.
func (ev Event) Validate() error {
	if ev.Kind == 0 || ev.Kind >= eventKindEnd {
		return fmt.Errorf("invalid event kind %d", uint8(ev.Kind))
	}
	if err := ValidateKey(ev.Account, ev.Number); err != nil {
		return err
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("event %s for %s has no time", ev.Kind, ev.Account)
	}
	if err := checkEventTime(ev.Time); err != nil {
		return fmt.Errorf("event %s for %s: %w", ev.Kind, ev.Account, err)
	}
	if ev.Kind == EventImport {
		switch ev.Import {
		case StateOptedIn, StateOptedOut, StateVoided:
		default:
			return fmt.Errorf("invalid imported state %s (want opted_in, opted_out or voided)", ev.Import)
		}
	}
	if ev.Kind == EventReplyQueued && !ev.Reply.isConfirmation() {
		return fmt.Errorf("invalid queued reply %s (want opt_out, opt_in or resume)", ev.Reply)
	}
	if len(ev.TollFree) > maxEncodedNumber {
		return fmt.Errorf("toll-free number %q is too long", ev.TollFree)
	}
	// A YES counts only when sent to the number a request came from, so
	// both must name it: an empty sender would let any YES match.
	if ev.TollFree == "" && (ev.Kind == EventRequest || ev.Kind == EventYes) {
		return fmt.Errorf("event %s for %s has no toll-free number", ev.Kind, ev.Account)
	}
	return nil
}

// Event times must lie after the Unix epoch and before 2262, the range of
// int64 Unix nanoseconds. The record encoding stores Unix nanoseconds, and
// 0 stands for no time.
var (
	minEventTime = time.Unix(0, 1)
	maxEventTime = time.Unix(0, math.MaxInt64)
)

// checkEventTime rejects a time outside [minEventTime, maxEventTime].
func checkEventTime(t time.Time) error {
	if t.Before(minEventTime) || t.After(maxEventTime) {
		return fmt.Errorf("time %s is out of range (want after 1970 and before 2262)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ValidateKey checks an account id and number before they are used as a
// store key: both non-empty, without NUL bytes, and the number at most 32
// bytes long.
func ValidateKey(account, number string) error {
	switch {
	case account == "":
		return fmt.Errorf("missing account id")
	case strings.IndexByte(account, 0) >= 0:
		return fmt.Errorf("account id %q contains a NUL byte", account)
	case number == "":
		return fmt.Errorf("missing number for account %s", account)
	case len(number) > maxEncodedNumber || strings.IndexByte(number, 0) >= 0:
		return fmt.Errorf("invalid number %q for account %s", number, account)
	}
	return nil
}

// Outcome is the change an applied event made to the record.
type Outcome uint8

// Outcomes.
const (
	OutcomeNone        Outcome = iota // nothing changed (see Effect.Skip)
	OutcomeRequested                  // an opt-in request was recorded and may be sent
	OutcomeOptedIn                    // the number opted in
	OutcomeOptedOut                   // the number opted out
	OutcomeResumed                    // the state before the opt-out was restored
	OutcomeHelp                       // a HELP reply is owed and the state is unchanged
	OutcomeVoided                     // consent was voided
	OutcomeReplyQueued                // the owed confirmation was queued and is owed no more
	outcomeEnd
)

var outcomeNames = [outcomeEnd]string{"none", "requested", "opted_in", "opted_out", "resumed", "help", "voided",
	"reply_queued"}

// String returns the outcome's stable name, used in audit entries.
func (o Outcome) String() string {
	if o < outcomeEnd {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the String form.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// Skip is the stable code for why an event changed nothing.
type Skip string

// Skip codes.
const (
	SkipNone            Skip = ""
	SkipOptedOut        Skip = "opted_out"         // a request, YES or opt-in import for an opted-out number
	SkipAlreadyOptedIn  Skip = "already_opted_in"  // a request, YES or opt-in import for an opted-in number
	SkipRequestLimit    Skip = "request_limit"     // a third request
	SkipNoRequest       Skip = "no_request"        // a YES with no request before it
	SkipOtherSender     Skip = "other_sender"      // a YES sent to a number no request came from
	SkipAlreadyOptedOut Skip = "already_opted_out" // a STOP or opt-out import for an opted-out number
	SkipNotOptedOut     Skip = "not_opted_out"     // UNSTOP or START for a number that is not opted out
	SkipAlreadyVoided   Skip = "already_voided"    // a void for a number already voided
	SkipNoRecord        Skip = "no_record"         // an imported void for a number no account has a record of
	SkipReplyNotPending Skip = "reply_not_pending" // a queued reply that is not the pending confirmation
)

// Reply is the kind of reply a transition owes the subscriber.
type Reply uint8

// Replies.
const (
	ReplyNone   Reply = iota
	ReplyOptOut       // the single opt-out confirmation
	ReplyOptIn        // the opt-in confirmation
	ReplyResume       // the resume confirmation
	ReplyHelp         // the HELP or INFO reply
	replyEnd
)

var replyKindNames = [replyEnd]string{"none", "opt_out", "opt_in", "resume", "help"}

// String returns the reply kind's stable name: none, opt_out, opt_in,
// resume or help.
func (r Reply) String() string {
	if r < replyEnd {
		return replyKindNames[r]
	}
	return fmt.Sprintf("reply(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (r Reply) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the String form.
func (r *Reply) UnmarshalText(b []byte) error {
	for i, n := range replyKindNames {
		if n == string(b) {
			*r = Reply(i)
			return nil
		}
	}
	return fmt.Errorf("unknown reply kind %q", b)
}

// Effect is the result of Transition for one event.
type Effect struct {
	Outcome Outcome
	// Changed reports whether the consent state changed. HELP and skipped
	// events change nothing.
	Changed bool
	// Skip is the reason the event changed nothing, or SkipNone.
	Skip Skip
	// Reply is the reply owed to the subscriber, at most one per event.
	Reply Reply
	// Sequence is 1 or 2 for a recorded request: its place in the limit.
	Sequence uint8
	// AnswersSeq is, for a YES that opted the number in, the audit sequence
	// number of the request it replies to.
	AnswersSeq uint32
}

// OwesReply reports whether the event owes the subscriber a reply.
func (e Effect) OwesReply() bool { return e.Reply != ReplyNone }

// isConfirmation reports whether r confirms a change of consent state.
// Only these replies stay pending in a record until reported queued.
func (r Reply) isConfirmation() bool {
	return r == ReplyOptOut || r == ReplyOptIn || r == ReplyResume
}

// Transition applies ev to r and returns the new record and the effect. It
// holds every consent rule and is pure: stores call it inside their atomic
// write, and the engine never changes a record any other way.
//
// The returned record always has Seq one higher than r, because every
// event is written to the audit trail, including events that change
// nothing.
//
// A change that owes a confirmation leaves it pending in the record until
// an EventReplyQueued for it. While it is pending, the same keyword changes
// nothing but owes the confirmation again once PendingReplyRetry has
// passed since an event last owed it. Such a repeat is a carrier's
// redelivery after optgate stopped between the store write and the queue
// write. A repeat within PendingReplyRetry owes nothing, because the first
// delivery may still be queueing its reply, and no repeat owes anything
// once the confirmation is queued.
func Transition(r Record, ev Event) (Record, Effect) {
	out := r
	out.Seq = r.Seq + 1
	var eff Effect
	switch ev.Kind {
	case EventRequest:
		eff = applyRequest(&out, ev)
	case EventYes:
		eff = applyYes(&out, ev)
	case EventStop:
		eff = applyOptOut(&out, ReplyOptOut, ev.Time)
	case EventResume:
		eff = applyResume(&out, ev.Time)
	case EventHelp:
		eff = Effect{Outcome: OutcomeHelp, Reply: ReplyHelp}
	case EventVoid:
		eff = applyVoid(&out)
	case EventImport:
		eff = applyImport(&out, ev)
	case EventReplyQueued:
		eff = applyReplyQueued(&out, ev)
	}
	if eff.Changed {
		out.Updated = ev.Time
		out.Source = ev.Source
		// A change replaces any confirmation still pending: the subscriber
		// gets the one for the current state only.
		out.PendingReply, out.PendingSince = ReplyNone, time.Time{}
		if eff.Reply.isConfirmation() {
			out.PendingReply, out.PendingSince = eff.Reply, ev.Time
		}
	}
	return out, eff
}

// PendingReplyRetry is how long after an event owed a confirmation that a
// repeat of its keyword owes the confirmation again, while it is still
// pending. It is meant to exceed the time a live MO takes from the consent
// write to the queue write, so duplicates of one keyword that arrive
// together get one confirmation. That time is an estimate: two store calls,
// each well under a second on a healthy store, and the Redis store's
// default timeout per call is 2 s.
//
// NOTE: a carrier that redelivers sooner than this after a crash leaves
// the subscriber without a confirmation.
const PendingReplyRetry = 10 * time.Second

// resendPending returns the effect of a keyword that finds the record
// already in the state it asks for. It owes the confirmation again when
// that confirmation is still pending and PendingReplyRetry has passed, and
// then restarts the wait so that duplicates of this delivery owe none.
func resendPending(r *Record, skip Skip, reply Reply, now time.Time) Effect {
	if reply == ReplyNone || r.PendingReply != reply || now.Before(r.PendingSince.Add(PendingReplyRetry)) {
		return Effect{Skip: skip}
	}
	r.PendingSince = now
	return Effect{Skip: skip, Reply: reply}
}

// applyReplyQueued clears the pending confirmation when it is the one
// queued. A confirmation already cleared, or replaced by a later change,
// is skipped.
func applyReplyQueued(r *Record, ev Event) Effect {
	if r.PendingReply == ReplyNone || r.PendingReply != ev.Reply {
		return Effect{Skip: SkipReplyNotPending}
	}
	r.PendingReply, r.PendingSince = ReplyNone, time.Time{}
	return Effect{Outcome: OutcomeReplyQueued}
}

// applyRequest records an opt-in request unless the number opted out, is
// opted in, or already received MaxRequests requests. A voided number stays
// voided until a YES replies to one of the new requests.
func applyRequest(r *Record, ev Event) Effect {
	switch {
	case r.State == StateOptedOut:
		return Effect{Skip: SkipOptedOut}
	case r.State == StateOptedIn:
		return Effect{Skip: SkipAlreadyOptedIn}
	case r.Requests >= MaxRequests:
		return Effect{Skip: SkipRequestLimit}
	}
	r.RequestFrom[r.Requests] = ev.TollFree
	r.RequestSeq[r.Requests] = r.Seq
	r.Requests++
	if r.State == StateNone {
		r.State = StateRequested
	}
	return Effect{Outcome: OutcomeRequested, Changed: true, Sequence: r.Requests}
}

// applyYes opts the number in when a request was sent from the toll-free
// number the YES went to. Requests never expire. A YES never lifts a STOP.
func applyYes(r *Record, ev Event) Effect {
	switch {
	case r.State == StateOptedOut:
		return Effect{Skip: SkipOptedOut}
	case r.State == StateOptedIn:
		return resendPending(r, SkipAlreadyOptedIn, ReplyOptIn, ev.Time)
	case r.Requests == 0:
		return Effect{Skip: SkipNoRequest}
	}
	// The latest request from that sender is the one being answered.
	for i := int(r.Requests) - 1; i >= 0; i-- {
		if r.RequestFrom[i] == ev.TollFree {
			r.State = StateOptedIn
			return Effect{Outcome: OutcomeOptedIn, Changed: true, Reply: ReplyOptIn, AnswersSeq: r.RequestSeq[i]}
		}
	}
	return Effect{Skip: SkipOtherSender}
}

// applyOptOut opts the number out from any state, remembering the state to
// restore on UNSTOP. A number already opted out changes nothing, and gets
// the confirmation again only while it is pending (see Transition).
func applyOptOut(r *Record, reply Reply, now time.Time) Effect {
	if r.State == StateOptedOut {
		return resendPending(r, SkipAlreadyOptedOut, reply, now)
	}
	r.Prior = r.State
	r.State = StateOptedOut
	return Effect{Outcome: OutcomeOptedOut, Changed: true, Reply: reply}
}

// applyResume restores the state before the opt-out: opted in if the number
// was opted in, otherwise the earlier state without opt-in.
func applyResume(r *Record, now time.Time) Effect {
	if r.State != StateOptedOut {
		return resendPending(r, SkipNotOptedOut, ReplyResume, now)
	}
	r.State = r.Prior
	r.Prior = StateNone
	return Effect{Outcome: OutcomeResumed, Changed: true, Reply: ReplyResume}
}

// applyVoid resets the record of a reassigned or disconnected number: no
// consent, no opt-out, no requests. The new holder of the number starts
// from scratch.
func applyVoid(r *Record) Effect {
	if r.State == StateVoided && r.Requests == 0 {
		return Effect{Skip: SkipAlreadyVoided}
	}
	r.State = StateVoided
	r.Prior = StateNone
	r.Requests = 0
	r.RequestFrom = [MaxRequests]string{}
	r.RequestSeq = [MaxRequests]uint32{}
	return Effect{Outcome: OutcomeVoided, Changed: true}
}

// applyImport sets an imported state. Like a YES, an imported opt-in never
// lifts an opt-out, because only the subscriber's UNSTOP or START does. Imports
// send no replies.
func applyImport(r *Record, ev Event) Effect {
	switch ev.Import {
	case StateOptedIn:
		switch r.State {
		case StateOptedOut:
			return Effect{Skip: SkipOptedOut}
		case StateOptedIn:
			return Effect{Skip: SkipAlreadyOptedIn}
		}
		r.State = StateOptedIn
		r.Prior = StateNone
		return Effect{Outcome: OutcomeOptedIn, Changed: true}
	case StateOptedOut:
		return applyOptOut(r, ReplyNone, ev.Time)
	case StateVoided:
		return applyVoid(r)
	}
	return Effect{}
}

// MTReason returns why an MT to the pair is blocked by its consent state,
// or ReasonNone when the number is opted in. Sender and quiet-hour checks
// are the engine's.
func (r Record) MTReason() Reason {
	switch r.State {
	case StateOptedIn:
		return ReasonNone
	case StateOptedOut:
		return ReasonOptedOut
	case StateVoided:
		return ReasonVoided
	}
	if r.Requests >= MaxRequests {
		return ReasonRequestLimit
	}
	return ReasonNoConsent
}
