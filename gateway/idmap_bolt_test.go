package gateway

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/optgate/optgate/smpp"
)

func openTestBoltStore(t testing.TB, path string) *BoltStore {
	t.Helper()
	s, err := OpenBoltStore(path, BoltStoreOptions{})
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	return s
}

// TestBoltStoreReadsJSONRecords opens a file whose record was written as
// JSON, as versions before the binary encoding wrote it, and reads,
// updates and expires that record.
func TestBoltStoreReadsJSONRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	if err := openTestBoltStore(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	rec := MessageRecord{ID: "00aa11bb22cc33dd", Account: "acme", Carrier: "sim", From: "+18005550100",
		To: "+12015550101", RegisteredDelivery: 1, Total: 1, Submitted: time.Unix(1000, 0).UTC(),
		Expires: time.Unix(5000, 0).UTC(), Segments: []SegmentRecord{{CarrierID: "C1", Keys: []string{"C1", "c1"}}}}
	writeJSONRecord(t, path, rec)

	s := openTestBoltStore(t, path)
	defer s.Close()
	ctx := context.Background()
	got, err := s.Message(ctx, rec.ID)
	if err != nil {
		t.Fatalf("Message of a JSON record: %v", err)
	}
	if got.To != rec.To || got.Segments[0].Keys[1] != "c1" || !got.Expires.Equal(rec.Expires) {
		t.Errorf("JSON record read as %+v, want %+v", got, rec)
	}

	// A receipt matches through the old carrier id keys, and the record
	// is written back in the binary form with an earlier expiry.
	settle := func(r *MessageRecord, seg int, cr CarrierReceipt) []Item {
		r.Segments[seg].State = cr.State
		r.Expires = time.Unix(2000, 0).UTC()
		return nil
	}
	cr := CarrierReceipt{Carrier: "sim", ID: "c1", State: smpp.StateDelivered, Received: time.Unix(1100, 0).UTC()}
	if _, err := s.ApplyReceipt(ctx, []string{"c1"}, cr, time.Unix(3000, 0), settle); err != nil {
		t.Fatalf("ApplyReceipt on a JSON record: %v", err)
	}
	err = s.view(ctx, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMessages).Get([]byte(rec.ID)); len(v) == 0 || v[0] != recordFormatV1 {
			return fmt.Errorf("rewritten record starts with %q, want the binary format", v[:min(len(v), 1)])
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if res, err := s.Sweep(ctx, SweepLimits{Now: time.Unix(2000, 0)}); err != nil || res.Messages != 1 {
		t.Fatalf("Sweep at the new expiry removed %d records (%v), want 1", res.Messages, err)
	}
	if n := countKeys(t, s, bucketExpiry) + countKeys(t, s, bucketCarrierID); n != 0 {
		t.Errorf("%d expiry and carrier id keys left after the sweep, want 0", n)
	}
}

// writeJSONRecord writes rec to the closed store file at path with the
// layout and JSON encoding of earlier versions.
func writeJSONRecord(t *testing.T, path string, rec MessageRecord) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMessages).Put([]byte(rec.ID), v); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Put(expiryKey(rec.Expires, rec.ID), nil); err != nil {
			return err
		}
		for i, seg := range rec.Segments {
			target := binary.BigEndian.AppendUint16(append([]byte(rec.ID), 0), uint16(i))
			for _, k := range seg.Keys {
				if err := tx.Bucket(bucketCarrierID).Put(carrierKey(rec.Carrier, k), target); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countKeys(t testing.TB, s *BoltStore, bucket []byte) int {
	t.Helper()
	n := 0
	err := s.view(context.Background(), func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBoltRewriteKeepsOneExpiryKey checks that a receipt that moves a
// record's expiry replaces its expiry key, so that no key outlives the
// record until the original TTL.
func TestBoltRewriteKeepsOneExpiryKey(t *testing.T) {
	s := openTestBoltStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	defer s.Close()
	ctx := context.Background()
	rec := MessageRecord{ID: "m1", Account: "acme", Carrier: "sim", RegisteredDelivery: 1, Total: 1,
		Expires: time.Unix(9000, 0), Segments: []SegmentRecord{{CarrierID: "C1", Keys: []string{"C1"}}}}
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	for i, expires := range []int64{2000, 2500} {
		move := func(r *MessageRecord, seg int, cr CarrierReceipt) []Item {
			r.Expires = time.Unix(expires, 0)
			return nil
		}
		cr := CarrierReceipt{Carrier: "sim", ID: "C1", State: smpp.StateEnroute}
		if _, err := s.ApplyReceipt(ctx, []string{"C1"}, cr, time.Unix(3000, 0), move); err != nil {
			t.Fatal(err)
		}
		if n := countKeys(t, s, bucketExpiry); n != 1 {
			t.Errorf("after rewrite %d: %d expiry keys, want 1", i+1, n)
		}
	}
	// Writing the same id again also replaces its key.
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, bucketExpiry); n != 1 {
		t.Errorf("after a second PutMessage: %d expiry keys, want 1", n)
	}
}

// BenchmarkBoltIDMapBytesPerMessage writes the records of
// bytesPerMessageN single-segment messages through PutMessage and applies
// a DELIVRD receipt to each. It reports the growth of the bbolt file and
// of its used pages per message, for the binary encoding and for the JSON
// encoding of earlier versions. Nothing is swept.
func BenchmarkBoltIDMapBytesPerMessage(b *testing.B) {
	encodings := []struct {
		name   string
		encode func([]byte, *MessageRecord) ([]byte, error)
	}{
		{"binary", appendRecord},
		{"json", func(_ []byte, r *MessageRecord) ([]byte, error) { return json.Marshal(r) }},
	}
	for _, enc := range encodings {
		b.Run(enc.name, func(b *testing.B) {
			saved := encodeRecord
			encodeRecord = enc.encode
			defer func() { encodeRecord = saved }()
			for b.Loop() {
				fileBytes, usedBytes := writeMessages(b, bytesPerMessageN)
				b.ReportMetric(float64(fileBytes)/bytesPerMessageN, "file-B/msg")
				b.ReportMetric(float64(usedBytes)/bytesPerMessageN, "used-B/msg")
			}
		})
	}
}

const bytesPerMessageN = 20000

// writeMessages writes n messages to a new store from 32 goroutines, so
// that their writes share group commits, and returns the growth of the
// file and of its used size.
func writeMessages(b *testing.B, n int) (fileBytes, usedBytes int64) {
	path := filepath.Join(b.TempDir(), "gateway.db")
	s := openTestBoltStore(b, path)
	defer s.Close()
	size := func() (file, used int64) {
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.view(context.Background(), func(tx *bolt.Tx) error {
			used = tx.Size()
			return nil
		})
		return fi.Size(), used
	}
	file0, used0 := size()

	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	var failed sync.Once
	const workers = 32
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := writeMessage(ctx, s, i, now); err != nil {
					failed.Do(func() { b.Error(err) })
					return
				}
			}
		})
	}
	wg.Wait()
	file1, used1 := size()
	return file1 - file0, used1 - used0
}

