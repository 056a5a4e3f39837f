package consent

import (
	"sync"
	"time"

	// The embedded zone database is a fallback for hosts and containers
	// without /usr/share/zoneinfo, where quiet hours would otherwise never
	// find a time zone. It adds about 450 KB to the binary.
	_ "time/tzdata"

	"github.com/nyaruka/phonenumbers"
)

// zoneCache maps an IANA zone name to its *time.Location, so each zone is
// loaded once.
var zoneCache sync.Map

// TimeZoneFor returns the time zone of the subscriber number e164, for quiet
// hours (47 CFR 64.1200(c)(1) counts 8 a.m. to 9 p.m. in the called party's
// local time). The zone comes from libphonenumber's prefix-to-zone data,
// which follows the area code for NANP numbers. It reports false when the
// number is not E.164, when the prefix maps to no zone, and when it maps to
// more than one. Alaska (+1 907) spans two zones and so does a toll-free
// number, which has no location at all.
func TimeZoneFor(e164 string) (*time.Location, bool) {
	if !isE164(e164) {
		return nil, false
	}
	zones, err := phonenumbers.GetTimezonesForPrefix(e164)
	if err != nil || len(zones) != 1 || zones[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return nil, false
	}
	if loc, ok := zoneCache.Load(zones[0]); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(zones[0])
	if err != nil {
		return nil, false
	}
	zoneCache.Store(zones[0], loc)
	return loc, true
}

// isE164 reports whether s is "+" followed by 7 to 15 digits, the first of
// which is not 0. ITU-T E.164 allows at most 15 digits, and libphonenumber's
// shortest example numbers (Niue, Tristan da Cunha) have 7 with the country
// code.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
