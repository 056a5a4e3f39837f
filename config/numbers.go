package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// e164Pattern is the written form of an E.164 number: "+", a country code
// that does not start with 0, and at most 15 digits in all, the E.164
// maximum. Seven digits is the shortest number optgate accepts.
var e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// tollFreePattern is a NANP toll-free number: +1, a toll-free area code,
// and seven digits whose exchange does not start with 0 or 1.
var tollFreePattern = regexp.MustCompile(`^\+1(800|833|844|855|866|877|888)[2-9][0-9]{6}$`)

// checkE164 returns an error message for a number that is not a valid E.164
// number in canonical form, or "" for a valid one.
func checkE164(number string) string {
	if !e164Pattern.MatchString(number) {
		compact := strings.Map(func(r rune) rune {
			if strings.ContainsRune(" -().\u00a0", r) {
				return -1
			}
			return r
		}, number)
		if compact != number && e164Pattern.MatchString(compact) {
			return fmt.Sprintf("%q is not in E.164 form; write %q", number, compact)
		}
		if !strings.HasPrefix(number, "+") && compact != "" &&
			strings.Trim(compact, "0123456789") == "" {
			return fmt.Sprintf("%q is not a valid E.164 number; start it with + and the country code, "+
				"such as +18005550100", number)
		}
		return fmt.Sprintf("%q is not a valid E.164 number", number)
	}
	parsed, err := phonenumbers.Parse(number, "")
	if err != nil || !phonenumbers.IsValidNumber(parsed) {
		return fmt.Sprintf("%q is not a valid E.164 number", number)
	}
	return ""
}

// checkTollFree returns an error message for a number that is not a valid
// US or Canadian toll-free number in E.164 form, or "" for a valid one.
func checkTollFree(number string) string {
	if msg := checkE164(number); msg != "" {
		return msg
	}
	if !tollFreePattern.MatchString(number) {
		return fmt.Sprintf("%q is not a US/CA toll-free number "+
			"(+1 and area code 800, 833, 844, 855, 866, 877 or 888)", number)
	}
	return ""
}
