package sip

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/gateway"
)

// Optgate's own SIP headers. Unknown headers are ignored by other user
// agents (RFC 3261 section 8.2.2), so they add information without
// changing how a peer handles a message.
const (
	// HeaderMessageID carries optgate's message id: in the 202 response to
	// a MESSAGE, in the 200 response to an opt-in INFO, in a partial
	// submit's error response, and in the receipts delivered to a PBX.
	HeaderMessageID = "Optgate-Message-ID"
	// HeaderClientRef is the business's reference for a MESSAGE, at most
	// 64 bytes, returned with its receipts.
	HeaderClientRef = "Optgate-Client-Ref"
	// HeaderReceipt requests delivery receipts for a MESSAGE: "final" for
	// every final outcome, "failure" for failures only, and "none" (the
	// default). The values are registered_delivery 1, 2 and 0 of SMPP 3.4
	// section 5.2.17.
	HeaderReceipt = "Optgate-Receipt"
	// HeaderDelivery identifies one delivered item as "queue:seq". A
	// retried delivery repeats it, so the PBX can drop duplicates.
	HeaderDelivery = "Optgate-Delivery"
	// HeaderKind is "mo" or "receipt" on the MESSAGE requests optgate
	// delivers to a PBX.
	HeaderKind = "Optgate-Kind"
	// HeaderMOID carries optgate's id of a delivered MO.
	HeaderMOID = "Optgate-MO-ID"
	// HeaderKeyword names the consent keyword a delivered MO is, such as
	// "opt_out". optgate already replied to it, so the business must not.
	HeaderKeyword = "Optgate-Keyword"
	// HeaderPartial is "true" on an MO whose missing segments never
	// arrived.
	HeaderPartial = "Optgate-Partial"
	// HeaderStatus is the stat of a delivered receipt, such as DELIVRD.
	HeaderStatus = "Optgate-Status"
)

// warning returns a Warning header with the miscellaneous warn-code 399
// and agent "optgate" (RFC 3261 section 20.43). Double quotes in text are
// replaced, because warn-text is a quoted string.
func warning(code, text string) sip.Header {
	text = strings.ReplaceAll(text, `"`, "'")
	return sip.NewHeader("Warning", `399 optgate "`+code+": "+text+`"`)
}

// statusResponse returns the response for an outcome of the gateway's
// status table: its SIP status, a Warning naming the code (RFC 3261
// section 20.43) and, for temporary outcomes, Retry-After in seconds
// (RFC 3261 section 20.33).
func statusResponse(req *sip.Request, st gateway.Status) *sip.Response {
	res := sip.NewResponseFromRequest(req, st.SIP, st.SIPReason, nil)
	res.AppendHeader(sip.NewHeader("Warning", st.SIPWarning()))
	if ra := st.RetryAfterSeconds(); ra != "" && st.Temporary {
		res.AppendHeader(sip.NewHeader("Retry-After", ra))
	}
	return res
}

// errorResponse returns the response for an error of the MT service: the
// row of its code, with optgate's message id when the carrier took some
// segments.
func errorResponse(req *sip.Request, err error) *sip.Response {
	res := statusResponse(req, gateway.StatusOf(err))
	var ge *gateway.Error
	if errors.As(err, &ge) && ge.MessageID != "" {
		res.AppendHeader(sip.NewHeader(HeaderMessageID, ge.MessageID))
	}
	return res
}

// contentResponse returns the response for a body optgate cannot read:
// 400 for a malformed Content-Type, 415 with Accept or Accept-Encoding
// for an unsupported one (RFC 3261 section 21.4.13), and the gateway's
// invalid_message outcome for text that is not valid in its charset.
func contentResponse(req *sip.Request, err error) *sip.Response {
	var ce *contentError
	if !errors.As(err, &ce) {
		return statusResponse(req, gateway.StatusFor(gateway.CodeInvalidMessage))
	}
	if ce.status == 400 {
		res := sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
		res.AppendHeader(warning("invalid_request", ce.err.Error()))
		return res
	}
	res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
	if ce.accept != "" {
		res.AppendHeader(sip.NewHeader("Accept", ce.accept))
	}
	if ce.acceptEncoding != "" {
		res.AppendHeader(sip.NewHeader("Accept-Encoding", ce.acceptEncoding))
	}
	res.AppendHeader(warning("unsupported_media_type", ce.err.Error()))
	return res
}

// unavailable returns 503 Service Unavailable with Retry-After, the
// response of a server too busy or shutting down (RFC 3261 section
// 21.5.4).
func unavailable(req *sip.Request, reason string, retryAfter time.Duration) *sip.Response {
	res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
	seconds := max(1, int((retryAfter+time.Second-1)/time.Second))
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(seconds)))
	res.AppendHeader(warning("unavailable", reason))
	return res
}

// logLimiter lets a repeated log line through at most once a second, so
// a misbehaving peer cannot flood the log.
type logLimiter struct {
	last atomic.Int64 // Unix nanoseconds of the last line let through
}

func (l *logLimiter) allow() bool {
	now := time.Now().UnixNano()
	last := l.last.Load()
	return now-last >= int64(time.Second) && l.last.CompareAndSwap(last, now)
}
