//go:build unix

package consent_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system.
// Benchmarks report it per operation because wall time is meaningless on
// a machine whose cores other work is using.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
