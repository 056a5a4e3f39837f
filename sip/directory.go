package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

// defaultVoicemailMax is the longest voicemail recorded when a number's
// configuration leaves voicemail.max_duration zero, the configuration's
// own default.
const defaultVoicemailMax = 2 * time.Minute

// directory is the account data the SIP front end reads on every
// request: the trunks, the toll-free numbers and the SIP delivery
// targets. It is immutable; UpdateAccounts replaces it whole.
type directory struct {
	trunks []*trunk
	// byUser holds the trunks with digest credentials by user name.
	byUser map[string]*trunk
	// numbers holds the toll-free numbers by their E.164 form.
	numbers map[string]*tollFree
	// delivery holds the SIP URI of each account whose delivery type is
	// sip.
	delivery map[string]sip.Uri
}

// trunk is one SIP peer of an account.
type trunk struct {
	account string
	name    string
	nets    []netip.Prefix
	// username, realm and ha1 are the digest credentials; username is
	// empty when the trunk is allowed by source address only.
	username  string
	realm     string
	ha1       string // lowercase hex
	algorithm string // "MD5" or "SHA-256"
}

// allows reports whether addr is inside the trunk's networks. A trunk
// without networks allows every address, which config validation permits
// only together with digest credentials.
func (t *trunk) allows(addr netip.Addr) bool {
	if len(t.nets) == 0 {
		return true
	}
	for _, n := range t.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// tollFree is one of an account's toll-free numbers.
type tollFree struct {
	account   string
	number    string // E.164
	greeting  string // config.TollFreeNumber.Greeting
	voicemail bool
	maxLength time.Duration
}

// newDirectory builds the directory from validated configuration accounts.
// region reads numbers written in national form.
func newDirectory(accounts []config.Account, region string) (*directory, error) {
	d := &directory{
		byUser:   map[string]*trunk{},
		numbers:  map[string]*tollFree{},
		delivery: map[string]sip.Uri{},
	}
	for _, a := range accounts {
		if err := d.addAccount(a, region); err != nil {
			return nil, fmt.Errorf("account %s: %w", a.ID, err)
		}
	}
	return d, nil
}

func (d *directory) addAccount(a config.Account, region string) error {
	for i, tc := range a.SIPTrunks {
		t, err := newTrunk(a.ID, tc)
		if err != nil {
			return fmt.Errorf("sip_trunks[%d]: %w", i, err)
		}
		if t.username != "" {
			if _, dup := d.byUser[t.username]; dup {
				return fmt.Errorf("sip_trunks[%d]: user name %q is used by another trunk", i, t.username)
			}
			d.byUser[t.username] = t
		}
		d.trunks = append(d.trunks, t)
	}
	for i, n := range a.TollFree {
		e164, err := consent.NormalizeNumber(n.Number, 0, 0, region)
		if err != nil {
			return fmt.Errorf("toll_free[%d]: %w", i, err)
		}
		maxLength := n.Voicemail.MaxDuration
		if maxLength <= 0 {
			maxLength = defaultVoicemailMax
		}
		d.numbers[e164] = &tollFree{
			account: a.ID, number: e164, greeting: n.Greeting,
			voicemail: n.Voicemail.Enabled, maxLength: maxLength,
		}
	}
	if a.Delivery.Type == config.DeliverySIP {
		var u sip.Uri
		if err := sip.ParseUri(a.Delivery.SIPURI, &u); err != nil {
			return fmt.Errorf("delivery.sip_uri %q: %w", a.Delivery.SIPURI, err)
		}
		if u.Scheme != "sip" && u.Scheme != "sips" {
			return fmt.Errorf("delivery.sip_uri %q is not a sip: or sips: URI", a.Delivery.SIPURI)
		}
		d.delivery[a.ID] = u
	}
	return nil
}

func newTrunk(account string, tc config.SIPTrunk) (*trunk, error) {
	t := &trunk{account: account, name: tc.Name, username: tc.Username, realm: tc.Realm}
	for _, c := range tc.AllowedCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("allowed_cidrs: %w", err)
		}
		t.nets = append(t.nets, p.Masked())
	}
	if tc.Username == "" {
		if len(t.nets) == 0 {
			return nil, fmt.Errorf("trunk %q has neither allowed_cidrs nor a username", tc.Name)
		}
		return t, nil
	}
	if t.realm == "" {
		t.realm = "optgate"
	}
	t.ha1 = strings.ToLower(tc.PasswordHA1)
	switch len(t.ha1) {
	case 32:
		t.algorithm = "MD5" // RFC 2617 section 3.2.2.2
	case 64:
		t.algorithm = "SHA-256" // RFC 8760 section 2.2
	default:
		return nil, fmt.Errorf("trunk %q: password_ha1 has %d hex digits; want 32 (MD5) or 64 (SHA-256)",
			tc.Name, len(t.ha1))
	}
	return t, nil
}

// number returns the toll-free number with the E.164 form e164.
func (d *directory) number(e164 string) (*tollFree, bool) {
	n, ok := d.numbers[e164]
	return n, ok
}
