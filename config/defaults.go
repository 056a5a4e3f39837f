package config

import "time"

// Default addresses. All are on 127.0.0.1, so a daemon started without a
// configuration file is not reachable from other hosts.
const (
	DefaultSMPPAddr      = "127.0.0.1:2775"
	DefaultHTTPAddr      = "127.0.0.1:8080"
	DefaultSIPAddr       = "127.0.0.1:5060"
	DefaultSIPTLSAddr    = "127.0.0.1:5061"
	DefaultSimulatorAddr = "127.0.0.1:2776"
	DefaultControlAddr   = "127.0.0.1:2777"
	DefaultRedisAddr     = "127.0.0.1:6379"
	DefaultEmbeddedPath  = "./data/optgate.db"
)

// Defaults of the business SMPP listener's limits.
const (
	DefaultSMPPBindTimeout         = 10 * time.Second
	DefaultSMPPMaxUnbound          = 128
	DefaultSMPPMaxUnboundPerSource = 16
	DefaultSMPPWindow              = 10
	// Waits after failed binds and failed API authentications from one
	// address.
	DefaultFailedBindDelay    = 250 * time.Millisecond
	DefaultMaxFailedBindDelay = 8 * time.Second
	DefaultFailedBindMemory   = 10 * time.Minute
	DefaultFailedAuthDelay    = 250 * time.Millisecond
	DefaultMaxFailedAuthDelay = 8 * time.Second
)

// Defaults of the SIP digest lockout.
const (
	DefaultDigestFailuresAllowed = 5
	DefaultDigestLockout         = time.Second
	DefaultMaxDigestLockout      = 5 * time.Minute
)

// newDefaults returns the configuration a file is decoded over: every
// top-level default, no accounts and no carriers.
func newDefaults() *Config {
	c := &Config{}
	c.Listeners.SMPP = SMPPListener{
		Enabled:             true,
		Addr:                DefaultSMPPAddr,
		BindTimeout:         DefaultSMPPBindTimeout,
		MaxUnbound:          DefaultSMPPMaxUnbound,
		MaxUnboundPerSource: DefaultSMPPMaxUnboundPerSource,
		Window:              DefaultSMPPWindow,
		FailedBindDelay:     DefaultFailedBindDelay,
		MaxFailedBindDelay:  DefaultMaxFailedBindDelay,
		FailedBindMemory:    DefaultFailedBindMemory,
	}
	c.Listeners.HTTP = HTTPListener{Enabled: true, Addr: DefaultHTTPAddr,
		FailedAuthDelay: DefaultFailedAuthDelay, MaxFailedAuthDelay: DefaultMaxFailedAuthDelay}
	c.Listeners.SIP = SIPListener{
		Enabled:               true,
		UDPAddr:               DefaultSIPAddr,
		TCPAddr:               DefaultSIPAddr,
		TLSAddr:               DefaultSIPTLSAddr,
		VoicemailMaxAge:       90 * 24 * time.Hour,
		VoicemailMaxCount:     1000,
		MaxCalls:              32,
		MaxRequests:           512,
		DigestFailuresAllowed: DefaultDigestFailuresAllowed,
		DigestLockout:         DefaultDigestLockout,
		MaxDigestLockout:      DefaultMaxDigestLockout,
	}
	c.Listeners.Simulator = Simulator{
		Addr:         DefaultSimulatorAddr,
		SystemID:     "optgate",
		Password:     "simpass",
		ReceiptDelay: time.Second,
	}
	c.Store = Store{
		Type:     StoreEmbedded,
		Embedded: EmbeddedStore{Path: DefaultEmbeddedPath},
		Redis: RedisStore{
			Topology:     TopologyStandalone,
			Addr:         DefaultRedisAddr,
			KeyPrefix:    "optgate:",
			DialTimeout:  5 * time.Second,
			ReadTimeout:  3 * time.Second,
			WriteTimeout: 3 * time.Second,
			WaitTimeout:  time.Second,
			QueueLease:   time.Minute,
			QueuePoll:    250 * time.Millisecond,
		},
	}
	c.Logging = Logging{Level: "info", Format: LogFormatAuto, MaskNumbers: true}
	c.Receipts = Receipts{IDMapTTL: DefaultIDMapTTL, KeepAfterFinal: DefaultKeepAfterFinal}
	return c
}

// elementDefaults sets the defaults of a new list element, which it gets by
// pointer. The decoder calls it for every list element before decoding the
// element's mapping. Types not listed here start from zero values.
func elementDefaults(v any) {
	switch e := v.(type) {
	case *Account:
		e.Delivery.Type = DeliverySMPP
		e.ReceiptPolicy = ReceiptWorst
	case *TollFreeNumber:
		e.Voicemail.MaxDuration = 2 * time.Minute
	case *ESME:
		e.MaxBinds = 1
	case *SIPTrunk:
		e.Realm = "optgate"
	case *Carrier:
		e.BindType = BindTransceiver
		e.Binds = 1
		e.Window = 10
		e.EnquireLink = 30 * time.Second
		e.ResponseTimeout = 5 * time.Second
		e.DataCoding0 = DataCodingGSM7
		e.LongMessages = LongUDH
		e.MessageID = MessageIDFormat{Format: MessageIDAsIs, LeadingZeros: LeadingZerosKeep}
		e.DefaultRegion = "US"
	}
}

// fillDerived sets the defaults that depend on other fields. It runs after
// decoding, before validation.
func fillDerived(c *Config) {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if a.ContactNumber == "" && len(a.TollFree) > 0 {
			a.ContactNumber = a.TollFree[0].Number
		}
	}
}
