// Package sip is optgate's SIP front end (RFC 3261), built on
// github.com/emiago/sipgo for signalling and github.com/emiago/diago for
// calls and media. It serves a business's PBX trunks:
//
//   - MESSAGE requests (RFC 3428) from a trunk are business texts: From
//     is one of the account's toll-free numbers and To the subscriber, as
//     a tel: or sip: URI with an E.164 or national number. They pass the
//     same consent check and carrier submission as SMPP and HTTP texts,
//     through the gateway's MT service. The response is 202 Accepted
//     once the carrier took the text, or the SIP status of the gateway's
//     status table with a Warning naming the block reason.
//   - Calls to a toll-free number are answered with the number's greeting
//     (G.711 µ-law or A-law), followed by a voicemail recording that ends
//     on hang-up, silence or the maximum length. Pressing 1 during the
//     greeting (RFC 4733 telephone-event or a DTMF INFO) sends the caller
//     an opt-in request from that number.
//   - An INFO with Content-Type application/x-optgate-optin inside a call
//     sends the call's remote party an opt-in request, and
//     RequestOptInForCall does the same for the HTTP API.
//   - Target delivers MO texts and receipts to an account whose delivery
//     type is sip, as MESSAGE requests to its delivery.sip_uri.
//
// Trunks are allowed by source network, by digest authentication with
// the stored H(A1) (RFC 2617, RFC 8760), or both. A source address that
// keeps failing digest authentication is locked out for a growing delay.
// Voicemails go to a VoicemailStore. FileVoicemails keeps them as WAV and
// JSON files within retention limits, and NewVoicemailHandler lists,
// serves and deletes them over HTTP. Greetings uploaded over HTTP go to a
// GreetingStore and take precedence over the configured files.
//
// NewFrontEnd builds the Server that `optgate run` starts, as the
// gateway.DaemonOptions.SIP factory: Server implements
// gateway.SIPFrontEnd, and the daemon's HTTP API serves its
// HTTPHandler after authenticating the caller.
//
// Metrics, on the registerer given in Deps:
//
//   - optgate_sip_requests_total{method}
//   - optgate_sip_responses_total{code}
//   - optgate_sip_calls_total
//   - optgate_sip_voicemails_total
//
// The sipgo and diago logs go to the server's zap logger at Debug level,
// because they hold whole SIP messages with subscriber numbers. The
// package's own logs mask numbers when Config.MaskNumbers is set.
//
// Out of scope: SIP MESSAGE from carriers (subscriber texts arrive over
// SMPP), REGISTER, outgoing calls, and SRTP.
package sip
