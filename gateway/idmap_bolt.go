package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errUnmatchedFull reports an unmatched receipt dropped because the store
// holds BoltStoreOptions.MaxUnmatched of them already.
var errUnmatchedFull = errors.New("gateway: too many unmatched receipts")

// unmatchedEntry holds the receipts of one carrier id that has no mapping
// yet. It is stored under the id's first lookup key; the other keys point
// to it through the alias bucket.
type unmatchedEntry struct {
	Keys     []string         `json:"keys"`
	Receipts []CarrierReceipt `json:"receipts"`
	Expires  time.Time        `json:"expires"`
}

func carrierKey(carrier, key string) []byte {
	b := make([]byte, 0, len(carrier)+1+len(key))
	b = append(b, carrier...)
	b = append(b, 0)
	return append(b, key...)
}

func expiryKey(t time.Time, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), id...)
}

// PutMessage implements IDMap.
func (s *BoltStore) PutMessage(ctx context.Context, rec MessageRecord, match ReceiptFunc) ([]Item, int, error) {
	if rec.ID == "" || (rec.Carrier == "" && len(rec.Segments) > 0) {
		return nil, 0, fmt.Errorf("put message: missing id or carrier")
	}
	var items []Item
	var matched, receipts int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r := rec
		r.Segments = append([]SegmentRecord(nil), rec.Segments...)
		items, matched, receipts = nil, 0, 0
		cids := tx.Bucket(bucketCarrierID)
		for i, seg := range r.Segments {
			target := binary.BigEndian.AppendUint16(append([]byte(r.ID), 0), uint16(i))
			for _, k := range seg.Keys {
				if err := cids.Put(carrierKey(r.Carrier, k), target); err != nil {
					return err
				}
			}
			for _, k := range seg.Keys {
				entry, found, err := takeUnmatched(tx, r.Carrier, k)
				if err != nil {
					return err
				}
				if !found {
					continue
				}
				matched++
				for _, receipt := range entry.Receipts {
					// A stale receipt is dropped with its entry: it
					// belongs to an older message.
					if staleKeptReceipt(&r, receipt) {
						continue
					}
					receipts++
					if match != nil {
						items = append(items, match(&r, i, receipt)...)
					}
				}
			}
		}
		if err := putItems(tx, items); err != nil {
			return err
		}
		var oldExpires time.Time
		if v := tx.Bucket(bucketMessages).Get([]byte(r.ID)); v != nil {
			if old, err := decodeRecord(v); err == nil {
				oldExpires = old.Expires
			}
		}
		return putRecord(tx, r, oldExpires)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("put message %s: %w", rec.ID, err)
	}
	s.addDepths(items, 1)
	s.mu.Lock()
	s.unmatched -= matched
	s.mu.Unlock()
	return items, receipts, nil
}

// putRecord writes r and its expiry key. It deletes the expiry key of
// oldExpires, the expiry of the value r replaces, when that differs, so
// that each record has one expiry key. A zero oldExpires means no value
// was replaced.
func putRecord(tx *bolt.Tx, r MessageRecord, oldExpires time.Time) error {
	v, err := encodeRecord(nil, &r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketMessages).Put([]byte(r.ID), v); err != nil {
		return err
	}
	expiry := tx.Bucket(bucketExpiry)
	if !oldExpires.IsZero() && !oldExpires.Equal(r.Expires) {
		if err := expiry.Delete(expiryKey(oldExpires, r.ID)); err != nil {
			return err
		}
	}
	return expiry.Put(expiryKey(r.Expires, r.ID), nil)
}

// takeUnmatched removes and returns the unmatched entry reachable from a
// key, directly or through an alias.
func takeUnmatched(tx *bolt.Tx, carrier, key string) (unmatchedEntry, bool, error) {
	unmatched, alias := tx.Bucket(bucketUnmatched), tx.Bucket(bucketAlias)
	primary := carrierKey(carrier, key)
	v := unmatched.Get(primary)
	if v == nil {
		p := alias.Get(primary)
		if p == nil {
			return unmatchedEntry{}, false, nil
		}
		primary = bytes.Clone(p)
		v = unmatched.Get(primary)
		if v == nil {
			return unmatchedEntry{}, false, alias.Delete(carrierKey(carrier, key))
		}
	}
	var e unmatchedEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return unmatchedEntry{}, false, fmt.Errorf("unmatched receipt %q: %w", primary, err)
	}
	if err := deleteUnmatched(tx, carrier, primary, e); err != nil {
		return unmatchedEntry{}, false, err
	}
	return e, true, nil
}

func deleteUnmatched(tx *bolt.Tx, carrier string, primary []byte, e unmatchedEntry) error {
	if err := tx.Bucket(bucketUnmatched).Delete(primary); err != nil {
		return err
	}
	for _, k := range e.Keys {
		if err := tx.Bucket(bucketAlias).Delete(carrierKey(carrier, k)); err != nil {
			return err
		}
	}
	return nil
}

// Message implements IDMap.
func (s *BoltStore) Message(ctx context.Context, id string) (MessageRecord, error) {
	var rec MessageRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMessages).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		var err error
		rec, err = decodeRecord(v)
		return err
	})
	if err != nil {
		return MessageRecord{}, fmt.Errorf("read message %s: %w", id, err)
	}
	return rec, nil
}

