package gateway

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

// Carrier holds the settings of one carrier that the routing core needs.
type Carrier struct {
	// Name identifies the carrier in logs, metrics and the id map.
	Name string
	// Text holds the SMSC's meaning of data_coding 0.
	Text smpp.TextOptions
	// Split is the mode for texts longer than one SMS.
	Split smpp.SplitMode
	// IDs is the format of the carrier's message ids.
	IDs IDFormat
	// Region is the ISO 3166-1 region of national numbers from the carrier.
	Region string
}

// CarrierFromConfig converts a validated configuration carrier.
func CarrierFromConfig(c config.Carrier) (Carrier, error) {
	out := Carrier{Name: c.Name, Region: c.DefaultRegion}
	if out.Region == "" {
		out.Region = "US"
	}
	switch c.DataCoding0 {
	case "", config.DataCodingGSM7:
		out.Text.Default = smpp.DefaultGSM
	case config.DataCodingLatin1:
		out.Text.Default = smpp.DefaultLatin1
	default:
		return Carrier{}, fmt.Errorf("carrier %s: unknown data_coding_0 %q", c.Name, c.DataCoding0)
	}
	switch c.LongMessages {
	case "", config.LongUDH:
		out.Split = smpp.SplitUDH
	case config.LongSAR:
		out.Split = smpp.SplitSAR
	case config.LongPayload:
		out.Split = smpp.SplitPayload
	default:
		return Carrier{}, fmt.Errorf("carrier %s: unknown long_messages %q", c.Name, c.LongMessages)
	}
	switch c.MessageID.Format {
	case "", config.MessageIDAsIs:
		out.IDs.Base = IDAsIs
	case config.MessageIDHex:
		out.IDs.Base = IDHex
	case config.MessageIDDecimal:
		out.IDs.Base = IDDecimal
	default:
		return Carrier{}, fmt.Errorf("carrier %s: unknown message_id.format %q", c.Name, c.MessageID.Format)
	}
	switch c.MessageID.LeadingZeros {
	case "", config.LeadingZerosKeep:
	case config.LeadingZerosStrip:
		out.IDs.StripZeros = true
	default:
		return Carrier{}, fmt.Errorf("carrier %s: unknown message_id.leading_zeros %q", c.Name, c.MessageID.LeadingZeros)
	}
	return out, nil
}

// IDBase is the base of the message ids in a carrier's submit_sm_resp.
type IDBase uint8

// Id bases.
const (
	IDAsIs    IDBase = iota // an opaque string, compared exactly
	IDHex                   // hexadecimal digits, compared ignoring case
	IDDecimal               // decimal digits
)

// IDFormat canonicalises a carrier's message ids, so that the id in
// submit_sm_resp and the id in the receipt meet in the id map. The same
// Canonical call runs when the id map is written and when a receipt looks
// an id up.
type IDFormat struct {
	Base IDBase
	// StripZeros compares ids without leading zeros, so "00B8BE19" and
	// "B8BE19" are one id.
	StripZeros bool
}

// Canonical returns the primary id map key of id: trimmed of spaces and
// NULs, upper-cased for hex ids, and without leading zeros when StripZeros
// is set (an id of zeros only becomes "0").
func (f IDFormat) Canonical(id string) string {
	id = strings.Trim(id, " \t\r\n\x00")
	if f.Base == IDHex {
		id = strings.ToUpper(id)
	}
	if f.StripZeros {
		trimmed := strings.TrimLeft(id, "0")
		if trimmed == "" && id != "" {
			trimmed = "0"
		}
		id = trimmed
	}
	return id
}

// numericKey returns the secondary key of an id read in base 16 or 10:
// "#" and its value in decimal. Some SMSCs give an id in hex in
// submit_sm_resp and in decimal in the receipt text, and the value is what
// the two forms share.
func numericKey(id string, base int) (string, bool) {
	id = strings.ToUpper(strings.Trim(id, " \t\r\n\x00"))
	if id == "" || len(id) > 64 {
		return "", false
	}
	for _, c := range id {
		digit := c >= '0' && c <= '9'
		if !digit && !(base == 16 && c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	n, ok := new(big.Int).SetString(id, base)
	if !ok {
		return "", false
	}
	return "#" + n.Text(10), true
}

// storeKeys returns the id map keys of a carrier id from submit_sm_resp:
// the canonical form, and for hex and decimal ids their value.
func (f IDFormat) storeKeys(id string) []string {
	keys := []string{f.Canonical(id)}
	base := map[IDBase]int{IDHex: 16, IDDecimal: 10}[f.Base]
	if base != 0 {
		if k, ok := numericKey(id, base); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// lookupKeys returns the keys to try, in order, for an id from a receipt:
// the canonical form, then the value of the id read in the other base. A
// hex carrier's receipt id of decimal digits only is read as decimal, and
// a decimal carrier's receipt id with the letters A-F as hex.
func (f IDFormat) lookupKeys(id string) []string {
	keys := []string{f.Canonical(id)}
	switch f.Base {
	case IDHex:
		if k, ok := numericKey(id, 10); ok {
			keys = append(keys, k)
		}
	case IDDecimal:
		if _, isDecimal := numericKey(id, 10); !isDecimal {
			if k, ok := numericKey(id, 16); ok {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Router picks the carrier for a destination: the carrier whose route
// prefix is the longest prefix of the number. It is immutable and safe for
// concurrent use.
type Router struct {
	byName   map[string]*Carrier
	byPrefix map[string]*Carrier
	names    []string
	longest  int
}

// NewRouter builds the routing table from validated configuration
// carriers. A prefix is "+" and up to 15 digits; two carriers claiming the
// same prefix is an error.
func NewRouter(carriers []config.Carrier) (*Router, error) {
	r := &Router{byName: map[string]*Carrier{}, byPrefix: map[string]*Carrier{}}
	for _, cc := range carriers {
		c, err := CarrierFromConfig(cc)
		if err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
		if _, dup := r.byName[c.Name]; dup {
			return nil, fmt.Errorf("router: carrier %s is defined twice", c.Name)
		}
		r.byName[c.Name] = &c
		r.names = append(r.names, c.Name)
		for _, prefix := range cc.Routes {
			if err := checkPrefix(prefix); err != nil {
				return nil, fmt.Errorf("router: carrier %s: %w", c.Name, err)
			}
			if other, dup := r.byPrefix[prefix]; dup && other.Name != c.Name {
				return nil, fmt.Errorf("router: route %q belongs to carriers %s and %s", prefix, other.Name, c.Name)
			}
			r.byPrefix[prefix] = &c
			r.longest = max(r.longest, len(prefix))
		}
	}
	return r, nil
}

// checkPrefix accepts "+" followed by at most 15 digits, the length of the
// longest E.164 number.
func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "+") || len(p) > 16 {
		return fmt.Errorf("route %q is not \"+\" and up to 15 digits", p)
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return fmt.Errorf("route %q is not \"+\" and up to 15 digits", p)
		}
	}
	return nil
}

// Route returns the carrier for an E.164 number.
func (r *Router) Route(e164 string) (*Carrier, bool) {
	for n := min(len(e164), r.longest); n >= 1; n-- {
		if c, ok := r.byPrefix[e164[:n]]; ok {
			return c, true
		}
	}
	return nil, false
}

// Carrier returns the settings of the named carrier.
func (r *Router) Carrier(name string) (*Carrier, bool) {
	c, ok := r.byName[name]
	return c, ok
}

// Names returns the carrier names in configuration order.
func (r *Router) Names() []string { return append([]string(nil), r.names...) }
