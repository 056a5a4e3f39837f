package consent

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// storedForm is r as the Redis store returns it: Updated and PendingSince
// in whole seconds, in UTC.
func storedForm(r Record) Record {
	if !r.Updated.IsZero() {
		r.Updated = time.Unix(r.Updated.Unix(), 0).UTC()
	}
	if !r.PendingSince.IsZero() {
		r.PendingSince = time.Unix(r.PendingSince.Unix(), 0).UTC()
	}
	return r
}

// drawTollFree returns a US/CA toll-free number most of the time, and
// sometimes another string a request could carry.
func drawTollFree(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) string {
			area := rapid.SampledFrom(tollFreeAreaCodes[:]).Draw(t, "area")
			return "+1" + area + rapid.StringMatching(`[0-9]{7}`).Draw(t, "line")
		}),
		rapid.SampledFrom([]string{"", "+18225550100", "+442071838750", "+1888555010", "+1888555010x"}),
		rapid.StringN(0, 32, 32),
	).Draw(t, label)
}

func drawTime(t *rapid.T, label string) time.Time {
	// From 1900 to 2200, with a random sub-second part.
	sec := rapid.Int64Range(-2208988800, 7258118400).Draw(t, label+" seconds")
	nsec := rapid.Int64Range(0, 999_999_999).Draw(t, label+" nanoseconds")
	return time.Unix(sec, nsec)
}

func drawEvent(t *rapid.T) Event {
	ev := Event{
		Kind:     EventKind(rapid.IntRange(int(EventRequest), int(eventKindEnd)-1).Draw(t, "kind")),
		Account:  "acct-1",
		Number:   "+12015550101",
		TollFree: drawTollFree(t, "toll-free"),
		Source:   Source(rapid.IntRange(0, int(sourceCount)-1).Draw(t, "source")),
		Time:     drawTime(t, "time"),
	}
	if ev.Kind == EventImport {
		ev.Import = rapid.SampledFrom([]State{StateOptedIn, StateOptedOut, StateVoided}).Draw(t, "import")
	}
	if ev.Kind == EventReplyQueued {
		ev.Reply = rapid.SampledFrom([]Reply{ReplyOptOut, ReplyOptIn, ReplyResume}).Draw(t, "queued reply")
	}
	return ev
}

func TestRedisRecordRoundTripAfterEvents(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r Record
		steps := rapid.IntRange(0, 12).Draw(t, "steps")
		for range steps {
			r, _ = Transition(r, drawEvent(t))
			if r.Seq > 3 && rapid.Bool().Draw(t, "jump seq") {
				r.Seq = rapid.Uint32Min(r.Seq).Draw(t, "seq")
			}
			b, err := appendRedisRecord(nil, r)
			if err != nil {
				t.Fatalf("encode %+v: %v", r, err)
			}
			got, err := decodeRedisRecord(b)
			if err != nil {
				t.Fatalf("decode %x of %+v: %v", b, r, err)
			}
			if want := storedForm(r); got != want {
				t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, want)
			}
		}
	})
}

func TestRedisRecordRoundTripAnyRecord(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := Record{
			State:    State(rapid.IntRange(0, int(stateCount)-1).Draw(t, "state")),
			Prior:    State(rapid.IntRange(0, int(stateCount)-1).Draw(t, "prior")),
			Requests: uint8(rapid.IntRange(0, MaxRequests).Draw(t, "requests")),
			Seq:      rapid.Uint32().Draw(t, "seq"),
			Source:   Source(rapid.IntRange(0, int(sourceCount)-1).Draw(t, "source")),
			PendingReply: rapid.SampledFrom([]Reply{ReplyNone, ReplyOptOut, ReplyOptIn, ReplyResume}).
				Draw(t, "pending reply"),
		}
		if rapid.Bool().Draw(t, "has time") {
			r.Updated = drawTime(t, "updated")
		}
		if r.PendingReply != ReplyNone {
			r.PendingSince = drawTime(t, "pending since")
		}
		for i := range int(r.Requests) {
			r.RequestFrom[i] = drawTollFree(t, "from")
			r.RequestSeq[i] = rapid.Uint32().Draw(t, "request seq")
		}
		b, err := appendRedisRecord(nil, r)
		if err != nil {
			t.Fatalf("encode %+v: %v", r, err)
		}
		if len(b) > maxRedisRecordBytes {
			t.Fatalf("encoded %d bytes, above maxRedisRecordBytes %d", len(b), maxRedisRecordBytes)
		}
		got, err := decodeRedisRecord(b)
		if err != nil {
			t.Fatalf("decode %x of %+v: %v", b, r, err)
		}
		if want := storedForm(r); got != want {
			t.Fatalf("round trip changed the record:\n got %+v\nwant %+v", got, want)
		}
	})
}

