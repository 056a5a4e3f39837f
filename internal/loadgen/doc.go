// Package loadgen is the load generator behind `optgate bench`. It sends
// business texts to an SMPP 3.4 SMSC, to optgate's SMPP listener or to
// optgate's HTTP API, and measures what comes back, so that optgate can be
// compared with the SMSC it fronts under the same load.
//
// A run opens Binds transceiver binds with Window messages in flight on
// each (over HTTP, Binds*Window requests at once), optionally paced to a
// target rate by a token bucket, for a duration or a message count. The
// messages are a mix of one-segment GSM 7-bit texts, one-segment UCS2
// texts and three-segment GSM 7-bit texts, from a range of senders to
// recipients drawn at random from a range, a set share of whom are opted
// in. The report counts messages submitted and acknowledged per second,
// failures by command_status or API error code, and latency percentiles
// from a log-linear histogram.
//
// Prepare steps import the opted-in recipients into optgate's consent
// store beforehand: through the HTTP API, or straight into an embedded or
// Redis store.
package loadgen
