// Package faults holds optgate's fault tests. Each test runs a whole
// optgate with the built-in SMSC simulator as its carrier and a real
// redis-server as its consent store, with a faultproxy between optgate and
// each of them. It breaks one link while traffic flows. The carrier link
// is reset, half-closed, silenced or slowed with a full window. Redis
// becomes unreachable or slower than the store deadline. An `optgate run`
// process is killed with SIGKILL under MO load.
//
// Each test prints one line per fault with the messages sent,
// acknowledged and delivered, and the counts that must stay at zero: lost
// (acknowledged but never delivered), duplicated (delivered twice) and MT
// wrongly allowed (a text to a number without consent that was accepted
// or reached the carrier).
//
// The tests need redis-server (`apt-get install redis-server`) and the go
// command, which builds optgate for the SIGKILL test. They fail, rather
// than skip, when one is missing.
package faults
