package gateway

import (
	"context"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// authenticate is the smpp.Authenticator of the business server. It holds
// back a bind from an address that failed to bind shortly before, checks
// the credentials against the account registry and reserves one of the
// system_id's max_binds slots. Every credential failure answers
// ESME_RINVPASWD, so a caller cannot tell an unknown system_id from a
// wrong password; a full bind limit answers ESME_RBINDFAIL.
func (e *ESMEServer) authenticate(ctx context.Context, req smpp.BindRequest) smpp.CommandStatus {
	host := hostOf(req.RemoteAddr)
	log := e.log.With(
		zap.String("system_id", req.SystemID),
		zap.Stringer("bind_type", req.BindType),
		zap.String("remote_host", host))
	if d := heldBackWait(e.guard.delay(host), e.cfg.BindTimeout); d > 0 {
		e.cfg.Metrics.bindDelayed()
		log.Debug("bind held back after earlier failures from the address", zap.Duration("delay", d))
		if !e.sleep(ctx, d) {
			return smpp.StatusBindFailed
		}
	}

	id, err := e.cfg.Backend().Registry.AuthenticateESME(req.SystemID, req.Password)
	if err != nil {
		e.guard.failed(host)
		e.cfg.Metrics.rejected(rejectCredentials)
		log.Info("bind rejected: unknown system_id or wrong password")
		return smpp.StatusInvalidPassword
	}
	e.guard.succeeded(host)
	if !e.slots.reserve(ctx, id, unbindWait, dropWait) {
		e.cfg.Metrics.rejected(rejectBindLimit)
		log.Warn("bind rejected: max_binds reached", zap.Int("max_binds", id.MaxBinds))
		return smpp.StatusBindFailed
	}
	log.Info("business bound", zap.String("account", id.Account))
	return smpp.StatusOK
}

// heldBackWait returns the wait d of a held-back bind, cut to half of
// bindTimeout. The bind timeout closes a connection that is still waiting
// for its bind_resp, and such a close does not count as a failure. A
// longer wait would thus close every bind from the address, the right one
// too, until its failures were forgotten. Configuration validation keeps
// the configured waits below the timeout, and this cap keeps a bind
// answered whatever the settings.
//
// TODO: the half is counted from the bind, not from the connect, because
// smpp.BindRequest does not say when the connection opened. An ESME that
// sends its bind late in bind_timeout can still be closed unanswered.
func heldBackWait(d, bindTimeout time.Duration) time.Duration {
	if bindTimeout > 0 {
		d = min(d, bindTimeout/2)
	}
	return d
}

// hostOf returns the IP of a remote address, or its whole text when it
// has no port.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// bindGuard slows binds from addresses that failed to bind recently: the
// n-th attempt after n-1 failures in a row waits base·2^(n-2), up to max,
// so guessing passwords costs time per guess even across reconnects.
// Failures older than memory are forgotten.
type bindGuard struct {
	base, max, memory time.Duration
	now               func() time.Time
	// limit bounds the addresses tracked, so a flood from many addresses
	// cannot grow the map without end.
	limit int

	mu       sync.Mutex
	failures map[string]bindFailures
}

type bindFailures struct {
	count int
	last  time.Time
}

func newBindGuard(base, maxDelay, memory time.Duration, now func() time.Time) *bindGuard {
	return &bindGuard{base: base, max: maxDelay, memory: memory, now: now, limit: 10000,
		failures: map[string]bindFailures{}}
}

// delay returns how long the next bind from host waits.
func (g *bindGuard) delay(host string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, ok := g.failures[host]
	if !ok {
		return 0
	}
	if g.now().Sub(f.last) > g.memory {
		delete(g.failures, host)
		return 0
	}
	d := g.base
	for i := 1; i < f.count && d < g.max; i++ {
		d *= 2
	}
	return min(d, g.max)
}

func (g *bindGuard) failed(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if _, ok := g.failures[host]; !ok && len(g.failures) >= g.limit {
		g.evict(now)
	}
	f := g.failures[host]
	f.count++
	f.last = now
	g.failures[host] = f
}

func (g *bindGuard) succeeded(host string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.failures, host)
}

