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
	names, ok := zoneNamesFor(e164)
	if !ok || len(names) != 1 {
		return nil, false
	}
	return loadZone(names[0])
}

// maxZoneSpread is the largest difference between the UTC offsets of the
// zones a number's prefix maps to for zonesFor to use them all. Geographic
// prefixes map to zones at most a few hours apart, such as Alaska's two.
// Toll-free and other non-geographic NANP codes map to every zone from Guam
// (UTC+10) to American Samoa (UTC-11), which says nothing about where the
// subscriber is.
const maxZoneSpread = 6 * time.Hour

// zonesFor returns the time zones the subscriber number e164 may be in at
// time now: the zones its prefix maps to, or nil when it maps to none or
// to zones more than maxZoneSpread apart.
//
// TODO: libphonenumber maps some area codes that span two zones to one of
// them (850 in Florida's panhandle to New York only), so quiet hours there
// can start an hour early for part of the subscribers.
func zonesFor(e164 string, now time.Time) []*time.Location {
	names, ok := zoneNamesFor(e164)
	if !ok {
		return nil
	}
	zones := make([]*time.Location, 0, len(names))
	var lo, hi int
	for i, name := range names {
		loc, ok := loadZone(name)
		if !ok {
			return nil
		}
		_, offset := now.In(loc).Zone()
		if i == 0 || offset < lo {
			lo = offset
		}
		if i == 0 || offset > hi {
			hi = offset
		}
		zones = append(zones, loc)
	}
	if time.Duration(hi-lo)*time.Second > maxZoneSpread {
		return nil
	}
	return zones
}

// zoneNamesFor returns the IANA zone names libphonenumber gives for the
// prefix of e164, reporting false when it gives none.
func zoneNamesFor(e164 string) ([]string, bool) {
	if !isE164(e164) {
		return nil, false
	}
	names, err := phonenumbers.GetTimezonesForPrefix(e164)
	if err != nil || len(names) == 0 || names[0] == phonenumbers.UNKNOWN_TIMEZONE {
		return nil, false
	}
	return names, true
}

// loadZone returns the zone named name, loading each zone once.
func loadZone(name string) (*time.Location, bool) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zoneCache.Store(name, loc)
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
