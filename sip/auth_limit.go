package sip

import (
	"net/netip"
	"sync"
	"time"
)

// Default limits on digest password guessing, changed by Config. A source
// may fail digest authentication authFailuresFree times, and each further
// failure locks it out for a delay that doubles from authLockoutMin up to
// authLockoutMax.
// A success clears its failures. While locked out, its requests with
// credentials get 403 without being checked, so a guesser gets one try
// per lockout instead of one per round trip.
const (
	authFailuresFree = 5
	authLockoutMin   = time.Second
	authLockoutMax   = 5 * time.Minute
	// authFailureTTL is how long a source's failures are remembered after
	// its last one.
	authFailureTTL = 15 * time.Minute
	// maxAuthSources bounds the sources tracked. Past it, sources whose
	// failures expired are dropped, then arbitrary ones.
	maxAuthSources = 10000
)

// authFailures counts failed digest attempts per source. IPv6 sources
// are counted per /64, the usual assignment to one site, so that a peer
// cannot start afresh from the next address of its prefix.
type authFailures struct {
	now func() time.Time
	// free, lockoutMin and lockoutMax are the limits, by default
	// authFailuresFree, authLockoutMin and authLockoutMax.
	free                   int
	lockoutMin, lockoutMax time.Duration

	mu      sync.Mutex
	sources map[netip.Prefix]*authFailure
}

type authFailure struct {
	count int
	until time.Time // end of the lockout
	last  time.Time // time of the last failure
}

func newAuthFailures(now func() time.Time) *authFailures {
	return &authFailures{now: now, free: authFailuresFree, lockoutMin: authLockoutMin,
		lockoutMax: authLockoutMax, sources: map[netip.Prefix]*authFailure{}}
}

// sourceKey returns the prefix failures of addr are counted under.
func sourceKey(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// lockedFor returns how long addr stays locked out, or 0.
func (a *authFailures) lockedFor(addr netip.Addr) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.sources[sourceKey(addr)]
	if !ok {
		return 0
	}
	return max(0, f.until.Sub(a.now()))
}

// fail records a failed attempt from addr and returns the lockout it
// starts, or 0 while addr has failures left.
func (a *authFailures) fail(addr netip.Addr) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	key := sourceKey(addr)
	f, ok := a.sources[key]
	if ok && now.Sub(f.last) > authFailureTTL {
		f.count = 0
	}
	if !ok {
		a.makeRoom(now)
		f = &authFailure{}
		a.sources[key] = f
	}
	f.count++
	f.last = now
	if f.count <= a.free {
		return 0
	}
	// The comparison with the shifted cap keeps a long configured lockout
	// from overflowing when doubled.
	lockout := a.lockoutMax
	if shift := f.count - a.free - 1; shift < 20 && a.lockoutMin <= a.lockoutMax>>shift {
		lockout = a.lockoutMin << shift
	}
	f.until = now.Add(lockout)
	return lockout
}

// succeed clears addr's failures.
func (a *authFailures) succeed(addr netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sources, sourceKey(addr))
}

// makeRoom keeps the table under maxAuthSources entries.
func (a *authFailures) makeRoom(now time.Time) {
	if len(a.sources) < maxAuthSources {
		return
	}
	for k, f := range a.sources {
		if now.Sub(f.last) > authFailureTTL && !now.Before(f.until) {
			delete(a.sources, k)
		}
	}
	for k := range a.sources {
		if len(a.sources) < maxAuthSources {
			return
		}
		delete(a.sources, k)
	}
}
