package gateway

import (
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/optgate/optgate/consent"
)

// Quiet hours as consent.Engine applies them: no texts before 8:00 or from
// 21:00 in the recipient's local time, the telephone solicitation window
// of 47 CFR 64.1200(c)(1).
const (
	quietEndHour   = 8
	quietStartHour = 21
	// quietMaxZoneSpread is the widest spread of UTC offsets among the
	// zones of a number's prefix for the zones to count. Non-geographic
	// NANP codes map to every zone from UTC+10 to UTC-11, so their zones
	// give no location.
	quietMaxZoneSpread = 6 * time.Hour
)

// quietFallbackZones are checked when neither the recipient's prefix nor
// the account gives a zone: New York's, and Adak's (Hawaii-Aleutian time,
// the western end of Alaska), the same two that consent falls back to.
var quietFallbackZones = []string{"America/New_York", "America/Adak"}

// inQuietHours reports whether consent.Engine.RequestOptIn would reject a
// request from acct to number (E.164) at now with consent.ErrQuietHours.
// A request needs now outside quiet hours in every zone of the number's
// prefix. For a number without zones, the account's TimeZone decides, and
// without that both quietFallbackZones must allow the request.
//
// TODO: the consent package does not export its quiet-hours check, so
// this repeats it. TestConsolePreviewQuietHoursMatchesEngine compares the
// two over a day of hours and several area codes.
func inQuietHours(now time.Time, acct *consent.Account, number string) bool {
	if !acct.QuietHours {
		return false
	}
	zones := prefixZones(number, now)
	if zones == nil && acct.TimeZone != nil {
		return quietAt(now.In(acct.TimeZone))
	}
	if zones == nil {
		for _, name := range quietFallbackZones {
			// The zone database is embedded, because consent imports
			// time/tzdata, so these names always load.
			if loc, err := time.LoadLocation(name); err == nil {
				zones = append(zones, loc)
			}
		}
	}
	for _, loc := range zones {
		if quietAt(now.In(loc)) {
			return true
		}
	}
	return false
}

// prefixZones returns the zones libphonenumber gives the prefix of number,
// or nil when it gives none, a zone fails to load, or the zones are more
// than quietMaxZoneSpread apart at now.
func prefixZones(number string, now time.Time) []*time.Location {
	names, err := phonenumbers.GetTimezonesForPrefix(number)
	if err != nil || len(names) == 0 || names[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return nil
	}
	zones := make([]*time.Location, 0, len(names))
	var lo, hi int
	for i, name := range names {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil
		}
		_, offset := now.In(loc).Zone()
		if i == 0 {
			lo, hi = offset, offset
		}
		lo, hi = min(lo, offset), max(hi, offset)
		zones = append(zones, loc)
	}
	if time.Duration(hi-lo)*time.Second > quietMaxZoneSpread {
		return nil
	}
	return zones
}

func quietAt(local time.Time) bool {
	h := local.Hour()
	return h < quietEndHour || h >= quietStartHour
}
