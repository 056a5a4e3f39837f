package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"go.uber.org/zap"
)

// identity is the authenticated sender of a request.
type identity struct {
	// accounts are the accounts the sender may act for: the trunk's
	// account after digest authentication, and the accounts of every
	// address-only trunk that allows the source address otherwise.
	accounts []string
	// trunk names the first matching trunk, for logs.
	trunk string
	// trunks are the trunks that authenticated the request, and source
	// its signalling source address; they bound a call's media addresses.
	trunks []*trunk
	source netip.Addr
}

// accountFor returns the account a request acts for: the one that owns
// the toll-free number, when the sender may act for it, and otherwise the
// first account, so that the gateway reports the sender as not owned.
func (id identity) accountFor(number *tollFree) string {
	if number != nil && slices.Contains(id.accounts, number.account) {
		return number.account
	}
	return id.accounts[0]
}

// authenticate finds the trunk req comes from (RFC 3261 section 22). It
// returns the sender's identity, or the response to send instead:
//
//   - An Authorization header naming a trunk's user is checked against
//     that trunk's H(A1) and networks. A mismatch is challenged again
//     with 401, with stale=true when only the nonce expired (RFC 2617
//     section 3.2.1).
//   - Without one, the address-only trunks whose networks hold the source
//     address authenticate the request, unless number (the toll-free
//     number the request is for, when known) belongs to another account
//     that has digest trunks allowing the address: those are challenged.
//   - Otherwise the digest trunks that allow the address are offered, one
//     401 challenge per realm and algorithm: a user agent server
//     challenges with 401 and WWW-Authenticate (RFC 3261 section 22.2).
//   - When no trunk allows the address, 403 Forbidden: authorization
//     will not help (RFC 3261 section 21.4.4).
func (s *Server) authenticate(req *sip.Request, number *tollFree) (identity, *sip.Response) {
	dir := s.dir.Load()
	addrPort, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		s.log.Debug("request source is not an address", zap.String("source", req.Source()))
		return identity{}, s.forbidden(req, "source address unknown")
	}
	addr := addrPort.Addr().Unmap()

	if h := req.GetHeader("Authorization"); h != nil && digest.IsDigest(h.Value()) {
		cred, err := digest.ParseCredentials(h.Value())
		if err != nil {
			// A header that does not parse is malformed syntax
			// (RFC 3261 section 21.4.1).
			return identity{}, sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
		}
		if t, ok := dir.byUser[cred.Username]; ok && t.allows(addr) {
			return s.verifyDigest(req, cred, t, addr)
		}
	}

	var id identity
	var digestTrunks []*trunk
	for _, t := range dir.trunks {
		if !t.allows(addr) {
			continue
		}
		if t.username != "" {
			digestTrunks = append(digestTrunks, t)
			continue
		}
		if id.trunk == "" {
			id.trunk = t.name
		}
		id.trunks = append(id.trunks, t)
		if !slices.Contains(id.accounts, t.account) {
			id.accounts = append(id.accounts, t.account)
		}
	}
	if number != nil && !slices.Contains(id.accounts, number.account) {
		var own []*trunk
		for _, t := range digestTrunks {
			if t.account == number.account {
				own = append(own, t)
			}
		}
		if len(own) > 0 {
			return identity{}, s.challenge(req, own, false, addr)
		}
	}
	switch {
	case len(id.accounts) > 0:
		id.source = addr
		return id, nil
	case len(digestTrunks) > 0:
		return identity{}, s.challenge(req, digestTrunks, false, addr)
	}
	if s.rejected.allow() {
		s.log.Info("sip request from an address no trunk allows",
			zap.String("method", string(req.Method)),
			zap.Stringer("source", addr))
	}
	return identity{}, s.forbidden(req, "no SIP trunk allows this source address")
}

// verifyDigest checks the credentials of a request for trunk t from
// addr. A source locked out after too many failures gets 403 without a
// check (RFC 3261 section 21.4.4: authorization will not help now).
// Wrong credentials for a valid nonce issued to addr count as a failure
// and are challenged again. A nonce optgate did not issue to addr, a
// repeated nonce count and an expired nonce are challenged again without
// counting a failure, so that requests with a source address forged over
// UDP cannot lock a trunk out.
func (s *Server) verifyDigest(req *sip.Request, cred *digest.Credentials, t *trunk,
	addr netip.Addr) (identity, *sip.Response) {
	if wait := s.failures.lockedFor(addr); wait > 0 {
		seconds := int((wait + time.Second - 1) / time.Second)
		return identity{}, s.forbidden(req, fmt.Sprintf(
			"too many failed authentication attempts from this address; try again in %d s", seconds))
	}
	err := s.digest.verify(req, cred, t, addr)
	if err == nil {
		s.failures.succeed(addr)
		return identity{accounts: []string{t.account}, trunk: t.name, trunks: []*trunk{t}, source: addr}, nil
	}
	stale := errors.Is(err, errStaleNonce)
	fields := []zap.Field{zap.String("trunk", t.name), zap.Stringer("source", addr), zap.Error(err)}
	if errors.Is(err, errUnknownNonce) {
		s.log.Debug("digest nonce unknown to this source or reused, challenged again without counting a failure", fields...)
		return identity{}, s.challenge(req, []*trunk{t}, false, addr)
	}
	if errors.Is(err, errBadDigest) {
		if lockout := s.failures.fail(addr); lockout > 0 {
			s.log.Warn("sip source locked out after failed digest authentication",
				append(fields, zap.Duration("lockout", lockout))...)
			return identity{}, s.challenge(req, []*trunk{t}, false, addr)
		}
	}
	s.log.Debug("digest authentication failed", fields...)
	return identity{}, s.challenge(req, []*trunk{t}, stale, addr)
}

// challenge returns 401 Unauthorized with one WWW-Authenticate header per
// distinct realm and algorithm of trunks (RFC 3261 section 22.4), with
// nonces that verify only from source.
func (s *Server) challenge(req *sip.Request, trunks []*trunk, stale bool, source netip.Addr) *sip.Response {
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	seen := map[[2]string]bool{}
	for _, t := range trunks {
		k := [2]string{t.realm, t.algorithm}
		if seen[k] {
			continue
		}
		seen[k] = true
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", s.digest.challenge(t.realm, t.algorithm, stale, source)))
	}
	return res
}

// forbidden returns 403 Forbidden with a Warning naming the reason
// (RFC 3261 section 20.43).
func (s *Server) forbidden(req *sip.Request, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	res.AppendHeader(warning("forbidden", reason))
	return res
}
