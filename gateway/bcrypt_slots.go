package gateway

import (
	"runtime"

	"golang.org/x/crypto/bcrypt"
)

// bcryptSlots bounds the bcrypt comparisons that run at once in the whole
// process: ESME passwords, account tokens and the operator token share
// them, and so do the registries that reloads build. A flood of wrong
// passwords or tokens thus keeps at most half the CPUs busy with bcrypt
// and leaves the rest to traffic. On a single CPU the one slot can still
// take all of it. A comparison waits for a free slot for as long as it
// takes.
var bcryptSlots = make(chan struct{}, bcryptParallel(runtime.GOMAXPROCS(0)))

// bcryptParallel returns how many bcrypt comparisons may run at once on
// cpus CPUs: half of them, at least one.
func bcryptParallel(cpus int) int {
	return max(1, cpus/2)
}

// compareHook, when set by a test, runs before every bcrypt comparison.
var compareHook func()

// compareBcrypt reports whether secret matches the bcrypt hash, which
// bcrypt checks in constant time, holding one of bcryptSlots.
func compareBcrypt(hash []byte, secret string) bool {
	if compareHook != nil {
		compareHook()
	}
	bcryptSlots <- struct{}{}
	defer func() { <-bcryptSlots }()
	return bcrypt.CompareHashAndPassword(hash, []byte(secret)) == nil
}
