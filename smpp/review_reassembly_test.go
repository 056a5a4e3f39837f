package smpp

import (
	"runtime"
	"testing"
)

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestReassemblyHalfFinishedSetsStayCheap(t *testing.T) {
	// A peer opens many messages that announce 255 segments and sends
	// one octet of each. The memory held must follow what arrived, not
	// what was announced.
	const sets = 2000
	r := NewReassembler(ReassemblyConfig{MaxSets: sets})
	before := liveHeap()
	for ref := range sets {
		key := PartKey{Session: "smsc-a", Source: "12015550101", Destination: "18005550100",
			Ref: uint16(ref), Total: 255}
		if _, err := r.Add(Part{Key: key, Seq: 1, Body: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	grown := int64(liveHeap()) - int64(before)
	runtime.KeepAlive(r)
	if st := r.Stats(); st.Open != sets || st.Bytes != sets {
		t.Fatalf("stats = %+v, want %d open sets of one octet", st, sets)
	}
	// About 1 KiB per set covers the key, the set, one segment and the
	// map and list entries.
	if limit := int64(sets * 1024); grown > limit {
		t.Errorf("%d half-finished sets hold %d bytes of heap, want at most %d", sets, grown, limit)
	}
}

func TestReassemblySparseSetsComplete(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	key := PartKey{Session: "smsc-a", Source: "12015550101", Destination: "18005550100", Ref: 9, Total: 4}
	for _, seq := range []uint8{3, 1, 4} {
		if msg, err := r.Add(Part{Key: key, Seq: seq, Body: []byte{'a' + seq - 1}}); msg != nil || err != nil {
			t.Fatalf("Add segment %d = %v, %v; want nil, nil", seq, msg, err)
		}
	}
	if msg, _ := r.Add(Part{Key: key, Seq: 3, Body: []byte("c")}); msg != nil {
		t.Fatal("duplicate segment completed the message")
	}
	msg, err := r.Add(Part{Key: key, Seq: 2, Body: []byte("b")})
	if err != nil || msg == nil {
		t.Fatalf("Add last segment = %v, %v; want the message", msg, err)
	}
	if got := string(msg.Body()); got != "abcd" {
		t.Errorf("body = %q, want %q", got, "abcd")
	}
	if st := r.Stats(); st.Duplicates != 1 || st.Bytes != 0 || st.Open != 0 {
		t.Errorf("stats = %+v, want one duplicate and nothing held", st)
	}
}
