// Package sipd holds the tests of optgate's SIP front end inside the
// whole daemon: a gateway.Daemon started in-process with the factory that
// `optgate run` uses (sip.NewFrontEnd), its HTTP API, and the built-in
// SMSC simulator as the only carrier. The tests drive it with sipp (the
// scenarios of test/sip), with a diago user agent that calls and presses
// keys, and with a sipgo user agent that stands for a business's PBX.
//
// The tests need sipp 3.6 (`apt-get install sipp` on Debian) and fail,
// rather than skip, when it is missing.
package sipd
