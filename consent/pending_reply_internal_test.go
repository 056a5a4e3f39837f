package consent

import (
	"errors"
	"testing"
	"time"
)

func TestRedisRecordPendingReplyFormat(t *testing.T) {
	since := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	plain := Record{State: StateOptedOut, Prior: StateOptedIn, Seq: 3, Source: SourceSMPP, Updated: since}
	withPending := plain
	withPending.PendingReply, withPending.PendingSince = ReplyOptOut, since

	b1, err := appendRedisRecord(nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	if format := b1[1] >> redisFormatShift; format != redisRecordFormat {
		t.Errorf("record without a pending reply has format %d, want %d", format, redisRecordFormat)
	}
	b2, err := appendRedisRecord(nil, withPending)
	if err != nil {
		t.Fatal(err)
	}
	if format := b2[1] >> redisFormatShift; format != redisRecordFormatPending {
		t.Errorf("record with a pending reply has format %d, want %d", format, redisRecordFormatPending)
	}
	got, err := decodeRedisRecord(b2)
	if err != nil {
		t.Fatalf("decode format 2: %v", err)
	}
	if got != storedForm(withPending) {
		t.Errorf("format 2 round trip gave %+v, want %+v", got, storedForm(withPending))
	}

	bad := append([]byte(nil), b2...)
	bad[2] = byte(ReplyHelp)
	if _, err := decodeRedisRecord(bad); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("pending HELP reply: error %v, want ErrCorruptRecord", err)
	}
	for i := 2; i < len(b2); i++ {
		if _, err := decodeRedisRecord(b2[:i]); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("format 2 truncated to %d bytes: error %v, want ErrCorruptRecord", i, err)
		}
	}
	noTime := withPending
	noTime.PendingSince = time.Time{}
	if _, err := appendRedisRecord(nil, noTime); err == nil {
		t.Error("encode accepted a pending reply without a time")
	}
}
