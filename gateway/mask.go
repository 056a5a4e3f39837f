package gateway

import (
	"sync/atomic"
	"time"
)

// MaskNumber hides two digits of a subscriber number for logs, because
// phone numbers are personal data: "+12015550101" becomes "+1201555**01".
// The area and exchange stay readable for tracing a route. Numbers shorter
// than five characters are masked whole.
func MaskNumber(number string) string {
	if len(number) < 5 {
		return "****"
	}
	b := []byte(number)
	n := len(b)
	b[n-4], b[n-3] = '*', '*'
	return string(b)
}

// numberMasker returns MaskNumber, or the identity when masking is off.
func numberMasker(mask bool) func(string) string {
	if mask {
		return MaskNumber
	}
	return func(s string) string { return s }
}

// logLimiter lets a repeated log line through at most once a second, so a
// misbehaving peer cannot flood the log. Metrics still count every case.
type logLimiter struct {
	last atomic.Int64 // Unix nanoseconds of the last line let through
}

// allow reports whether a line may be written now.
func (l *logLimiter) allow() bool {
	now := time.Now().UnixNano()
	last := l.last.Load()
	return now-last >= int64(time.Second) && l.last.CompareAndSwap(last, now)
}
