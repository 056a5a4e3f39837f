package consent

import (
	"testing"
)

// Two commits to one pair can reach the in-memory index in either order;
// the older one must not overwrite the newer.
func TestIndexKeepsNewerRecord(t *testing.T) {
	ix := newRecordIndex()
	k := Key{Account: "a", Number: "+12015550101"}
	ix.putNewer(k, Record{State: StateOptedOut, Seq: 5})
	ix.putNewer(k, Record{State: StateOptedIn, Seq: 4})
	if r := ix.get(k); r.State != StateOptedOut || r.Seq != 5 {
		t.Errorf("index holds %+v, want the seq 5 opt-out", r)
	}
	ix.putNewer(k, Record{State: StateOptedIn, Seq: 6})
	if r := ix.get(k); r.Seq != 6 {
		t.Errorf("index holds seq %d, want 6", r.Seq)
	}
}

func TestIndexNumberKeys(t *testing.T) {
	ix := newRecordIndex()
	keys := []string{"+12015550101", "+1201555010", "+012015550101", "12015550101", "+1201555010a", "x", "+999999999999999"}
	for i, n := range keys {
		ix.put(Key{Account: "a", Number: n}, Record{Seq: uint32(i + 1)})
	}
	for i, n := range keys {
		if r := ix.get(Key{Account: "a", Number: n}); r.Seq != uint32(i+1) {
			t.Errorf("get(%q) = seq %d, want %d", n, r.Seq, i+1)
		}
		if r := ix.get(Key{Account: "b", Number: n}); !r.IsZero() {
			t.Errorf("get(%q) in another account = %+v", n, r)
		}
	}
	if _, ok := numberKey("+12015550101"); !ok {
		t.Error("numberKey rejected an E.164 number")
	}
	for _, n := range []string{"+0123", "+", "+1234567890123456", "1234"} {
		if _, ok := numberKey(n); ok {
			t.Errorf("numberKey(%q) accepted a non-E.164 key", n)
		}
	}
}
