//go:build !unix

package consent_test

import "time"

// processCPU reports false: the CPU time is read only on Unix systems.
func processCPU() (time.Duration, bool) { return 0, false }
