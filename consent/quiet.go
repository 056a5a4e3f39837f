package consent

import (
	"time"
	// Quiet hours need US time zones even on hosts without a zoneinfo
	// database.
	_ "time/tzdata"
)

// Quiet hours: no texts before 8:00 or from 21:00 in the recipient's local
// time, the telephone solicitation window of 47 CFR 64.1200(c)(1).
const (
	quietEndHour   = 8
	quietStartHour = 21
)

// fallbackZones are checked when neither the recipient's area code nor the
// account gives a zone: New York's and Adak's (Hawaii-Aleutian time). Adak
// is the western end of Alaska, whose 907 area code spans two zones and so
// gives none.
var fallbackZones = []*time.Location{
	mustLoadLocation("America/New_York"),
	mustLoadLocation("America/Adak"),
}

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("consent: embedded time zone " + name + " missing: " + err.Error())
	}
	return loc
}

// inQuietHours reports whether now falls in quiet hours for the recipient
// number. The zones come from the number's prefix (see zonesFor): when it
// gives several, such as Alaska's two, now must be outside quiet hours in
// each. When it gives none, the zone is fallback (the account's zone). With
// neither, now must be outside quiet hours in both fallbackZones, so such a
// recipient gets texts only from 8:00 in Adak to 21:00 in New York (13:00
// to 21:00 Eastern in winter).
func inQuietHours(now time.Time, number string, fallback *time.Location) bool {
	zones := zonesFor(number, now)
	if zones == nil && fallback != nil {
		return quietAt(now.In(fallback))
	}
	if zones == nil {
		zones = fallbackZones
	}
	for _, loc := range zones {
		if quietAt(now.In(loc)) {
			return true
		}
	}
	return false
}

func quietAt(local time.Time) bool {
	h := local.Hour()
	return h < quietEndHour || h >= quietStartHour
}
