// Package e2e holds the end-to-end test of optgate's main job. It builds
// the optgate binary, runs `optgate run` against a real redis-server with
// the built-in SMSC simulator as the carrier, binds the npm smpp package's
// client as the business ESME, and follows one subscriber from a blocked
// first text through opt-in, STOP and UNSTOP, checking every response, the
// texts the carrier received, the consent records in Redis and the
// Prometheus counters.
//
// The test needs go, redis-server (`apt-get install redis-server`), node
// and the npm packages of test/peers (`cd test/peers && npm ci`). It fails,
// rather than skips, when one of them is missing.
package e2e
