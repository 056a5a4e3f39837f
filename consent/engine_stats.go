package consent

import "sync/atomic"

// Stats are the engine's counters since it was created. The gateway
// exports them as metrics.
type Stats struct {
	// Allowed counts MTs allowed by the rules.
	Allowed uint64
	// Blocked counts MTs blocked, by reason.
	Blocked map[Reason]uint64
	// ShadowAllowed counts MTs that the rules block but shadow mode let
	// through, by reason.
	ShadowAllowed map[Reason]uint64
	// MO counts classified MO texts by keyword, ordinary messages under
	// KeywordNone.
	MO map[Keyword]uint64
	// RequestsSent counts opt-in requests recorded for sending.
	RequestsSent uint64
	// RequestsRefused counts opt-in requests refused by the rules.
	RequestsRefused uint64
	// StoreErrors counts store calls that failed.
	StoreErrors uint64
}

// reasonIndex maps a block reason to its position in Reasons, or -1.
func reasonIndex(r Reason) int {
	switch r {
	case ReasonNoConsent:
		return 0
	case ReasonOptedOut:
		return 1
	case ReasonRequestLimit:
		return 2
	case ReasonSenderNotTollFree:
		return 3
	case ReasonSenderNotOwned:
		return 4
	case ReasonSenderNotReady:
		return 5
	case ReasonQuietHours:
		return 6
	case ReasonVoided:
		return 7
	case ReasonInvalidNumber:
		return 8
	case ReasonUnknownAccount:
		return 9
	case ReasonStoreUnavailable:
		return 10
	}
	return -1
}

const numKeywords = int(KeywordHelp) + 1

type engineStats struct {
	allowed         atomic.Uint64
	blocked         [11]atomic.Uint64
	shadowAllowed   [11]atomic.Uint64
	mo              [numKeywords]atomic.Uint64
	requestsSent    atomic.Uint64
	requestsRefused atomic.Uint64
	storeErrors     atomic.Uint64
}

func (s *engineStats) countDecision(d Decision) {
	i := reasonIndex(d.Reason)
	switch {
	case i < 0:
		s.allowed.Add(1)
	case d.Allowed:
		s.shadowAllowed[i].Add(1)
	default:
		s.blocked[i].Add(1)
	}
}

func (s *engineStats) countMO(k Keyword) {
	if k >= 0 && int(k) < numKeywords {
		s.mo[k].Add(1)
	}
}

// Stats returns a snapshot of the engine's counters.
func (e *Engine) Stats() Stats {
	out := Stats{
		Allowed:         e.stats.allowed.Load(),
		Blocked:         map[Reason]uint64{},
		ShadowAllowed:   map[Reason]uint64{},
		MO:              map[Keyword]uint64{},
		RequestsSent:    e.stats.requestsSent.Load(),
		RequestsRefused: e.stats.requestsRefused.Load(),
		StoreErrors:     e.stats.storeErrors.Load(),
	}
	for i, r := range Reasons {
		if n := e.stats.blocked[i].Load(); n > 0 {
			out.Blocked[r] = n
		}
		if n := e.stats.shadowAllowed[i].Load(); n > 0 {
			out.ShadowAllowed[r] = n
		}
	}
	for k := range numKeywords {
		if n := e.stats.mo[k].Load(); n > 0 {
			out.MO[Keyword(k)] = n
		}
	}
	return out
}
