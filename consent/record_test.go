package consent_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

func TestRecordEncodingRoundTrip(t *testing.T) {
	records := []consent.Record{
		{},
		{State: consent.StateRequested, Requests: 1, RequestFrom: [2]string{"+18885550100"}, RequestSeq: [2]uint32{1},
			Seq: 1, Source: consent.SourceHTTP, Updated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
		{State: consent.StateOptedOut, Prior: consent.StateOptedIn, Requests: 2,
			RequestFrom: [2]string{"+18885550100", "+18005550100"}, RequestSeq: [2]uint32{1, 300},
			Seq: 1 << 31, Source: consent.SourceSMPP, Updated: time.Unix(1, 0).UTC()},
		{State: consent.StateVoided, Seq: 7, Source: consent.SourceImport,
			Updated: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
	}
	for i, r := range records {
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("record %d: marshal: %v", i, err)
		}
		var got consent.Record
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("record %d: unmarshal: %v", i, err)
		}
		if !got.Updated.Equal(r.Updated) {
			t.Errorf("record %d: updated %v, want %v", i, got.Updated, r.Updated)
		}
		got.Updated, r.Updated = time.Time{}, time.Time{}
		if got != r {
			t.Errorf("record %d: round trip gave %+v, want %+v", i, got, r)
		}
	}
}

func TestRecordEncodingCompact(t *testing.T) {
	r := consent.Record{State: consent.StateOptedIn, Requests: 2,
		RequestFrom: [2]string{"+18885550100", "+18005550100"}, RequestSeq: [2]uint32{1, 2},
		Seq: 3, Source: consent.SourceSMPP, Updated: time.Now()}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 48 {
		t.Errorf("encoded record is %d bytes, want at most 48", len(b))
	}
}

func TestRecordEncodingRejectsBadInput(t *testing.T) {
	good, err := consent.Record{State: consent.StateRequested, Requests: 1,
		RequestFrom: [2]string{"+18885550100"}, RequestSeq: [2]uint32{1}, Seq: 1}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":             nil,
		"short header":      good[:3],
		"unknown version":   append([]byte{9}, good[1:]...),
		"bad state":         append([]byte{1, 99}, good[2:]...),
		"too many requests": append([]byte{1, 1, 0, 0, 3}, good[5:]...),
		"trailing bytes":    append(append([]byte(nil), good...), 0),
	}
	for i := 5; i < len(good); i++ {
		bad[fmt.Sprintf("truncated to %d bytes", i)] = good[:i]
	}
	for name, b := range bad {
		var r consent.Record
		if err := r.UnmarshalBinary(b); !errors.Is(err, consent.ErrCorruptRecord) {
			t.Errorf("%s: error %v, want ErrCorruptRecord", name, err)
		}
	}
	if _, err := (consent.Record{Requests: 3}).MarshalBinary(); err == nil {
		t.Error("marshal accepted 3 requests")
	}
}

func FuzzRecordUnmarshal(f *testing.F) {
	seed, _ := consent.Record{State: consent.StateOptedOut, Prior: consent.StateOptedIn, Requests: 2,
		RequestFrom: [2]string{"+18885550100", "+18005550100"}, RequestSeq: [2]uint32{1, 2}, Seq: 5,
		Updated: time.Unix(1700000000, 0)}.MarshalBinary()
	f.Add(seed)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 1, 0, 0, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r consent.Record
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		// Whatever decodes must encode back to the same bytes.
		out, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded record %+v does not encode: %v", r, err)
		}
		var again consent.Record
		if err := again.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again.State != r.State || again.Seq != r.Seq || again.Requests != r.Requests || !again.Updated.Equal(r.Updated) {
			t.Fatalf("round trip changed %+v into %+v", r, again)
		}
	})
}

func TestTransitionIsPure(t *testing.T) {
	before := consent.Record{State: consent.StateRequested, Requests: 1, RequestFrom: [2]string{"+18885550100"},
		RequestSeq: [2]uint32{1}, Seq: 1}
	ev := consent.Event{Kind: consent.EventYes, Account: "a", Number: "+12015550101", TollFree: "+18885550100",
		Time: time.Unix(100, 0)}
	a1, e1 := consent.Transition(before, ev)
	a2, e2 := consent.Transition(before, ev)
	if a1 != a2 || e1 != e2 {
		t.Errorf("two calls differ: %+v/%+v and %+v/%+v", a1, e1, a2, e2)
	}
	if before.State != consent.StateRequested || before.Seq != 1 {
		t.Errorf("Transition changed its input: %+v", before)
	}
	if a1.State != consent.StateOptedIn || a1.Seq != 2 || !a1.Updated.Equal(ev.Time) || e1.AnswersSeq != 1 {
		t.Errorf("YES after request: record %+v effect %+v", a1, e1)
	}
	// An ignored event advances only the audit sequence.
	ig, eff := consent.Transition(a1, ev)
	if eff.Changed || ig.Seq != 3 || !ig.Updated.Equal(a1.Updated) || ig.State != consent.StateOptedIn {
		t.Errorf("repeated YES: record %+v effect %+v", ig, eff)
	}
}
