package consent

import (
	"context"
	"errors"
)

// Key names one (account, number) pair.
type Key struct {
	Account string
	// Number is the subscriber's number in E.164 form.
	Number string
}

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("consent: store closed")

// Store keeps consent records and their audit trail. Every method takes a
// context and honours its deadline. Implementations must be safe for
// concurrent use, and storetest.Run checks that they follow the rules
// below.
type Store interface {
	// Get returns the record of one pair. A pair with no record yields the
	// zero Record and a nil error.
	Get(ctx context.Context, account, number string) (Record, error)

	// GetMany returns the records of many pairs in one round trip, in the
	// order of keys. Pairs with no record yield the zero Record.
	GetMany(ctx context.Context, keys []Key) ([]Record, error)

	// Apply runs Step on the pair's current record and stores the new
	// record and the audit entry in one atomic step, so concurrent events
	// on one pair are applied one after the other. When Apply returns a nil
	// error the change is durable.
	Apply(ctx context.Context, ev Event) (Applied, error)

	// History returns the audit entries of one pair, oldest first.
	History(ctx context.Context, account, number string) ([]AuditEntry, error)

	// Records calls fn for every record of the account, in no set order.
	// Iteration stops at the first error fn returns, which Records returns.
	Records(ctx context.Context, account string, fn func(number string, rec Record) error) error

	// Close releases the store. Later calls return ErrClosed.
	Close() error
}

// BatchApplier is implemented by stores that can apply many events in one
// atomic step. ApplyBatch applies the events in order, each seeing the
// records left by the previous ones, with the same effect as calling Apply
// for each. On error none is applied. Bulk imports use it when the store
// has it.
type BatchApplier interface {
	ApplyBatch(ctx context.Context, events []Event) ([]Applied, error)
}
