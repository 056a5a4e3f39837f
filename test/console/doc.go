// Package console tests optgate's web console in a real browser: Debian's
// chromium, run headless and driven over the DevTools protocol with
// chromedp, against a whole daemon started in-process on loopback ports
// with the built-in SMSC simulator as its carrier.
//
// The tests need /usr/bin/chromium (Debian package chromium). Without it
// they skip, or fail when OPTGATE_REQUIRE_TOOLS=1. With OPTGATE_SCREENSHOTS=DIR set, they write a PNG of each
// console page to DIR; docs/console/ holds the ones the README shows.
package console
