package consent

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// OptInRequest is a request for an opt-in text to one number.
type OptInRequest struct {
	// Account is the id of the requesting account.
	Account string
	// TollFree is the sender. Empty means the account's first ready
	// toll-free number.
	TollFree string
	// To is the subscriber's number.
	To string
	// Source is the channel that triggered the request, e.g. SourceSIP for
	// a request made during a call.
	Source Source
	// MessageID is the id of the triggering message, if any.
	MessageID string
}

// RequestResult is an opt-in request ready to send.
type RequestResult struct {
	// From is the toll-free sender and To the subscriber, in E.164 form.
	From string
	To   string
	// Text is the rendered request, recorded verbatim in the audit trail.
	Text string
	// Segments is the number of SMS segments Text needs.
	Segments int
	// Sequence is 1 for the first request to the number and 2 for the
	// second and last.
	Sequence int
}

// RequestOptIn records an opt-in request and returns the text to send. The
// request counts towards the limit of two as soon as RequestOptIn returns,
// whether or not the caller manages to send it.
//
// It fails with ErrUnknownAccount, ErrInvalidNumber, ErrSenderNotTollFree,
// ErrSenderNotOwned, ErrSenderNotReady, ErrQuietHours (when the account
// keeps quiet hours), ErrOptedOut, ErrAlreadyOptedIn, ErrRequestLimit, or
// ErrStoreUnavailable joined with the store's error. Refused requests are
// recorded in the audit trail too.
func (e *Engine) RequestOptIn(ctx context.Context, req OptInRequest) (RequestResult, error) {
	acct, ok := e.accounts.Account(req.Account)
	if !ok {
		return RequestResult{}, fmt.Errorf("request opt-in: account %q: %w", req.Account, ErrUnknownAccount)
	}
	to, err := e.normalizeNumber(req.To)
	if err != nil {
		return RequestResult{}, fmt.Errorf("request opt-in for %s: %w", acct.ID, err)
	}
	from, err := e.requestSender(acct, req.TollFree)
	if err != nil {
		return RequestResult{}, fmt.Errorf("request opt-in for %s: %w", acct.ID, err)
	}
	if acct.QuietHours && inQuietHours(e.now(), to, acct.TimeZone) {
		return RequestResult{}, fmt.Errorf("request opt-in for %s: %w", acct.ID, ErrQuietHours)
	}
	rendered, err := RenderRequest(acct.RequestTemplate(), from)
	if err != nil {
		return RequestResult{}, fmt.Errorf("request opt-in for %s: %w", acct.ID, err)
	}

	ev := Event{
		Kind:     EventRequest,
		Account:  acct.ID,
		Number:   to,
		TollFree: from,
		Text:     rendered.Text,
		Source:   req.Source,
		Time:     e.now(),
	}
	if req.MessageID != "" {
		ev.MessageIDs = []string{req.MessageID}
	}
	applied, err := e.store.Apply(ctx, ev)
	if err != nil {
		e.stats.storeErrors.Add(1)
		return RequestResult{}, fmt.Errorf("request opt-in for %s: %w: %w", acct.ID, ErrStoreUnavailable, err)
	}
	if err := skipError(applied.Effect.Skip); err != nil {
		e.stats.requestsRefused.Add(1)
		return RequestResult{}, fmt.Errorf("request opt-in for %s to %s: %w", acct.ID, maskNumber(to), err)
	}

	e.stats.requestsSent.Add(1)
	if ce := e.log.Check(zap.DebugLevel, "opt-in request recorded"); ce != nil {
		ce.Write(
			zap.String("account", acct.ID),
			zap.String("to", maskNumber(to)),
			zap.Uint8("sequence", applied.Effect.Sequence))
	}
	return RequestResult{
		From:     from,
		To:       to,
		Text:     rendered.Text,
		Segments: rendered.Segments,
		Sequence: int(applied.Effect.Sequence),
	}, nil
}

// requestSender returns the toll-free number a request goes out from: the
// given one if the account owns it and it is ready, otherwise the
// account's first ready number.
func (e *Engine) requestSender(acct *Account, tollFree string) (string, error) {
	if tollFree == "" {
		tf, ok := acct.DefaultSender()
		if !ok {
			return "", fmt.Errorf("no ready toll-free number: %w", ErrSenderNotReady)
		}
		return tf.Number, nil
	}
	from, err := e.normalizeNumber(tollFree)
	if err != nil {
		return "", fmt.Errorf("sender: %w", err)
	}
	switch checkSender(acct, from) {
	case ReasonSenderNotTollFree:
		return "", fmt.Errorf("sender %s: %w", from, ErrSenderNotTollFree)
	case ReasonSenderNotOwned:
		return "", fmt.Errorf("sender %s: %w", from, ErrSenderNotOwned)
	case ReasonSenderNotReady:
		return "", fmt.Errorf("sender %s: %w", from, ErrSenderNotReady)
	}
	return from, nil
}

// skipError maps the reason a request was skipped to the engine's error.
func skipError(s Skip) error {
	switch s {
	case SkipNone:
		return nil
	case SkipOptedOut:
		return ErrOptedOut
	case SkipAlreadyOptedIn:
		return ErrAlreadyOptedIn
	case SkipRequestLimit:
		return ErrRequestLimit
	}
	return fmt.Errorf("request skipped: %s", s)
}