// commonRecords are the records most numbers hold, built by the rules from
// events at realistic times. Each confirmation is marked queued, as the
// gateway does right after the event, so no reply is pending.
func commonRecords(t testing.TB) map[string]Record {
	t.Helper()
	now := time.Date(2026, 3, 2, 15, 4, 5, 123456789, time.UTC)
	run := func(kinds ...EventKind) Record {
		var r Record
		for i, k := range kinds {
			ev := Event{Kind: k, TollFree: "+18885550100", Source: SourceSMPP, Time: now.Add(time.Duration(i) * time.Hour)}
			if i == 1 && k == EventRequest {
				ev.TollFree = "+18005550100"
			}
			var eff Effect
			r, eff = Transition(r, ev)
			if !eff.Changed {
				t.Fatalf("event %d (%s) changed nothing", i, k)
			}
			if eff.Reply != ReplyNone {
				ev.Kind, ev.Reply = EventReplyQueued, eff.Reply
				if r, eff = Transition(r, ev); eff.Outcome != OutcomeReplyQueued {
					t.Fatalf("event %d (%s): reply %s not marked queued: %+v", i, k, ev.Reply, eff)
				}
			}
		}
		return r
	}
	return map[string]Record{
		"requested once":         run(EventRequest),
		"requested twice":        run(EventRequest, EventRequest),
		"opted in, one request":  run(EventRequest, EventYes),
		"opted in, two requests": run(EventRequest, EventRequest, EventYes),
		"opted out, no request":  run(EventStop),
		"opted out after opt-in": run(EventRequest, EventYes, EventStop),
	}
}

func TestRedisRecordSize(t *testing.T) {
	want := map[string]int{
		"requested once":         12,
		"requested twice":        17,
		"opted in, one request":  12,
		"opted in, two requests": 17,
		"opted out, no request":  7,
		"opted out after opt-in": 12,
	}
	for name, r := range commonRecords(t) {
		b, err := appendRedisRecord(nil, r)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		shared, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: shared encoding: %v", name, err)
		}
		if len(b) != want[name] {
			t.Errorf("%s: %d bytes, want %d (shared encoding: %d bytes)", name, len(b), want[name], len(shared))
		}
	}
}

func TestRedisRecordMaxSize(t *testing.T) {
	longest := Record{
		State: StateOptedIn, Requests: MaxRequests, Seq: 1<<32 - 1, Source: SourceAPI, PendingReply: ReplyOptIn,
		Updated:      time.Unix(redisEpoch-maxRedisEpochOffset, 0),
		PendingSince: time.Unix(redisEpoch-maxRedisEpochOffset, 0),
		RequestSeq:   [MaxRequests]uint32{1<<32 - 1, 1<<32 - 1},
	}
	compact := longest
	compact.RequestFrom = [MaxRequests]string{"+18889999999", "+18889999999"}
	raw := longest
	raw.RequestFrom = [MaxRequests]string{strings.Repeat("9", maxEncodedNumber), strings.Repeat("8", maxEncodedNumber)}
	for _, tc := range []struct {
		name string
		r    Record
		want int
	}{
		{"toll-free requests", compact, maxCompactRedisRecord},
		{"raw requests", raw, maxRedisRecordBytes},
	} {
		b, err := appendRedisRecord(nil, tc.r)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(b) != tc.want {
			t.Errorf("%s: longest record is %d bytes, want %d", tc.name, len(b), tc.want)
		}
	}
	// The documented sizes, and the listpack limit that keeps them compact.
	if maxCompactRedisRecord != 38 || maxRedisRecordBytes != 96 {
		t.Errorf("longest records are %d and %d bytes, documented as 38 and 96", maxCompactRedisRecord, maxRedisRecordBytes)
	}
	if maxRedisRecordBytes > RedisListpackValue {
		t.Errorf("RedisListpackValue %d is below the longest record, %d bytes", RedisListpackValue, maxRedisRecordBytes)
	}
}