// evict removes the forgotten entries, or one arbitrary entry when none
// is old enough. The caller holds g.mu.
func (g *bindGuard) evict(now time.Time) {
	removed := false
	for host, f := range g.failures {
		if now.Sub(f.last) > g.memory {
			delete(g.failures, host)
			removed = true
		}
	}
	if removed {
		return
	}
	for host := range g.failures {
		delete(g.failures, host)
		return
	}
}

// unbindWait bounds how long a bind over its max_binds waits for a session
// of the same system_id that is unbinding. That session frees its slot
// only when it closes, which follows its unbind_resp within moments, so an
// ESME that rebinds right after its unbind_resp would otherwise get
// ESME_RBINDFAIL.
const unbindWait = time.Second

// dropWait bounds how long a bind over its max_binds waits when no session
// of the system_id is unbinding. An ESME that drops its connection without
// unbind and reconnects at once often binds before the server has read
// the end of the old connection. The old session frees its slot as soon
// as the server reads it. A bind that is truly over the limit gets
// ESME_RBINDFAIL after this wait.
const dropWait = 500 * time.Millisecond

// bindSlots counts the sessions of each system_id, from a successful
// authentication to the session's close, and remembers which account each
// system_id belongs to.
type bindSlots struct {
	mu    sync.Mutex
	count map[string]int
	// unbinding counts the sessions of each system_id that entered
	// SessionUnbinding and have not closed yet.
	unbinding map[string]int
	ids       map[string]ESMEIdentity
	// freed is closed and replaced on every release, waking the binds
	// that wait for a slot.
	freed chan struct{}
}

func newBindSlots() *bindSlots {
	return &bindSlots{count: map[string]int{}, unbinding: map[string]int{}, ids: map[string]ESMEIdentity{},
		freed: make(chan struct{})}
}

// reserve takes a slot for id and reports false when its MaxBinds stay
// taken. When they are taken, it waits for a slot to free until ctx ends:
// up to unbinding while a session of id is unbinding, else up to dropped,
// for a session whose connection has closed but is not reaped yet.
func (s *bindSlots) reserve(ctx context.Context, id ESMEIdentity, unbinding, dropped time.Duration) bool {
	var expired <-chan time.Time
	for {
		s.mu.Lock()
		if s.count[id.SystemID] < max(id.MaxBinds, 1) {
			s.count[id.SystemID]++
			s.ids[id.SystemID] = id
			s.mu.Unlock()
			return true
		}
		if expired == nil {
			wait := dropped
			if s.unbinding[id.SystemID] > 0 {
				wait = max(unbinding, dropped)
			}
			timer := time.NewTimer(wait)
			defer timer.Stop()
			expired = timer.C
		}
		freed := s.freed
		s.mu.Unlock()

		select {
		case <-freed:
		case <-expired:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// unbound records that a session of systemID entered SessionUnbinding.
func (s *bindSlots) unbound(systemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unbinding[systemID]++
}

// release frees a slot of systemID when one of its sessions closes.
//
// NOTE: the close hook does not say whether the closing session was the
// unbinding one, so any close of systemID lowers its unbinding count. A
// session that drops while another unbinds can thus end a bind's wait
// early, and that bind gets ESME_RBINDFAIL.
func (s *bindSlots) release(systemID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unbinding[systemID] <= 1 {
		delete(s.unbinding, systemID)
	} else {
		s.unbinding[systemID]--
	}
	if s.count[systemID] <= 1 {
		delete(s.count, systemID)
	} else {
		s.count[systemID]--
	}
	close(s.freed)
	s.freed = make(chan struct{})
}

// identity returns the identity a system_id last authenticated as.
func (s *bindSlots) identity(systemID string) (ESMEIdentity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[systemID]
	return id, ok
}
