package smpp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// fakeClock is a settable time source for ReassemblyConfig.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// dropLog records OnDrop calls.
type dropLog struct {
	mu      sync.Mutex
	msgs    []Assembled
	reasons []DropReason
}

func (l *dropLog) record(a Assembled, r DropReason) {
	l.mu.Lock()
	l.msgs = append(l.msgs, a)
	l.reasons = append(l.reasons, r)
	l.mu.Unlock()
}

func testKey(ref uint16, total uint8) PartKey {
	return PartKey{Session: "smsc-a", Source: "12015550101", Destination: "18885550100", Ref: ref, Total: total}
}

func gsmPart(t *testing.T, key PartKey, seq uint8, text string) Part {
	t.Helper()
	body, err := EncodeGSM(text)
	if err != nil {
		t.Fatal(err)
	}
	return Part{Key: key, Seq: seq, Coding: CodingDefault, Body: body}
}

func TestReassembleOutOfOrder(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	key := testKey(0xAB, 3)
	for _, p := range []Part{gsmPart(t, key, 3, "three"), gsmPart(t, key, 1, "one "), gsmPart(t, key, 2, "two ")} {
		msg, err := r.Add(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Seq != 2 {
			if msg != nil {
				t.Fatalf("message complete after segment %d", p.Seq)
			}
			continue
		}
		if msg == nil {
			t.Fatal("message not complete after the last segment")
		}
		text, err := msg.Text(TextOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if text != "one two three" {
			t.Errorf("text = %q, want %q", text, "one two three")
		}
		if !msg.Complete() || len(msg.Missing()) != 0 {
			t.Errorf("Complete() = %v, Missing() = %v", msg.Complete(), msg.Missing())
		}
	}
	if st := r.Stats(); st.Open != 0 || st.Bytes != 0 || st.Completed != 1 {
		t.Errorf("stats after completion = %+v", st)
	}
}

func TestReassembleDropsDuplicates(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	key := testKey(1, 2)
	if msg, _ := r.Add(gsmPart(t, key, 1, "first ")); msg != nil {
		t.Fatal("complete after one of two segments")
	}
	if msg, _ := r.Add(gsmPart(t, key, 1, "other ")); msg != nil {
		t.Fatal("a duplicate completed the message")
	}
	msg, err := r.Add(gsmPart(t, key, 2, "second"))
	if err != nil || msg == nil {
		t.Fatalf("Add = %v, %v; want the complete message", msg, err)
	}
	if text, _ := msg.Text(TextOptions{}); text != "first second" {
		t.Errorf("text = %q, want the first copy of segment 1", text)
	}
	if st := r.Stats(); st.Duplicates != 1 {
		t.Errorf("stats = %+v, want 1 duplicate", st)
	}
}

func TestReassembleDropsLateDuplicates(t *testing.T) {
	clock := newFakeClock()
	var drops dropLog
	r := NewReassembler(ReassemblyConfig{Timeout: time.Minute, Now: clock.Now, OnDrop: drops.record})
	key := testKey(1, 2)
	r.Add(gsmPart(t, key, 1, "first "))
	if msg, _ := r.Add(gsmPart(t, key, 2, "second")); msg == nil {
		t.Fatal("message not complete")
	}
	// The SMSC resends both segments after completion.
	for _, p := range []Part{gsmPart(t, key, 2, "second"), gsmPart(t, key, 1, "first ")} {
		if msg, _ := r.Add(p); msg != nil {
			t.Fatalf("resent segment %d completed a second message", p.Seq)
		}
	}
	if st := r.Stats(); st.Duplicates != 2 || st.Open != 0 {
		t.Errorf("stats = %+v, want 2 duplicates and nothing open", st)
	}
	clock.Advance(2 * time.Minute)
	r.Sweep()
	if len(drops.msgs) != 0 {
		t.Errorf("late duplicates were reported as %d dropped messages", len(drops.msgs))
	}
}

func TestReassembleReusedReference(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	key := testKey(1, 2)
	r.Add(gsmPart(t, key, 1, "old "))
	r.Add(gsmPart(t, key, 2, "message"))
	r.Add(gsmPart(t, key, 2, "text"))
	msg, _ := r.Add(gsmPart(t, key, 1, "new "))
	if msg == nil {
		t.Fatal("a new message with a reused reference did not complete")
	}
	if text, _ := msg.Text(TextOptions{}); text != "new text" {
		t.Errorf("text = %q, want %q", text, "new text")
	}
}

func TestReassembleSingleSegment(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	msg, err := r.Add(gsmPart(t, testKey(9, 1), 1, "alone"))
	if err != nil || msg == nil {
		t.Fatalf("Add = %v, %v", msg, err)
	}
	if r.Stats().Open != 0 {
		t.Error("single segment held open")
	}
}

func TestReassembleInvalidNumbers(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	for _, p := range []Part{
		{Key: testKey(1, 0), Seq: 1},
		{Key: testKey(1, 2), Seq: 0},
		{Key: testKey(1, 2), Seq: 3},
	} {
		if _, err := r.Add(p); !errors.Is(err, ErrInvalidSegment) {
			t.Errorf("Add(seq %d of %d) error = %v, want ErrInvalidSegment", p.Seq, p.Key.Total, err)
		}
	}
}

func TestReassembleKeysKeepMessagesApart(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	base := testKey(5, 2)
	variants := []PartKey{base, base, base, base, base}
	variants[1].Session = "smsc-b"
	variants[2].Source = "12015550102"
	variants[3].Destination = "18005550100"
	variants[4].Total = 3
	for i, k := range variants {
		if msg, _ := r.Add(gsmPart(t, k, 1, fmt.Sprint(i))); msg != nil {
			t.Fatalf("variant %d completed with one segment", i)
		}
	}
	if n := r.Stats().Open; n != len(variants) {
		t.Errorf("open sets = %d, want %d", n, len(variants))
	}
}

func TestReassembleTimeout(t *testing.T) {
	clock := newFakeClock()
	var drops dropLog
	r := NewReassembler(ReassemblyConfig{Timeout: time.Minute, Now: clock.Now, OnDrop: drops.record})
	key := testKey(7, 3)
	r.Add(gsmPart(t, key, 1, "a"))
	r.Add(gsmPart(t, key, 3, "c"))
	clock.Advance(59 * time.Second)
	if n := r.Sweep(); n != 0 {
		t.Fatalf("Sweep before timeout dropped %d", n)
	}
	clock.Advance(time.Second)
	if n := r.Sweep(); n != 1 {
		t.Fatalf("Sweep at timeout dropped %d, want 1", n)
	}
	if len(drops.msgs) != 1 || drops.reasons[0] != DropExpired {
		t.Fatalf("OnDrop calls = %d, reasons %v", len(drops.msgs), drops.reasons)
	}
	got := drops.msgs[0]
	if got.Key != key || len(got.Parts) != 2 || got.Complete() {
		t.Errorf("dropped %+v", got)
	}
	if missing := got.Missing(); len(missing) != 1 || missing[0] != 2 {
		t.Errorf("Missing() = %v, want [2]", missing)
	}
	if text, _ := got.Text(TextOptions{}); text != "ac" {
		t.Errorf("partial text = %q, want %q", text, "ac")
	}
	if msg, _ := r.Add(gsmPart(t, key, 2, "b")); msg != nil {
		t.Error("segment after expiry completed the dropped message")
	}
	if st := r.Stats(); st.Expired != 1 || st.Open != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReassembleAddExpiresLazily(t *testing.T) {
	clock := newFakeClock()
	var drops dropLog
	r := NewReassembler(ReassemblyConfig{Timeout: time.Minute, Now: clock.Now, OnDrop: drops.record})
	r.Add(gsmPart(t, testKey(1, 2), 1, "old"))
	clock.Advance(2 * time.Minute)
	r.Add(gsmPart(t, testKey(2, 2), 1, "new"))
	if len(drops.msgs) != 1 || drops.msgs[0].Key.Ref != 1 {
		t.Fatalf("drops = %+v, want the old message", drops.msgs)
	}
}

func TestReassembleEvictsOldestSet(t *testing.T) {
	clock := newFakeClock()
	var drops dropLog
	r := NewReassembler(ReassemblyConfig{MaxSets: 2, Now: clock.Now, OnDrop: drops.record})
	for ref := uint16(1); ref <= 3; ref++ {
		r.Add(gsmPart(t, testKey(ref, 2), 1, "x"))
		clock.Advance(time.Second)
	}
	if len(drops.msgs) != 1 || drops.msgs[0].Key.Ref != 1 || drops.reasons[0] != DropEvicted {
		t.Fatalf("drops = %+v %v, want ref 1 evicted", drops.msgs, drops.reasons)
	}
	if st := r.Stats(); st.Open != 2 || st.Evicted != 1 {
		t.Errorf("stats = %+v", st)
	}
	if msg, _ := r.Add(gsmPart(t, testKey(3, 2), 2, "y")); msg == nil {
		t.Error("newest message was not kept")
	}
}

func TestReassembleEvictsForBytes(t *testing.T) {
	var drops dropLog
	r := NewReassembler(ReassemblyConfig{MaxBytes: 10, OnDrop: drops.record})
	r.Add(gsmPart(t, testKey(1, 2), 1, "aaaa"))
	r.Add(gsmPart(t, testKey(2, 2), 1, "bbbb"))
	r.Add(gsmPart(t, testKey(3, 2), 1, "cccc"))
	if len(drops.msgs) != 1 || drops.msgs[0].Key.Ref != 1 {
		t.Fatalf("drops = %+v, want ref 1", drops.msgs)
	}
	if st := r.Stats(); st.Bytes != 8 || st.Open != 2 {
		t.Errorf("stats = %+v, want 8 bytes in 2 sets", st)
	}
	// A segment that needs the room of its own message's first part
	// evicts that message too and starts it again.
	r.Add(gsmPart(t, testKey(3, 2), 2, "dddddddddd"))
	if st := r.Stats(); st.Bytes != 10 || st.Evicted != 3 {
		t.Errorf("stats = %+v, want 10 bytes and 3 evictions", st)
	}
	if _, err := r.Add(gsmPart(t, testKey(4, 2), 1, "eeeeeeeeeee")); !errors.Is(err, ErrSegmentTooLarge) {
		t.Errorf("oversized segment error = %v, want ErrSegmentTooLarge", err)
	}
}

func TestReassembleCopiesBody(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	body := []byte("abc")
	r.Add(Part{Key: testKey(1, 2), Seq: 1, Body: body})
	body[0] = 'X'
	msg, _ := r.Add(Part{Key: testKey(1, 2), Seq: 2, Body: []byte("d")})
	if got := string(msg.Body()); got != "abcd" {
		t.Errorf("body = %q, want %q", got, "abcd")
	}
}

func TestReassembleJoinsSplitEscape(t *testing.T) {
	// A sender that splits an escape from its character across segments.
	r := NewReassembler(ReassemblyConfig{})
	r.Add(Part{Key: testKey(1, 2), Seq: 1, Body: []byte{'a', gsmEscape}})
	msg, _ := r.Add(Part{Key: testKey(1, 2), Seq: 2, Body: []byte{0x65, 'b'}})
	if text, err := msg.Text(TextOptions{}); err != nil || text != "a€b" {
		t.Errorf("text = %q, %v; want %q", text, err, "a€b")
	}
}

func TestReassembleMixedCodings(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	r.Add(Part{Key: testKey(1, 2), Seq: 1, Coding: CodingDefault, Body: []byte("ab")})
	msg, _ := r.Add(Part{Key: testKey(1, 2), Seq: 2, Coding: CodingUCS2, Body: []byte{0x04, 0x36}})
	if text, err := msg.Text(TextOptions{}); err != nil || text != "abж" {
		t.Errorf("text = %q, %v; want %q", text, err, "abж")
	}
}

func TestReassembleConcurrent(t *testing.T) {
	r := NewReassembler(ReassemblyConfig{})
	const messages, total = 50, 4
	var wg sync.WaitGroup
	var mu sync.Mutex
	completed := map[uint16]string{}
	for seq := uint8(1); seq <= total; seq++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := uint16(0); ref < messages; ref++ {
				msg, err := r.Add(Part{Key: testKey(ref, total), Seq: seq, Body: []byte{'0' + seq}})
				if err != nil {
					t.Error(err)
					return
				}
				if msg != nil {
					text, _ := msg.Text(TextOptions{})
					mu.Lock()
					completed[ref] = text
					mu.Unlock()
				}
				r.Stats()
			}
		}()
	}
	wg.Wait()
	if len(completed) != messages {
		t.Fatalf("completed %d messages, want %d", len(completed), messages)
	}
	for ref, text := range completed {
		if text != "1234" {
			t.Errorf("message %d text = %q, want %q", ref, text, "1234")
		}
	}
}

// segmentParts turns split segments back into reassembly parts the way a
// receiver does: from the UDH, or from the SAR values for SplitSAR.
func segmentParts(t *rapid.T, segs []Segment, coding DataCoding, opts SplitOptions) []Part {
	parts := make([]Part, 0, len(segs))
	for _, s := range segs {
		ud, err := ParseUserData(coding, s.Data, s.UDHI, opts.Text)
		if err != nil {
			t.Fatalf("ParseUserData: %v", err)
		}
		part := s.Part
		if s.UDHI {
			c, ok := ud.Header.Concat()
			if !ok {
				t.Fatalf("segment without concatenation element")
			}
			part = c
		}
		if part.Total == 0 {
			part = ConcatInfo{Total: 1, Seq: 1}
		}
		key := PartKey{Session: "s", Source: "12015550101", Destination: "18885550100",
			Ref: part.Ref, Total: part.Total}
		parts = append(parts, Part{Key: key, Seq: part.Seq, Coding: coding, Body: ud.Body})
	}
	return parts
}

func TestSplitReassembleProperty(t *testing.T) {
	alphabet := append(gsmRunes(), 'ж', '😀', '…', 'é')
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 800).Draw(t, "length")
		text := rapid.StringOfN(rapid.SampledFrom(alphabet), n, n, -1).Draw(t, "text")
		if rapid.Bool().Draw(t, "gsm only") {
			text = strings.Map(func(r rune) rune {
				if GSMFitsRune(r) {
					return r
				}
				return '?'
			}, text)
		}
		_, coding := CountSegments(text)
		opts := SplitOptions{
			Mode: rapid.SampledFrom([]SplitMode{SplitUDH, SplitUDH16, SplitSAR}).Draw(t, "mode"),
			Text: TextOptions{Packed: rapid.Bool().Draw(t, "packed")},
			Refs: fixedRef(rapid.Uint16().Draw(t, "ref")),
		}
		if opts.Text.Packed {
			// Packed data has no septet count, so a carriage return that
			// ends a segment on an octet boundary reads as padding.
			text = strings.ReplaceAll(text, "\r", "?")
		}
		segs, err := SplitText(text, coding, opts)
		if err != nil {
			t.Fatalf("SplitText: %v", err)
		}
		parts := segmentParts(t, segs, coding, opts)

		// Deliver in a random order with random duplicates.
		order := rapid.Permutation(parts).Draw(t, "order")
		dups := rapid.SliceOfN(rapid.IntRange(0, len(parts)-1), 0, 5).Draw(t, "duplicates")
		for _, i := range dups {
			order = append(order, parts[i])
		}
		r := NewReassembler(ReassemblyConfig{})
		var done []*Assembled
		for _, p := range order {
			msg, err := r.Add(p)
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			if msg != nil {
				done = append(done, msg)
			}
		}
		if len(parts) > 1 && len(done) != 1 {
			t.Fatalf("%d segments completed %d messages, want 1", len(parts), len(done))
		}
		got, err := done[0].Text(opts.Text)
		if err != nil {
			t.Fatalf("Text: %v", err)
		}
		if got != text {
			t.Fatalf("reassembled %q, want %q", got, text)
		}
	})
}

func ExampleReassembler() {
	r := NewReassembler(ReassemblyConfig{Timeout: 2 * time.Minute})
	key := PartKey{Session: "smsc-a", Source: "12015550101", Destination: "18885550100", Ref: 0xAB, Total: 2}
	for _, p := range []Part{
		{Key: key, Seq: 2, Coding: CodingDefault, Body: []byte(" part two")},
		{Key: key, Seq: 1, Coding: CodingDefault, Body: []byte("Hello from part one,")},
	} {
		msg, err := r.Add(p)
		if err != nil || msg == nil {
			continue
		}
		text, _ := msg.Text(TextOptions{})
		fmt.Println(text)
	}
	// Output:
	// Hello from part one, part two
}
