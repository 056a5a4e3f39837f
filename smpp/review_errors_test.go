package smpp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIdleTimeoutCloseMatchesSentinels(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks, InactivityTimeout: 100 * time.Millisecond})
	p := dialRaw(t, addr)
	p.bindRaw()
	err := waitClosed(t, closed)
	if !errors.Is(err, ErrIdleTimeout) || !errors.Is(err, ErrClosed) {
		t.Errorf("close reason %v, want ErrIdleTimeout and ErrClosed", err)
	}
}

func TestNeverBoundCloseMatchesSentinels(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks, InactivityTimeout: 100 * time.Millisecond})
	dialRaw(t, addr)
	err := waitClosed(t, closed)
	if !errors.Is(err, ErrIdleTimeout) || !errors.Is(err, ErrClosed) {
		t.Errorf("close reason %v, want ErrIdleTimeout and ErrClosed", err)
	}
	if !strings.Contains(err.Error(), "not bound") {
		t.Errorf("close reason %q does not say the peer never bound", err)
	}
}

func TestPeerUnbindCloseMatchesSentinels(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks})
	p := dialRaw(t, addr)
	p.bindRaw()
	p.send(&Unbind{Header: Header{SequenceNumber: 2}})
	p.expect(UnbindRespID, StatusOK, 2)
	err := waitClosed(t, closed)
	if !errors.Is(err, ErrUnbound) || !errors.Is(err, ErrClosed) {
		t.Errorf("close reason %v, want ErrUnbound and ErrClosed", err)
	}
}

func TestBindRejectionMatchesStatusError(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{})
	cfg := testClientConfig(addr)
	cfg.Password = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, cfg)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusInvalidPassword {
		t.Fatalf("Dial error = %v, want a StatusError with ESME_RINVPASWD", err)
	}
	if !errors.Is(err, ErrNotBound) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error = %v, want ErrNotBound and context.DeadlineExceeded too", err)
	}
	if StatusOf(err) != StatusInvalidPassword {
		t.Errorf("StatusOf = %v, want ESME_RINVPASWD", StatusOf(err))
	}
}

func TestDecodeErrorMatchesSentinels(t *testing.T) {
	tests := []struct {
		name   string
		wire   string
		target error
		status CommandStatus
	}{
		{"unknown command_id", "00000010 00000099 00000000 00000001", ErrUnknownCommandID, StatusInvalidCommandID},
		{"length below header", "0000000c 00000015 00000000 00000001", ErrInvalidCommandLength,
			StatusInvalidCommandLength},
		{"truncated bind", "00000012 00000009 00000000 00000001 4142", ErrTruncated, StatusInvalidCommandLength},
		{"over-long system_id", "00000020 00000009 00000000 00000001 41424344 45464748 494a4b4c 4d4e4f50",
			ErrFieldTooLong, StatusInvalidSystemID},
		{"bad TLV stream", "00000015 00000015 00000000 00000001 0102 0003 41", ErrInvalidTLVStream,
			StatusInvalidTLVStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodePDU(hexWords(t, tt.wire))
			if !errors.Is(err, tt.target) {
				t.Errorf("DecodePDU error = %v, want %v", err, tt.target)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Status != tt.status {
				t.Errorf("DecodePDU error = %v, want a DecodeError with %v", err, tt.status)
			}
			if StatusOf(err) != tt.status {
				t.Errorf("StatusOf = %v, want %v", StatusOf(err), tt.status)
			}
		})
	}
}

func TestCloseWithExpiredContextCountsNoPhantoms(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler})
	for range 20 {
		c, err := Dial(testCtx(t), testClientConfig(addr))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		// Nothing is in flight, so whatever Close returns must not say
		// otherwise.
		if err := c.Close(ctx); err != nil && strings.Contains(err.Error(), "in flight") {
			t.Fatalf("Close of an idle client: %v", err)
		}
	}
}
