package consent_test

import (
	"errors"
	"fmt"

	"github.com/optgate/optgate/consent"
)

func ExampleNormalizeNumber() {
	const tonInternational, tonNational, tonAlphanumeric = 1, 2, 5
	const npiISDN = 1
	for _, raw := range []string{"12015550101", "+12015550101", "01112015550101"} {
		e164, err := consent.NormalizeNumber(raw, tonInternational, npiISDN, "US")
		fmt.Println(e164, err)
	}
	e164, _ := consent.NormalizeNumber("(201) 555-0101", tonNational, npiISDN, "US")
	fmt.Println(e164, consent.IsTollFree(e164))

	_, err := consent.NormalizeNumber("Acme", tonAlphanumeric, 0, "US")
	fmt.Println(errors.Is(err, consent.ErrInvalidPhoneNumber))
	// Output:
	// +12015550101 <nil>
	// +12015550101 <nil>
	// +12015550101 <nil>
	// +12015550101 false
	// true
}

func ExampleTimeZoneFor() {
	loc, ok := consent.TimeZoneFor("+12015550101")
	fmt.Println(loc, ok)
	_, ok = consent.TimeZoneFor("+18885550100")
	fmt.Println(ok)
	// Output:
	// America/New_York true
	// false
}
