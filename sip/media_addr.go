package sip

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// mediaPolicy is the set of addresses optgate may send a call's RTP and
// RTCP to: the signalling source address of the INVITE, and the networks
// of the trunk that sent it. Without the check, any allowed
// trunk could make optgate send a greeting's RTP to a third party by
// naming its address in SDP, which turns optgate into a reflector.
type mediaPolicy struct {
	source netip.Addr
	nets   []netip.Prefix
}

// allows reports whether RTP may go to addr.
func (p mediaPolicy) allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr == p.source {
		return true
	}
	for _, n := range p.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// mediaPolicyFor returns the media policy of a call from id to account.
// Only the networks of the account's own trunks count.
func mediaPolicyFor(id identity, account string) mediaPolicy {
	p := mediaPolicy{source: id.source}
	for _, t := range id.trunks {
		if t.account == account {
			p.nets = append(p.nets, t.nets...)
		}
	}
	return p
}

// checkMediaAddrs returns an error naming the first address in the SDP
// body that p does not allow: a connection address ("c=", RFC 4566
// section 5.7) or an RTCP address ("a=rtcp:", RFC 3605 section 2.1). A
// connection address that is not an IP address, such as a host name, is
// rejected too, because optgate cannot check where it leads.
func checkMediaAddrs(body []byte, p mediaPolicy) error {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var fields []string
		switch {
		case strings.HasPrefix(line, "c="):
			// c=<nettype> <addrtype> <connection-address>
			fields = strings.Fields(line[2:])
		case strings.HasPrefix(line, "a=rtcp:"):
			// a=rtcp:<port> [<nettype> <addrtype> <connection-address>]
			fields = strings.Fields(line[len("a=rtcp:"):])
			if len(fields) == 1 {
				continue
			}
			fields = fields[1:]
		default:
			continue
		}
		if len(fields) != 3 {
			return fmt.Errorf("SDP line %q is not <nettype> <addrtype> <address>", line)
		}
		// A multicast address may carry /ttl and /count (RFC 4566
		// section 5.7). They are cut off, so the error names the address.
		host, _, _ := strings.Cut(fields[2], "/")
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("media address %q is not an IP address", host)
		}
		if !p.allows(addr) {
			return fmt.Errorf("media address %s is neither the signalling source address nor "+
				"inside the trunk's allowed networks", addr.Unmap())
		}
	}
	return sc.Err()
}

// mediaRejected returns 488 Not Acceptable Here (RFC 3261 section
// 21.4.26) for an offer whose media address optgate does not send to. Its
// Warning has warn-code 305, incompatible media format (RFC 3261 section
// 20.43).
func mediaRejected(req *sip.Request, err error) *sip.Response {
	res := sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil)
	res.AppendHeader(mediaWarning(err))
	return res
}

// mediaWarning returns the Warning header naming the rejected address.
func mediaWarning(err error) sip.Header {
	text := strings.ReplaceAll(err.Error(), `"`, "'")
	return sip.NewHeader("Warning", `305 optgate "media_address: `+text+`"`)
}
