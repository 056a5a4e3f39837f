package consent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// Recipients for the quiet-hour tests, by the zones their area codes give.
const (
	newJersey   = "+12015550101" // America/New_York
	arizona     = "+16025550101" // America/Phoenix, no daylight saving time
	northDakota = "+17015550101" // America/Denver and America/North_Dakota/Center
	london      = "+447700900123"
	nonGeo      = "+15005550101" // 500 is not geographic: every NANP zone
)

func TestQuietHoursBoundariesAndDST(t *testing.T) {
	f := newFixture(t)
	// 18:30 UTC is day from London to Adak.
	f.clock.Set(time.Date(2026, 3, 2, 18, 30, 0, 0, time.UTC))
	for _, n := range []string{newJersey, arizona, northDakota, london, alaska, nonGeo} {
		f.optIn("quiet", n)
		f.optIn("chicago", n)
	}
	at := func(zone string, y int, m time.Month, d, hour, minute, sec, nsec int) time.Time {
		return time.Date(y, m, d, hour, minute, sec, nsec, mustZone(zone))
	}
	ny := func(m time.Month, d, hour, minute int) time.Time {
		return at("America/New_York", 2026, m, d, hour, minute, 0, 0)
	}
	tests := []struct {
		name    string
		account string
		to      string
		now     time.Time
		quiet   bool
	}{
		{"last nanosecond before 8:00", "quiet", newJersey, at("America/New_York", 2026, 6, 1, 7, 59, 59, 999_999_999), true},
		{"8:00 exactly", "quiet", newJersey, ny(6, 1, 8, 0), false},
		{"last nanosecond before 21:00", "quiet", newJersey, at("America/New_York", 2026, 6, 1, 20, 59, 59, 999_999_999), false},
		{"21:00 exactly", "quiet", newJersey, ny(6, 1, 21, 0), true},

		// US daylight saving time starts on 8 March 2026 and ends on 1
		// November 2026. 12:00 UTC is 8:00 EDT but 7:00 EST.
		{"8:00 on the day DST starts", "quiet", newJersey, ny(3, 8, 8, 0), false},
		{"7:59 on the day DST starts", "quiet", newJersey, ny(3, 8, 7, 59), true},
		{"12:00 UTC the day before DST", "quiet", newJersey, time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), true},
		{"12:00 UTC the day DST starts", "quiet", newJersey, time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), false},
		{"8:00 on the day DST ends", "quiet", newJersey, ny(11, 1, 8, 0), false},
		{"12:30 UTC the day DST ends", "quiet", newJersey, time.Date(2026, 11, 1, 12, 30, 0, 0, time.UTC), true},
		{"20:59 on the day DST ends", "quiet", newJersey, ny(11, 1, 20, 59), false},

		// Phoenix keeps UTC-7 all year: 14:59 UTC is 7:59 there in summer
		// and in winter.
		{"Arizona 7:59 in summer", "quiet", arizona, time.Date(2026, 7, 1, 14, 59, 0, 0, time.UTC), true},
		{"Arizona 8:00 in summer", "quiet", arizona, time.Date(2026, 7, 1, 15, 0, 0, 0, time.UTC), false},
		{"Arizona 7:59 in winter", "quiet", arizona, time.Date(2026, 1, 5, 14, 59, 0, 0, time.UTC), true},

		{"London 7:59", "quiet", london, at("Europe/London", 2026, 6, 1, 7, 59, 0, 0), true},
		{"London 8:00", "quiet", london, at("Europe/London", 2026, 6, 1, 8, 0, 0, 0), false},

		// A number whose area code spans two zones gets texts only when it
		// is day in both.
		{"North Dakota 8:00 Mountain", "quiet", northDakota, at("America/Denver", 2026, 6, 1, 8, 0, 0, 0), false},
		{"North Dakota 7:30 Mountain", "quiet", northDakota, at("America/Denver", 2026, 6, 1, 7, 30, 0, 0), true},
		{"North Dakota 20:30 Mountain", "quiet", northDakota, at("America/Denver", 2026, 6, 1, 20, 30, 0, 0), true},
		{"Alaska 8:00 Adak", "quiet", alaska, at("America/Adak", 2026, 3, 2, 8, 0, 0, 0), false},
		{"Alaska 7:59 Adak", "quiet", alaska, at("America/Adak", 2026, 3, 2, 7, 59, 0, 0), true},
		{"Alaska 20:30 Anchorage", "quiet", alaska, at("America/Anchorage", 2026, 3, 2, 20, 30, 0, 0), false},
		{"Alaska 21:00 Anchorage", "quiet", alaska, at("America/Anchorage", 2026, 3, 2, 21, 0, 0, 0), true},

		// The account's zone must not override a zone the number gives:
		// 8:30 in Chicago is 5:30 in Anchorage.
		{"Alaska 8:30 Chicago, account zone Chicago", "chicago", alaska, at("America/Chicago", 2026, 3, 2, 8, 30, 0, 0), true},
		{"New Jersey 7:30 Chicago, account zone Chicago", "chicago", newJersey, at("America/Chicago", 2026, 3, 2, 7, 30, 0, 0), false},

		// A number that gives no zone takes the account's zone, and with
		// none the window that is day from Adak to New York.
		{"no zone, 7:59 Chicago, account zone", "chicago", nonGeo, at("America/Chicago", 2026, 3, 2, 7, 59, 0, 0), true},
		{"no zone, 8:00 Chicago, account zone", "chicago", nonGeo, at("America/Chicago", 2026, 3, 2, 8, 0, 0, 0), false},
		{"no zone, 8:00 Adak", "quiet", nonGeo, at("America/Adak", 2026, 3, 2, 8, 0, 0, 0), false},
		{"no zone, 7:59 Adak", "quiet", nonGeo, at("America/Adak", 2026, 3, 2, 7, 59, 0, 0), true},
		{"no zone, 20:59 New York", "quiet", nonGeo, ny(3, 2, 20, 59), false},
		{"no zone, 21:00 New York", "quiet", nonGeo, ny(3, 2, 21, 0), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(tc.now)
			from := tfQuiet
			if tc.account == "chicago" {
				from = "+18775550100"
			}
			d := f.check(tc.account, from, tc.to)
			want := consent.ReasonNone
			if tc.quiet {
				want = consent.ReasonQuietHours
			}
			if d.Reason != want || d.Temporary != tc.quiet {
				t.Errorf("MT to %s at %s: %+v, want reason %q", tc.to, tc.now.UTC().Format(time.RFC3339Nano), d, want)
			}
		})
	}
}

func TestQuietHoursRequest(t *testing.T) {
	f := newFixture(t)
	f.clock.Set(time.Date(2026, 3, 2, 8, 30, 0, 0, mustZone("America/Chicago")))
	if _, err := f.request("chicago", alaska); !errors.Is(err, consent.ErrQuietHours) {
		t.Errorf("request to Alaska at 5:30 local time: %v, want ErrQuietHours", err)
	}
	if r := f.record("chicago", alaska); !r.IsZero() {
		t.Errorf("a request refused for quiet hours left a record: %+v", r)
	}
	if _, err := f.request("chicago", newJersey); err != nil {
		t.Errorf("request to New Jersey at 9:30 local time: %v", err)
	}
}
