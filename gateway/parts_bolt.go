package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/optgate/optgate/smpp"
)

// storedParts is the segments of one concatenated MO text received so far.
type storedParts struct {
	Key       smpp.PartKey `json:"key"`
	FirstSeen time.Time    `json:"first_seen"`
	Parts     []storedPart `json:"parts"`
}

type storedPart struct {
	Seq    uint8           `json:"seq"`
	Coding smpp.DataCoding `json:"coding"`
	Body   []byte          `json:"body"`
}

func partKeyBytes(k smpp.PartKey) []byte {
	var b []byte
	for _, s := range []string{k.Session, k.Source, k.Destination} {
		b = append(b, s...)
		b = append(b, 0)
	}
	b = strconv.AppendUint(b, uint64(k.Ref), 10)
	b = append(b, 0)
	return strconv.AppendUint(b, uint64(k.Total), 10)
}

func (sp storedParts) assembled() smpp.Assembled {
	a := smpp.Assembled{Key: sp.Key, FirstSeen: sp.FirstSeen}
	for _, p := range sp.Parts {
		a.Parts = append(a.Parts, smpp.Part{Key: sp.Key, Seq: p.Seq, Coding: p.Coding, Body: p.Body})
	}
	return a
}

// AddPart implements PartStore.
func (s *BoltStore) AddPart(ctx context.Context, p smpp.Part, now time.Time) ([]smpp.Part, bool, error) {
	c := smpp.ConcatInfo{Ref: p.Key.Ref, Total: p.Key.Total, Seq: p.Seq}
	if !c.Valid() {
		return nil, false, fmt.Errorf("add segment: %w: segment %d of %d", smpp.ErrInvalidSegment, p.Seq, p.Key.Total)
	}
	var set storedParts
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketParts)
		key := partKeyBytes(p.Key)
		set = storedParts{Key: p.Key, FirstSeen: now}
		if v := b.Get(key); v != nil {
			if err := json.Unmarshal(v, &set); err != nil {
				return fmt.Errorf("stored segments: %w", err)
			}
		}
		if slices.ContainsFunc(set.Parts, func(sp storedPart) bool { return sp.Seq == p.Seq }) {
			// A carrier resends a segment whose deliver_sm_resp it missed.
			return nil
		}
		body := p.Body
		if body == nil {
			body = []byte{}
		}
		set.Parts = append(set.Parts, storedPart{Seq: p.Seq, Coding: p.Coding, Body: body})
		slices.SortFunc(set.Parts, func(a, b storedPart) int { return int(a.Seq) - int(b.Seq) })
		v, err := json.Marshal(set)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
	if err != nil {
		return nil, false, fmt.Errorf("add segment %d of %d: %w", p.Seq, p.Key.Total, err)
	}
	if len(set.Parts) < int(p.Key.Total) {
		return nil, false, nil
	}
	return set.assembled().Parts, true, nil
}

// sweepParts deletes the partial MO texts first seen before cutoff and
// returns them.
func sweepParts(tx *bolt.Tx, before time.Time) ([]smpp.Assembled, error) {
	if before.IsZero() {
		return nil, nil
	}
	b := tx.Bucket(bucketParts)
	var out []smpp.Assembled
	var stale [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var set storedParts
		if err := json.Unmarshal(v, &set); err != nil {
			return fmt.Errorf("stored segments %q: %w", k, err)
		}
		if set.FirstSeen.Before(before) {
			out = append(out, set.assembled())
			stale = append(stale, slices.Clone(k))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}