// writeMessage stores one message as MTService and ReceiptService do: a
// record with one segment, then its DELIVRD receipt.
func writeMessage(ctx context.Context, s *BoltStore, i int, now time.Time) error {
	cid := fmt.Sprintf("%08X", 0x1a2b3c00+i)
	rec := MessageRecord{
		ID: NewMessageID(), Account: "acme-dental", Carrier: "carrier-a", From: "+18885550100",
		To: fmt.Sprintf("+1201555%04d", i%10000), RegisteredDelivery: 1, Total: 1,
		Submitted: now, Expires: now.Add(DefaultMessageTTL),
		Segments: []SegmentRecord{{CarrierID: cid, Keys: []string{cid}}},
	}
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		return err
	}
	cr := CarrierReceipt{Carrier: "carrier-a", ID: cid, State: smpp.StateDelivered, Stat: "DELIVRD",
		Err: "000", SubmitDate: now.Truncate(time.Minute), DoneDate: now.Truncate(time.Minute), Received: now}
	_, err := s.ApplyReceipt(ctx, []string{cid}, cr, now.Add(10*time.Minute),
		func(r *MessageRecord, seg int, cr CarrierReceipt) []Item {
			r.Segments[seg].State = cr.State
			r.Segments[seg].Receipt = &cr
			return nil
		})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("receipt for %s found no record", cid)
	}
	return err
}
