package consent

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// MO is a subscriber's message to one of the accounts' toll-free numbers.
type MO struct {
	// From is the subscriber's number.
	From string
	// To is the toll-free number the message was sent to.
	To string
	// Text is the decoded message text.
	Text string
	// MessageIDs are the carrier's ids of the message (one per segment).
	MessageIDs []string
	Source     Source
}

// Message is a text the gateway must send.
type Message struct {
	From string
	To   string
	Text string
}

// Forward is how the gateway passes an MO on to the business.
type Forward uint8

// Forward kinds.
const (
	// ForwardPlain passes an ordinary message on.
	ForwardPlain Forward = iota + 1
	// ForwardMarked passes on a consent keyword (STOP, YES, UNSTOP, HELP),
	// marked as such with MOResult.Match, so the business sees the
	// subscriber's choice without acting on it as a conversation.
	ForwardMarked
)

// MOResult is the outcome of HandleMO for one MO.
type MOResult struct {
	// Account is the id of the account owning the toll-free number.
	Account string
	// From and To are the subscriber and the toll-free number in E.164
	// form.
	From string
	To   string
	// Match is the classification of the text.
	Match Match
	// Event is the event applied to the store, or 0 for an ordinary
	// message, which changes no consent.
	Event EventKind
	// Effect is the result of the event.
	Effect Effect
	// Replies are the texts to send back to the subscriber, from the
	// toll-free number the MO was sent to: at most one.
	Replies []Message
	// Forward is how to pass the MO on to the business.
	Forward Forward
	// Source is the channel the MO arrived on.
	Source Source
}

// HandleMO classifies a subscriber's message, applies the consent event it
// carries and returns the replies owed. When HandleMO returns a nil error,
// the change is durable in the store and the caller may acknowledge the
// message to the carrier. On error nothing was changed, and the caller
// should reject the MO with a temporary error so that the carrier
// redelivers it. To keep that promise, HandleMO waits for the store's write
// to finish, even past ctx's deadline when the store does not honour ctx.
// Giving up on a write that may still commit would report a failure for a
// change that was made.
//
// A confirmation (of an opt-out, opt-in or resume) stays pending in the
// record until the caller reports it queued with ReplyQueued. Until then
// the same keyword, redelivered because the caller stopped before it
// queued the reply, returns the confirmation again.
func (e *Engine) HandleMO(ctx context.Context, mo MO) (MOResult, error) {
	to, err := e.normalizeNumber(mo.To)
	if err != nil {
		return MOResult{}, fmt.Errorf("handle MO: recipient: %w", err)
	}
	acct, ok := e.accounts.AccountByTollFree(to)
	if !ok {
		return MOResult{}, fmt.Errorf("handle MO to %s: %w", to, ErrUnknownTollFree)
	}
	from, err := e.normalizeNumber(mo.From)
	if err != nil {
		return MOResult{}, fmt.Errorf("handle MO to %s: sender: %w", to, err)
	}

	res := MOResult{Account: acct.ID, From: from, To: to, Match: e.classifier.Classify(mo.Text),
		Forward: ForwardPlain, Source: mo.Source}
	e.stats.countMO(res.Match.Keyword)
	kind := eventFor(res.Match.Keyword)
	if kind == 0 {
		return res, nil
	}
	res.Forward = ForwardMarked
	res.Event = kind

	ev := Event{
		Kind:       kind,
		Account:    acct.ID,
		Number:     from,
		TollFree:   to,
		Text:       mo.Text,
		ReplyText:  e.replyText(acct, to, replyFor(kind)),
		MessageIDs: mo.MessageIDs,
		Source:     mo.Source,
		FreeText:   res.Match.FreeText,
		Time:       e.now(),
	}
	applied, err := e.store.Apply(ctx, ev)
	if err != nil {
		e.stats.storeErrors.Add(1)
		return MOResult{}, fmt.Errorf("handle %s from %s: %w: %w", kind, maskNumber(from), ErrStoreUnavailable, err)
	}
	res.Effect = applied.Effect
	if applied.Effect.OwesReply() && ev.ReplyText != "" {
		res.Replies = []Message{{From: to, To: from, Text: ev.ReplyText}}
	}

	if ce := e.log.Check(zap.DebugLevel, "consent keyword applied"); ce != nil {
		ce.Write(
			zap.String("account", acct.ID),
			zap.String("from", maskNumber(from)),
			zap.Stringer("event", kind),
			zap.Stringer("outcome", applied.Effect.Outcome),
			zap.String("skip", string(applied.Effect.Skip)))
	}
	return res, nil
}

// eventFor returns the event a keyword triggers, or 0 for none.
func eventFor(k Keyword) EventKind {
	switch k {
	case KeywordOptOut:
		return EventStop
	case KeywordOptIn:
		return EventYes
	case KeywordResume:
		return EventResume
	case KeywordHelp:
		return EventHelp
	}
	return 0
}

// replyFor returns the reply an event owes when Transition applies it. A
// skipped event owes none.
func replyFor(k EventKind) Reply {
	switch k {
	case EventStop:
		return ReplyOptOut
	case EventYes:
		return ReplyOptIn
	case EventResume:
		return ReplyResume
	case EventHelp:
		return ReplyHelp
	}
	return ReplyNone
}

// replyText renders the reply of the given kind for the account, with the
// toll-free number the subscriber wrote to as the contact number. Accounts
// are validated up front, so rendering fails only on a configuration the
// validation missed. The event is then still applied, without a reply.
func (e *Engine) replyText(acct *Account, tollFree string, kind Reply) string {
	r, err := RenderReply(kind, acct.Replies, acct.BusinessName, tollFree)
	if err != nil {
		e.log.Error("render reply failed, sending none",
			zap.String("account", acct.ID),
			zap.Stringer("reply", kind),
			zap.Error(err))
		return ""
	}
	return r.Text
}

// ReplyQueued records that the caller durably queued the confirmation in
// res, a result of HandleMO, so a redelivery of the same keyword owes no
// second one. messageIDs identify the queued reply and are kept in the
// audit entry. For a result without a pending confirmation (no reply, or a
// HELP reply) it writes nothing and returns nil.
//
// A caller that fails here loses nothing but the mark: the next delivery
// of the same keyword then sends the confirmation once more.
func (e *Engine) ReplyQueued(ctx context.Context, res MOResult, messageIDs ...string) error {
	if !res.Effect.Reply.isConfirmation() || len(res.Replies) == 0 {
		return nil
	}
	ev := Event{
		Kind:       EventReplyQueued,
		Account:    res.Account,
		Number:     res.From,
		TollFree:   res.To,
		Text:       res.Replies[0].Text,
		MessageIDs: messageIDs,
		Source:     res.Source,
		Reply:      res.Effect.Reply,
		Time:       e.now(),
	}
	applied, err := e.store.Apply(ctx, ev)
	if err != nil {
		e.stats.storeErrors.Add(1)
		return fmt.Errorf("record queued %s reply to %s: %w: %w", ev.Reply, maskNumber(res.From), ErrStoreUnavailable, err)
	}
	if ce := e.log.Check(zap.DebugLevel, "consent reply queued"); ce != nil {
		ce.Write(
			zap.String("account", res.Account),
			zap.String("from", maskNumber(res.From)),
			zap.Stringer("reply", ev.Reply),
			zap.String("skip", string(applied.Effect.Skip)))
	}
	return nil
}
