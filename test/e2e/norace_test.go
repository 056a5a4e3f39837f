//go:build !race

package e2e

// raceEnabled is false when the test runs without -race.
const raceEnabled = false
