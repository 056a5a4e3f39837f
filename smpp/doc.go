// Package smpp implements the Short Message Peer-to-Peer protocol, version
// 3.4 (SMPP v3.4, issue 1.2, 12 October 1999), as spoken between an ESME and
// an SMSC.
//
// The PDU codec decodes and encodes every SMPP 3.4 PDU: the bind operations
// and outbind, unbind, generic_nack, submit_sm, submit_multi, data_sm,
// deliver_sm, query_sm, cancel_sm, replace_sm, enquire_link and
// alert_notification, with their responses. Each PDU is a Go struct (such as
// SubmitSM) whose fields carry the spec names in MixedCaps and embed the
// common Header. DecodePDU and AppendPDU convert between structs and wire
// bytes, FrameReader splits a TCP stream into PDUs, and FrameWriter writes
// them. The codec is strict about field sizes in both directions and
// tolerates the sloppy peers seen in practice: error responses without a
// body, a stray NUL after short_message, and TLVs a PDU type does not list.
// Errors carry the command_status to answer with (DecodeError), and a
// peer's error status becomes a StatusError.
//
// The text helpers convert short_message octets to and from Go strings by
// data_coding (GSM 03.38, Latin-1, UCS-2 and others), split long text into
// segments with a UDH or sar_* TLVs, reassemble received segments and parse
// delivery receipt text.
//
// Client is an ESME session: it binds as transmitter, receiver or
// transceiver, keeps a window of outstanding requests, limits its rate,
// sends enquire_link, slows down on ESME_RTHROTTLED and ESME_RMSGQFUL, and
// reconnects with back-off. Server is the SMSC side: it authenticates binds
// through an Authenticator, enforces the bind state rules of section 2.3,
// hands requests to a Handler and pushes deliver_sm to bound sessions.
// Both take an optional *tls.Config and a *zap.Logger that is a no-op
// unless set.
//
// Out of scope: SMPP 3.3 and 5.0 features (such as the 5.0 broadcast
// operations and TLVs) and outbind, which a Client answers with
// ESME_RINVBNDSTS.
package smpp
