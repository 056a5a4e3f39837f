package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// Code is the stable name of an outcome other than success. The consent
// block reasons keep their consent.Reason spelling. Codes appear in HTTP
// error bodies, SIP Warning headers, logs and metrics, so they never change
// once released.
type Code string

// Codes. The first group are consent blocks, the second are optgate's own
// outcomes, and the third are carrier outcomes relayed to the business.
const (
	CodeNoConsent         = Code(consent.ReasonNoConsent)
	CodeOptedOut          = Code(consent.ReasonOptedOut)
	CodeRequestLimit      = Code(consent.ReasonRequestLimit)
	CodeNumberVoided      = Code(consent.ReasonVoided)
	CodeSenderNotTollFree = Code(consent.ReasonSenderNotTollFree)
	CodeSenderNotOwned    = Code(consent.ReasonSenderNotOwned)
	CodeSenderNotReady    = Code(consent.ReasonSenderNotReady)
	CodeUnknownAccount    = Code(consent.ReasonUnknownAccount)
	CodeInvalidNumber     = Code(consent.ReasonInvalidNumber)
	CodeQuietHours        = Code(consent.ReasonQuietHours)
	CodeStoreUnavailable  = Code(consent.ReasonStoreUnavailable)
	CodeAlreadyOptedIn    = Code("already_opted_in")

	CodeNoRoute            = Code("no_route")
	CodeInvalidMessage     = Code("invalid_message")
	CodeMessageTooLong     = Code("message_too_long")
	CodePartialSubmit      = Code("partial_submit")
	CodeInternal           = Code("internal_error")
	CodeUnknownDestination = Code("unknown_destination")
	CodeRecipientTollFree  = Code("recipient_toll_free")

	CodeCarrierRejected    = Code("carrier_rejected")
	CodeCarrierBusy        = Code("carrier_busy")
	CodeCarrierUnavailable = Code("carrier_unavailable")
	CodeCarrierTimeout     = Code("carrier_timeout")
)

// Status is the report of one outcome on each protocol.
type Status struct {
	Code Code
	// SMPP is the command_status of the submit_sm_resp or data_sm_resp
	// sent to a business ESME. optgate's own outcomes use the range SMPP
	// 3.4 section 5.1.3 reserves for vendors, 0x0400-0x04FF: 0x0400-0x047F
	// are permanent and 0x0480-0x04FF temporary. Carrier outcomes carry the
	// carrier's own command_status.
	SMPP smpp.CommandStatus
	// HTTP is the HTTP status code of the API response.
	HTTP int
	// SIP and SIPReason are the SIP final response (RFC 3261 section 21).
	SIP       int
	SIPReason string
	// Temporary reports that the same request may succeed later without
	// any change by the business, so it may retry.
	Temporary bool
	// RetryAfter is the suggested wait before a retry, sent as Retry-After
	// in HTTP (RFC 9110 section 10.2.3) and SIP (RFC 3261 section 20.33).
	// It is zero for permanent outcomes.
	RetryAfter time.Duration
	// Message describes the outcome for people, in lowercase.
	Message string
}

