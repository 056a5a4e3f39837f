// Package smscsim is an SMSC simulator for tests and demos, built on
// smpp.Server. It speaks SMPP 3.4 to ESMEs such as optgate's carrier
// binds.
//
// The simulator accepts binds and responds to submit_sm, data_sm and
// submit_multi with message ids. It sends delivery receipts to a receiver
// or transceiver bound with the submitter's system_id: a deliver_sm with
// esm_class 0x04, the SMPP 3.4 appendix B text and the
// receipted_message_id and message_state TLVs. It records every PDU
// it reads and every message submitted, with the text decoded, and lets
// tests wait for them without sleeping. Inject sends mobile-originated
// messages (MO) to a bound ESME, split into segments when long, and
// InjectRaw sends any deliver_sm, data_sm or alert_notification.
//
// Options mimic real carriers: the message id format in submit_sm_resp
// and, separately, in the receipt; a receipt sent before the
// submit_sm_resp; the receipt's final state and network_error_code; a
// UCS2 data_coding copied into an ASCII receipt; a throttle limit; and
// per-message rules that respond with an error status, delay the response or
// drop the connection. Every option can change at run time through
// Simulator methods or the HTTP control endpoint (see Handler).
//
// The simulator logs subscriber numbers unmasked, because it is a test
// tool that never sees real traffic. Do not point production traffic at
// it.
package smscsim
