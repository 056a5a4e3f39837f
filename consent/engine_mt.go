package consent

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// MT is a business text about to be sent.
type MT struct {
	// Account is the id of the sending account.
	Account string
	// From is the sender, one of the account's toll-free numbers.
	From string
	// To is the recipient in E.164 form, or in national format for
	// Options.DefaultRegion.
	To string
}

// Decision is the engine's verdict on one MT.
type Decision struct {
	// Allowed reports whether the MT may be sent.
	Allowed bool
	// Reason is the block reason, or in shadow mode the reason the MT
	// would have been blocked for. It is ReasonNone when the rules allow
	// the MT.
	Reason Reason
	// Temporary reports that the block may clear by itself (quiet hours, an
	// unavailable store), so the sender may retry later.
	Temporary bool
	// Shadow reports that the account is in shadow mode, where Allowed is
	// true whatever the Reason.
	Shadow bool
}

// errShortBatch reports a store whose GetMany returned the wrong number of
// records.
var errShortBatch = errors.New("store returned a short batch")

// CheckMT decides whether mt may be sent. It allows the MT only when the
// account exists, the sender is one of the account's ready toll-free
// numbers, and the recipient opted in with that account. An account that
// keeps quiet hours also needs the recipient's local time to be between
// 8:00 and 21:00. A store error blocks the MT with the temporary
// ReasonStoreUnavailable, so the engine fails closed. So does a store that
// has not answered when ctx is done, even one that ignores ctx.
func (e *Engine) CheckMT(ctx context.Context, mt MT) Decision {
	acct, to, reason := e.resolveMT(mt)
	if reason == ReasonNone {
		rec, err := awaitRead(ctx, e.watchReads, func() (Record, error) {
			return e.store.Get(ctx, acct.ID, to)
		})
		if err != nil {
			e.storeFailed("get", err)
			reason = ReasonStoreUnavailable
		} else {
			reason = e.recordReason(acct, to, rec)
		}
	}
	return e.decide(acct, mt, reason)
}

// CheckMTBatch decides many MTs with one store round trip. The decisions
// are in the order of mts and equal those CheckMT would return one by one.
func (e *Engine) CheckMTBatch(ctx context.Context, mts []MT) []Decision {
	out := make([]Decision, len(mts))
	accts := make([]*Account, len(mts))
	reasons := make([]Reason, len(mts))
	keys := make([]Key, 0, len(mts))
	pending := make([]int, 0, len(mts))
	for i, mt := range mts {
		acct, to, reason := e.resolveMT(mt)
		accts[i], reasons[i] = acct, reason
		if reason == ReasonNone {
			keys = append(keys, Key{Account: acct.ID, Number: to})
			pending = append(pending, i)
		}
	}

	if len(keys) > 0 {
		recs, err := awaitRead(ctx, e.watchReads, func() ([]Record, error) {
			return e.store.GetMany(ctx, keys)
		})
		if err == nil && len(recs) != len(keys) {
			err = errShortBatch
		}
		for j, i := range pending {
			if err != nil {
				reasons[i] = ReasonStoreUnavailable
				continue
			}
			reasons[i] = e.recordReason(accts[i], keys[j].Number, recs[j])
		}
		if err != nil {
			e.storeFailed("get_many", err)
		}
	}

	for i, mt := range mts {
		out[i] = e.decide(accts[i], mt, reasons[i])
	}
	return out
}

// resolveMT checks everything about mt that needs no store: the account,
// the numbers and the sender. It returns the account (nil when unknown) and
// the recipient in E.164 form.
func (e *Engine) resolveMT(mt MT) (*Account, string, Reason) {
	acct, ok := e.accounts.Account(mt.Account)
	if !ok {
		return nil, "", ReasonUnknownAccount
	}
	to, err := e.normalizeNumber(mt.To)
	if err != nil {
		return acct, "", ReasonInvalidNumber
	}
	from, err := e.normalizeNumber(mt.From)
	if err != nil {
		return acct, to, ReasonSenderNotTollFree
	}
	return acct, to, checkSender(acct, from)
}

// recordReason returns why the record blocks an MT to number, adding the
// quiet-hours check when the record allows it.
func (e *Engine) recordReason(acct *Account, number string, rec Record) Reason {
	if r := rec.MTReason(); r != ReasonNone {
		return r
	}
	if acct.QuietHours && inQuietHours(e.now(), number, acct.TimeZone) {
		return ReasonQuietHours
	}
	return ReasonNone
}

func (e *Engine) decide(acct *Account, mt MT, reason Reason) Decision {
	d := Decision{Allowed: reason == ReasonNone, Reason: reason, Temporary: reason.Temporary()}
	if e.shadow || (acct != nil && acct.Shadow) {
		d.Shadow = true
		if !d.Allowed {
			d.Allowed = true
			if ce := e.log.Check(zap.DebugLevel, "shadow mode allowed a blocked text"); ce != nil {
				ce.Write(
					zap.String("account", mt.Account),
					zap.String("to", maskNumber(mt.To)),
					zap.String("reason", string(reason)))
			}
		}
	}
	e.stats.countDecision(d)
	return d
}

// memoryReader is implemented by stores whose Get and GetMany read memory
// and do no I/O, so the engine reads them without a deadline watch.
type memoryReader interface{ readsFromMemory() }

// awaitRead returns the result of read, a store read that is meant to
// honour ctx. When watch is set and ctx can end, it fails as soon as ctx
// is done, whether or not read has returned, and it rejects a result that
// arrives after that: an MT decided on a late answer would be sent after
// the caller's deadline. The goroutine running read then ends when the
// store returns.
func awaitRead[T any](ctx context.Context, watch bool, read func() (T, error)) (T, error) {
	if !watch || ctx.Done() == nil {
		return read()
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	var zero T
	select {
	case r := <-done:
		if r.err == nil && ctx.Err() != nil {
			return zero, fmt.Errorf("store responded after the deadline: %w", ctx.Err())
		}
		return r.v, r.err
	case <-ctx.Done():
		return zero, fmt.Errorf("store did not respond before the deadline: %w", ctx.Err())
	}
}
