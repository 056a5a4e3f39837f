// Package security holds optgate's security tests. Each test runs a whole
// optgate in-process with two accounts and the built-in SMSC simulator,
// attacks it on its loopback listeners and checks the response: wrong
// passwords and tokens, a sender the account does not own, oversized
// PDUs, HTTP bodies and SIP requests, bind floods and idle connections,
// failed API authentications, SIP digest guessing and its lockout, TLS on
// SMPP, HTTP and SIP with certificates the tests make, pprof left off,
// and logs that contain no secret and no unmasked subscriber number.
// Where an attack could spill over, the test checks that the second
// account keeps sending normally meanwhile.
package security
