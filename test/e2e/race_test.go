//go:build race

package e2e

// raceEnabled makes the test build optgate with the race detector when the
// test itself runs with -race, so the daemon's goroutines are checked too.
const raceEnabled = true
