package gateway

import (
	"sync/atomic"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// MaskNumber hides a subscriber number for logs, because phone numbers are
// personal data. It keeps the "+" and country code of an E.164 number and
// the last four digits, and writes one '*' for every other character:
// "+12015550101" becomes "+1******0101". A number too short for that
// shows at most half of what follows the country code, so "+4420" becomes
// "+44*0". A number without a known country code keeps only its tail.
func MaskNumber(number string) string {
	prefix := countryPrefix(number)
	rest := []rune(number[len(prefix):])
	keep := min(4, len(rest)/2)
	masked := make([]rune, 0, len(number))
	masked = append(masked, []rune(prefix)...)
	for i, r := range rest {
		if i < len(rest)-keep {
			r = '*'
		}
		masked = append(masked, r)
	}
	return string(masked)
}

// countryPrefix returns the "+" and country calling code that start an
// E.164 number, or "". Calling codes have one to three digits and no
// assigned code is the prefix of another, so the first one that matches
// is the number's.
func countryPrefix(number string) string {
	if len(number) < 2 || number[0] != '+' {
		return ""
	}
	code := 0
	for i := 1; i <= 3 && i < len(number); i++ {
		c := number[i]
		if c < '0' || c > '9' {
			return ""
		}
		code = code*10 + int(c-'0')
		if phonenumbers.GetRegionCodeForCountryCode(code) != phonenumbers.UNKNOWN_REGION {
			return number[:i+1]
		}
	}
	return ""
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