// statusTable holds one row per code. docs/api.md reproduces it, and a
// test checks that the two agree.
var statusTable = map[Code]Status{
	// Consent blocks: the business has no right to text this number now.
	CodeNoConsent: {SMPP: 0x0400, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient has not opted in with this account"},
	CodeOptedOut: {SMPP: 0x0401, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient opted out with STOP"},
	CodeRequestLimit: {SMPP: 0x0402, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient got two opt-in requests without answering YES"},
	CodeNumberVoided: {SMPP: 0x0403, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient number was reassigned or disconnected since it opted in"},
	CodeSenderNotTollFree: {SMPP: 0x0404, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the sender is not a US/CA toll-free number"},
	CodeSenderNotOwned: {SMPP: 0x0405, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the sender is not one of the account's toll-free numbers"},
	CodeSenderNotReady: {SMPP: 0x0406, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the sender has no custom greeting or no voicemail yet"},
	CodeUnknownAccount: {SMPP: 0x0407, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the account is not configured"},
	CodeInvalidNumber: {SMPP: 0x0408, HTTP: http.StatusBadRequest, SIP: 404, SIPReason: "Not Found",
		Message: "the recipient or sender is not a valid phone number"},
	CodeAlreadyOptedIn: {SMPP: 0x0409, HTTP: http.StatusConflict, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient already opted in, so no opt-in request is sent"},
	CodeQuietHours: {SMPP: 0x0480, HTTP: http.StatusServiceUnavailable, SIP: 503,
		SIPReason: "Service Unavailable", Temporary: true, RetryAfter: 30 * time.Minute,
		Message: "quiet hours at the recipient: texts wait until 8:00 local time"},
	CodeStoreUnavailable: {SMPP: 0x0481, HTTP: http.StatusServiceUnavailable, SIP: 503,
		SIPReason: "Service Unavailable", Temporary: true, RetryAfter: 5 * time.Second,
		Message: "the consent store did not answer, so the text was not sent"},

	// optgate's own outcomes.
	CodeNoRoute: {SMPP: 0x040A, HTTP: http.StatusUnprocessableEntity, SIP: 404, SIPReason: "Not Found",
		Message: "no carrier route serves the recipient"},
	CodePartialSubmit: {SMPP: 0x040B, HTTP: http.StatusBadGateway, SIP: 502, SIPReason: "Bad Gateway",
		Message: "the carrier accepted only some segments; do not resend automatically"},
	CodeInvalidMessage: {SMPP: 0x040C, HTTP: http.StatusBadRequest, SIP: 488, SIPReason: "Not Acceptable Here",
		Message: "the message text or data is invalid"},
	CodeMessageTooLong: {SMPP: 0x040D, HTTP: http.StatusRequestEntityTooLarge, SIP: 513,
		SIPReason: "Message Too Large", Message: "the message needs more than 255 segments"},
	CodeUnknownDestination: {SMPP: smpp.StatusInvalidDestAddr, HTTP: http.StatusNotFound, SIP: 404,
		SIPReason: "Not Found", Message: "no account owns the destination toll-free number"},
	CodeCarrierUnavailable: {SMPP: 0x0482, HTTP: http.StatusServiceUnavailable, SIP: 503,
		SIPReason: "Service Unavailable", Temporary: true, RetryAfter: 5 * time.Second,
		Message: "the carrier is not reachable now"},
	CodeInternal: {SMPP: 0x040E, HTTP: http.StatusInternalServerError, SIP: 500,
		SIPReason: "Server Internal Error",
		Message:   "optgate failed inside; when a message id is given the carrier has the message, so do not resend"},
	CodeRecipientTollFree: {SMPP: 0x0410, HTTP: http.StatusForbidden, SIP: 403, SIPReason: "Forbidden",
		Message: "the recipient is one of the toll-free numbers optgate serves, which take texts only from subscribers"},
	CodeCarrierTimeout: {SMPP: 0x040F, HTTP: http.StatusGatewayTimeout, SIP: 504, SIPReason: "Server Time-out",
		Message: "the carrier did not answer in time and may have the message; resend only after checking"},

	// Carrier outcomes. SMPP is the fallback used when the carrier's own
	// command_status is unknown; Error.Status puts the carrier's in its
	// place.
	CodeCarrierRejected: {SMPP: smpp.StatusSubmitFailed, HTTP: http.StatusBadGateway, SIP: 502,
		SIPReason: "Bad Gateway", Message: "the carrier rejected the message"},
	CodeCarrierBusy: {SMPP: smpp.StatusThrottled, HTTP: http.StatusServiceUnavailable, SIP: 503,
		SIPReason: "Service Unavailable", Temporary: true, RetryAfter: time.Second,
		Message: "the carrier is throttling or its queue is full"},
}

// Codes lists every code in the order of the documentation table.
var Codes = []Code{
	CodeNoConsent, CodeOptedOut, CodeRequestLimit, CodeNumberVoided,
	CodeSenderNotTollFree, CodeSenderNotOwned, CodeSenderNotReady, CodeUnknownAccount,
	CodeInvalidNumber, CodeAlreadyOptedIn, CodeNoRoute, CodePartialSubmit,
	CodeInvalidMessage, CodeMessageTooLong, CodeRecipientTollFree, CodeQuietHours, CodeStoreUnavailable,
	CodeCarrierUnavailable, CodeInternal, CodeCarrierTimeout, CodeCarrierRejected, CodeCarrierBusy,
	CodeUnknownDestination,
}

// StatusFor returns the row of code. An unknown code yields the row of
// CodeInternal with Code set to code.
func StatusFor(code Code) Status {
	s, ok := statusTable[code]
	if !ok {
		s = statusTable[CodeInternal]
	}
	s.Code = code
	return s
}

// CodeForReason returns the code of a consent block reason.
func CodeForReason(r consent.Reason) Code { return Code(r) }

// RetryAfterSeconds returns RetryAfter as the decimal seconds value of a
// Retry-After header, or "" when there is none.
func (s Status) RetryAfterSeconds() string {
	if s.RetryAfter <= 0 {
		return ""
	}
	return strconv.Itoa(int((s.RetryAfter + time.Second - 1) / time.Second))
}

// SIPWarning returns the value of a SIP Warning header for the status: the
// miscellaneous warn-code 399 (RFC 3261 section 20.43), the agent name
// "optgate" and the code and message as warn-text. Messages contain no
// double quotes, so the warn-text needs no escaping.
func (s Status) SIPWarning() string {
	return `399 optgate "` + string(s.Code) + ": " + s.Message + `"`
}

// Error is an MT or opt-in request that optgate did not send, or sent only
// in part. Use errors.As to get it, and Status for the response to send.
type Error struct {
	Code Code
	// Carrier names the carrier of a carrier outcome, or of the route
	// chosen before the failure.
	Carrier string
	// CarrierStatus is the carrier's command_status for CodeCarrierRejected
	// and CodeCarrierBusy, and for CodePartialSubmit the status that
	// stopped the message.
	CarrierStatus smpp.CommandStatus
	// MessageID is optgate's id when the carrier accepted some segments
	// (CodePartialSubmit), so receipts of those segments can be traced.
	MessageID string
	// Accepted and Segments count the segments the carrier accepted and
	// the segments of the message.
	Accepted, Segments int
	// Err is the cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := "gateway: " + string(e.Code)
	if e.Carrier != "" {
		msg += " (carrier " + e.Carrier
		if e.CarrierStatus != 0 {
			msg += ", " + e.CarrierStatus.String()
		}
		msg += ")"
	}
	if e.Code == CodePartialSubmit {
		msg += fmt.Sprintf(": %d of %d segments accepted as message %s", e.Accepted, e.Segments, e.MessageID)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Status returns the response for e: the row of its code, with the
// carrier's command_status in SMPP for carrier outcomes.
func (e *Error) Status() Status {
	s := StatusFor(e.Code)
	if (e.Code == CodeCarrierRejected || e.Code == CodeCarrierBusy) && e.CarrierStatus != 0 {
		s.SMPP = e.CarrierStatus
	}
	return s
}

// StatusOf returns the response for an error returned by Submit,
// RequestOptIn or SendReply. Errors that are not an *Error yield the
// CodeStoreUnavailable row when StoreTemporary holds for them, and
// otherwise the CodeInternal row, because they come from a failure inside
// optgate.
func StatusOf(err error) Status {
	var e *Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return StatusFor(storeFailureCode(err))
}

// newError returns an *Error with the code and cause.
func newError(code Code, err error) *Error {
	return &Error{Code: code, Err: err}
}

// Statuses a carrier gets in deliver_sm_resp. Carriers know only the
// standard values of SMPP 3.4 section 5.1.3, so none is vendor-specific.
const (
	// DeliverOK: the MO or receipt is durable in optgate.
	DeliverOK = smpp.StatusOK
	// DeliverUnknownDestination: no account owns the toll-free number.
	DeliverUnknownDestination = smpp.StatusInvalidDestAddr
	// DeliverInvalidSource: the sender is not a phone number optgate can
	// record consent for, such as an alphanumeric address.
	DeliverInvalidSource = smpp.StatusInvalidSourceAddr
	// DeliverTemporaryFailure: a store did not respond; redeliver later
	// (ESME_RX_T_APPN, "ESME receiver temporary app error").
	DeliverTemporaryFailure = smpp.StatusTempAppError
	// DeliverInvalidSegment: the UDH or sar_* values cannot place the
	// segment.
	DeliverInvalidSegment = smpp.StatusInvalidTLVValue
	// DeliverPayloadConflict: short_message and message_payload are both
	// set, which SMPP 3.4 section 5.3.2.32 forbids (ESME_RINVPARLEN).
	DeliverPayloadConflict = smpp.StatusInvalidTLVLength
)