// ApplyReceipt implements IDMap.
func (s *BoltStore) ApplyReceipt(ctx context.Context, keys []string, r CarrierReceipt, keepUntil time.Time,
	fn ReceiptFunc) ([]Item, error) {
	if len(keys) == 0 || r.Carrier == "" {
		return nil, fmt.Errorf("apply receipt: missing carrier or id")
	}
	var items []Item
	var found, added bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		items, found, added = nil, false, false
		id, segment, ok := lookupCarrierID(tx, r.Carrier, keys)
		var rec MessageRecord
		if ok {
			v := tx.Bucket(bucketMessages).Get([]byte(id))
			if v != nil {
				var err error
				if rec, err = decodeRecord(v); err != nil {
					return fmt.Errorf("message %s: %w", id, err)
				}
				ok = segment < len(rec.Segments)
			} else {
				ok = false
			}
		}
		if !ok {
			var err error
			added, err = s.keepUnmatched(tx, keys, r, keepUntil)
			return err
		}
		found = true
		oldExpires := rec.Expires
		items = fn(&rec, segment, r)
		if err := putItems(tx, items); err != nil {
			return err
		}
		return putRecord(tx, rec, oldExpires)
	})
	if err != nil {
		return nil, fmt.Errorf("apply receipt %s from %s: %w", r.ID, r.Carrier, err)
	}
	if !found {
		if added {
			s.mu.Lock()
			s.unmatched++
			s.mu.Unlock()
		}
		return nil, ErrNotFound
	}
	s.addDepths(items, 1)
	return items, nil
}

func lookupCarrierID(tx *bolt.Tx, carrier string, keys []string) (string, int, bool) {
	cids := tx.Bucket(bucketCarrierID)
	for _, k := range keys {
		v := cids.Get(carrierKey(carrier, k))
		if len(v) < 3 {
			continue
		}
		id := string(v[:len(v)-3])
		return id, int(binary.BigEndian.Uint16(v[len(v)-2:])), true
	}
	return "", 0, false
}

// keepUnmatched adds r to the unmatched entry of its id, creating the entry
// when needed. It reports whether it created one.
func (s *BoltStore) keepUnmatched(tx *bolt.Tx, keys []string, r CarrierReceipt, keepUntil time.Time) (bool, error) {
	unmatched, alias := tx.Bucket(bucketUnmatched), tx.Bucket(bucketAlias)
	primary := carrierKey(r.Carrier, keys[0])
	var e unmatchedEntry
	created := false
	if v := unmatched.Get(primary); v != nil {
		if err := json.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("unmatched receipt %q: %w", primary, err)
		}
	} else {
		s.mu.Lock()
		full := s.unmatched >= s.opts.MaxUnmatched
		s.mu.Unlock()
		if full {
			return false, errUnmatchedFull
		}
		e.Keys = keys
		created = true
	}

	e.Receipts = append(e.Receipts, r)
	e.Expires = keepUntil
	v, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	if err := unmatched.Put(primary, v); err != nil {
		return false, err
	}
	for _, k := range keys[1:] {
		if err := alias.Put(carrierKey(r.Carrier, k), primary); err != nil {
			return false, err
		}
	}
	return created, nil
}

// boltSweepBatch is the most expiry keys one sweep transaction removes.
// bbolt keeps every page a transaction changes in memory until it commits,
// and other writers wait for it, so a sweep of a whole busy hour in one
// transaction would hold hundreds of MiB and stall the message path.
const boltSweepBatch = 2000

// sweepMessages deletes up to batch id map entries that expired by now, with
// their carrier id keys and expiry keys. It returns how many records it
// deleted and whether expired keys remain.
func sweepMessages(tx *bolt.Tx, now time.Time, batch int) (int, bool, error) {
	expiry, messages, cids := tx.Bucket(bucketExpiry), tx.Bucket(bucketMessages), tx.Bucket(bucketCarrierID)
	limit := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
	n, keys := 0, 0
	c := expiry.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, _ = c.First() {
		if keys == batch {
			return n, true, nil
		}
		keys++
		id := k[8:]
		if v := messages.Get(id); v != nil {
			rec, err := decodeRecord(v)
			decoded := err == nil
			if decoded && rec.Expires.After(now) {
				// A later write moved the expiry, so this key is stale.
				if err := c.Delete(); err != nil {
					return n, false, err
				}
				continue
			}
			if decoded {
				for _, seg := range rec.Segments {
					for _, key := range seg.Keys {
						if err := cids.Delete(carrierKey(rec.Carrier, key)); err != nil {
							return n, false, err
						}
					}
				}
			}
			if err := messages.Delete(id); err != nil {
				return n, false, err
			}
			n++
		}
		if err := c.Delete(); err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// sweepUnmatched deletes the unmatched receipts whose time ran out. It
// returns them and the number of entries (carrier ids) deleted.
func sweepUnmatched(tx *bolt.Tx, now time.Time) ([]CarrierReceipt, int, error) {
	unmatched := tx.Bucket(bucketUnmatched)
	type expired struct {
		key   []byte
		entry unmatchedEntry
	}
	var gone []expired
	err := unmatched.ForEach(func(k, v []byte) error {
		var e unmatchedEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("unmatched receipt %q: %w", k, err)
		}
		if e.Expires.After(now) {
			return nil
		}
		gone = append(gone, expired{key: bytes.Clone(k), entry: e})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	var out []CarrierReceipt
	for _, g := range gone {
		carrier, _, _ := bytes.Cut(g.key, []byte{0})
		if err := deleteUnmatched(tx, string(carrier), g.key, g.entry); err != nil {
			return nil, 0, err
		}
		out = append(out, g.entry.Receipts...)
	}
	return out, len(gone), nil
}
