package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// routePattern is a destination prefix: "+" and up to 15 digits.
var routePattern = regexp.MustCompile(`^\+[0-9]{0,15}$`)

func (v *validator) carriers(carriers []Carrier) {
	if len(carriers) == 0 {
		v.warnf("carriers", "no carriers are configured, so business texts cannot be sent")
		return
	}
	names := map[string]string{}
	for i := range carriers {
		p := fmt.Sprintf("carriers[%d]", i)
		c := &carriers[i]
		switch {
		case c.Name == "":
			v.errorf(p+".name", "is required")
		case !identifier.MatchString(c.Name):
			v.errorf(p+".name", "%q is not a valid name; use 1 to 64 lowercase letters, digits, "+
				"'-' and '_', starting with a letter or digit", c.Name)
		default:
			v.unique(names, c.Name, p+".name", "carrier name")
		}
		v.carrier(p, c)
	}
}

func (v *validator) carrier(p string, c *Carrier) {
	v.dialAddr(p+".address", c.Address)
	v.smppString(p+".system_id", c.SystemID, 15, true)
	v.smppString(p+".password", c.Password, 8, false)
	v.smppString(p+".system_type", c.SystemType, 12, false)

	switch c.BindType {
	case BindTransceiver:
	case BindTransmitter:
		v.warnf(p+".bind_type", "a transmitter bind receives no replies or delivery receipts "+
			"from this carrier")
	case BindReceiver:
	default:
		v.errorf(p+".bind_type", "%q is not a bind type; use transceiver, transmitter or receiver",
			c.BindType)
	}
	if c.Binds < 1 || c.Binds > 64 {
		v.errorf(p+".binds", "must be between 1 and 64, got %d", c.Binds)
	}
	if c.Window < 1 || c.Window > 1000 {
		v.errorf(p+".window", "must be between 1 and 1000, got %d", c.Window)
	}
	if c.Rate < 0 {
		v.errorf(p+".rate", "must not be negative; use 0 for no limit")
	}
	v.positive(p+".enquire_link", c.EnquireLink)
	v.positive(p+".response_timeout", c.ResponseTimeout)
	if c.ResponseTimeout >= 10*time.Second {
		v.warnf(p+".response_timeout", "is %v; ESME clients commonly wait 10s for a submit_sm_resp, "+
			"so a business may time out before optgate reports carrier_timeout", c.ResponseTimeout)
	}
	if c.TLS.CAFile != "" {
		v.fileExists(p+".tls.ca_file", c.TLS.CAFile)
		if !c.TLS.Enabled {
			v.warnf(p+".tls.ca_file", "is ignored because tls.enabled is false")
		}
	}

	v.routes(p, c)
	v.oneOf(p+".data_coding_0", c.DataCoding0, "data_coding 0 meaning", DataCodingGSM7, DataCodingLatin1)
	v.oneOf(p+".long_messages", c.LongMessages, "long message mode", LongUDH, LongSAR, LongPayload)
	v.oneOf(p+".message_id.format", c.MessageID.Format, "message id format",
		MessageIDAsIs, MessageIDHex, MessageIDDecimal)
	v.oneOf(p+".message_id.leading_zeros", c.MessageID.LeadingZeros, "leading zero rule",
		LeadingZerosKeep, LeadingZerosStrip)
	if _, ok := phonenumbers.GetSupportedRegions()[c.DefaultRegion]; !ok {
		v.errorf(p+".default_region", "%q is not a supported ISO 3166-1 alpha-2 region, "+
			"such as US or CA", c.DefaultRegion)
	}
}

func (v *validator) routes(p string, c *Carrier) {
	if c.BindType == BindReceiver {
		if len(c.Routes) > 0 {
			v.warnf(p+".routes", "are ignored because a receiver bind cannot send")
		}
		return
	}
	if len(c.Routes) == 0 {
		v.errorf(p+".routes", "at least one destination prefix is required, such as \"+1\"; "+
			"\"+\" takes every destination")
	}
	seen := map[string]string{}
	for i, r := range c.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", p, i)
		if !routePattern.MatchString(r) {
			v.errorf(rp, "%q is not a destination prefix; write + and up to 15 digits, such as \"+1\"", r)
			continue
		}
		v.unique(seen, r, rp, "route")
	}
}

// oneOf reports an error unless value is one of allowed. description names
// the kind of value in the message.
func (v *validator) oneOf(path, value, description string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.errorf(path, "%q is not a valid %s; use %s", value, description, strings.Join(allowed, ", "))
}