func TestRedisRecordEncodeRejects(t *testing.T) {
	cases := map[string]Record{
		"bad state":          {State: stateCount},
		"bad prior":          {Prior: 7},
		"bad source":         {Source: sourceCount},
		"too many requests":  {Requests: MaxRequests + 1},
		"stale request slot": {Requests: 1, RequestFrom: [MaxRequests]string{"+18885550100", "+18005550100"}},
		"stale request seq":  {RequestSeq: [MaxRequests]uint32{4}},
		"long toll-free":     {Requests: 1, RequestFrom: [MaxRequests]string{strings.Repeat("9", maxEncodedNumber+1)}},
		"time too late":      {Updated: time.Date(50000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"time too early":     {Updated: time.Date(-40000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, r := range cases {
		if b, err := appendRedisRecord(nil, r); err == nil {
			t.Errorf("%s: encoded %+v as %x, want an error", name, r, b)
		}
	}
}

func TestRedisRecordDecodeRejects(t *testing.T) {
	valid, err := appendRedisRecord(nil, commonRecords(t)["requested twice"])
	if err != nil {
		t.Fatal(err)
	}
	const format = redisRecordFormat << redisFormatShift
	cases := map[string][]byte{
		"empty":             nil,
		"short":             {0, format},
		"unknown format":    {0, 2 << redisFormatShift, 1},
		"bad state":         {7, format, 1},
		"bad prior":         {7 << redisPriorShift, format, 1},
		"three requests":    {3 << redisRequestsShift, format, 1},
		"bad source":        {0, format | 7, 1},
		"raw flag unused":   {0, format | redisFlagRaw1, 1},
		"second raw unused": {1 << redisRequestsShift, format | redisFlagRaw2, 1, 0, 1},
		"truncated seq":     {0, format, 0x80},
		"seq over 32 bits":  {0, format, 0x80, 0x80, 0x80, 0x80, 0x10},
		"missing time":      {0, format | redisFlagTime, 1},
		"time out of range": {0, format | redisFlagTime, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"toll-free too big": append(binary.AppendUvarint([]byte{1 << redisRequestsShift, format, 1}, uint64(maxTollFreeCode)), 1),
		"raw too long":      {1 << redisRequestsShift, format | redisFlagRaw1, 1, 40},
		"raw past the end":  {1 << redisRequestsShift, format | redisFlagRaw1, 1, 5, '+', '1'},
		"missing request":   {1 << redisRequestsShift, format, 1},
		"trailing bytes":    append(append([]byte(nil), valid...), 0),
		"cut request seq":   valid[:len(valid)-1],
	}
	for name, b := range cases {
		r, err := decodeRedisRecord(b)
		if err == nil {
			t.Errorf("%s: decoded %x as %+v, want an error", name, b, r)
			continue
		}
		if !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("%s: error %v does not wrap ErrCorruptRecord", name, err)
		}
	}
}

func TestTollFreeCode(t *testing.T) {
	for _, tc := range []struct {
		number string
		code   int
		ok     bool
	}{
		{"+18005550100", 5550100, true},
		{"+18880000000", 6 * tollFreeLineCount, true},
		{"+18889999999", maxTollFreeCode - 1, true},
		{"+18225550100", 0, false}, // reserved, not in use
		{"+12015550101", 0, false},
		{"+1888555010", 0, false},
		{"+188855501000", 0, false},
		{"+1888555010a", 0, false},
		{"+1888-555010", 0, false},
		{"18885550100", 0, false},
		{"", 0, false},
	} {
		code, ok := tollFreeCode(tc.number)
		if code != tc.code || ok != tc.ok {
			t.Errorf("tollFreeCode(%q) = %d, %v; want %d, %v", tc.number, code, ok, tc.code, tc.ok)
		}
	}
}

func FuzzRedisRecordDecode(f *testing.F) {
	for _, r := range commonRecords(f) {
		b, err := appendRedisRecord(nil, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, redisRecordFormat << redisFormatShift, 0})
	f.Add([]byte{2 << redisRequestsShift, redisRecordFormat<<redisFormatShift | redisFlagRaw1 | redisFlagRaw2, 1, 1, 'x', 1, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRedisRecord(b)
		if err != nil {
			return
		}
		again, err := appendRedisRecord(nil, r)
		if err != nil {
			t.Fatalf("decoded %x as %+v, which does not encode: %v", b, r, err)
		}
		back, err := decodeRedisRecord(again)
		if err != nil || back != r {
			t.Fatalf("re-encoding %+v gave %x, decoded as %+v, %v", r, again, back, err)
		}
		if len(again) > len(b) {
			t.Fatalf("re-encoding %x took %d bytes, more than the %d decoded", b, len(again), len(b))
		}
	})
}
