package consent

// Reason is the stable code for why an MT is blocked. The gateway maps each
// code to its SMPP command_status, HTTP error and SIP response, so codes
// never change once released.
type Reason string

// Reasons. ReasonNone means the MT is allowed.
const (
	ReasonNone              Reason = ""
	ReasonNoConsent         Reason = "no_consent"           // never requested, or requested without a YES
	ReasonOptedOut          Reason = "opted_out"            // the number sent STOP
	ReasonRequestLimit      Reason = "request_limit"        // two requests without a YES
	ReasonSenderNotTollFree Reason = "sender_not_toll_free" // the sender is not a US/CA toll-free number
	ReasonSenderNotOwned    Reason = "sender_not_owned"     // the toll-free sender is not the account's
	ReasonSenderNotReady    Reason = "sender_not_ready"     // the sender lacks a custom greeting or voicemail
	ReasonQuietHours        Reason = "quiet_hours"          // before 8:00 or from 21:00 in the recipient's time zone
	ReasonVoided            Reason = "number_voided"        // reassigned or disconnected since the opt-in
	ReasonInvalidNumber     Reason = "invalid_number"       // the recipient or sender is not a valid number
	ReasonUnknownAccount    Reason = "unknown_account"      // no such account
	ReasonStoreUnavailable  Reason = "store_unavailable"    // the consent store failed or timed out: fail closed
)

// Reasons lists every block reason, for metrics and documentation.
var Reasons = []Reason{
	ReasonNoConsent, ReasonOptedOut, ReasonRequestLimit, ReasonSenderNotTollFree,
	ReasonSenderNotOwned, ReasonSenderNotReady, ReasonQuietHours, ReasonVoided,
	ReasonInvalidNumber, ReasonUnknownAccount, ReasonStoreUnavailable,
}

// Temporary reports whether the block may clear without any consent change,
// so the sender may retry later: quiet hours and an unavailable store.
func (r Reason) Temporary() bool {
	return r == ReasonQuietHours || r == ReasonStoreUnavailable
}

// String returns the code.
func (r Reason) String() string { return string(r) }
