package config

import "time"

// Bind types (SMPP 3.4 section 4.1).
const (
	BindTransceiver = "transceiver" // bind_transceiver: send and receive
	BindTransmitter = "transmitter" // bind_transmitter: send only
	BindReceiver    = "receiver"    // bind_receiver: receive only
)

// Meanings of data_coding 0, which SMPP 3.4 section 5.2.19 leaves to the
// SMSC's default alphabet.
const (
	DataCodingGSM7   = "gsm7"   // GSM 03.38 default alphabet, one septet per octet
	DataCodingLatin1 = "latin1" // ISO-8859-1
)

// Ways to send a text longer than one short message.
const (
	LongUDH     = "udh"     // concatenation UDH in short_message, esm_class UDHI set
	LongSAR     = "sar"     // sar_msg_ref_num, sar_total_segments, sar_segment_seqnum TLVs
	LongPayload = "payload" // the whole text in one message_payload TLV
)

// Message id formats in submit_sm_resp and receipts.
const (
	MessageIDAsIs    = "as_is"   // an opaque string, compared as written
	MessageIDHex     = "hex"     // hexadecimal digits, compared case-insensitively
	MessageIDDecimal = "decimal" // decimal digits
)

// Leading zero handling of message ids.
const (
	LeadingZerosKeep  = "keep"  // "00B8BE19" and "B8BE19" are different ids
	LeadingZerosStrip = "strip" // "00B8BE19" and "B8BE19" are the same id
)

// Carrier is an SMSC that optgate binds to as an ESME to send business texts
// and receive replies and delivery receipts.
type Carrier struct {
	// Name identifies the carrier in logs and metrics: lowercase letters,
	// digits, '-' and '_', at most 64 characters, unique. Required.
	Name string `yaml:"name"`
	// Address is the SMSC's host:port. Required.
	Address string `yaml:"address"`
	// SystemID is the system_id for bind requests, at most 15 characters
	// (SMPP 3.4 section 4.1.1). Required.
	SystemID string `yaml:"system_id"`
	// Password is the bind password, at most 8 characters (SMPP 3.4
	// section 4.1.1). Write it as ${NAME} to read it from the environment.
	// Default: empty.
	Password string `yaml:"password" secret:"true"`
	// SystemType is the system_type for bind requests, at most 12
	// characters (SMPP 3.4 section 4.1.1). Default: empty.
	SystemType string `yaml:"system_type"`
	// BindType is transceiver, transmitter or receiver. Default: transceiver.
	BindType string `yaml:"bind_type"`
	// Binds is how many sessions optgate keeps bound, between 1 and 64.
	// Default: 1.
	Binds int `yaml:"binds"`
	// Window is how many requests each session may have awaiting a
	// response, between 1 and 1000. Default: 10.
	Window int `yaml:"window"`
	// Rate is the maximum number of message parts (segments) per second
	// sent to this carrier over all its binds. Zero means no limit.
	// Default: 0.
	Rate float64 `yaml:"rate"`
	// EnquireLink is the interval between enquire_link requests on an
	// idle session (SMPP 3.4 section 4.11). Default: 30s.
	EnquireLink time.Duration `yaml:"enquire_link"`
	// ResponseTimeout is how long a submit_sm waits for its
	// submit_sm_resp. A submit that gets none is reported to the business
	// as carrier_timeout, and the session is checked with an enquire_link
	// at once and closed and bound again when that gets no response
	// either. It is kept below the 10 s that ESME clients commonly wait
	// for a submit_sm_resp, so that a business gets optgate's status
	// before its own timeout. Default: 5s.
	ResponseTimeout time.Duration `yaml:"response_timeout"`
	// TLS wraps the connection in TLS. Default: off.
	TLS CarrierTLS `yaml:"tls"`
	// Routes are the destination prefixes this carrier takes, in E.164 form
	// such as "+1" or "+4420". "+" alone takes every destination. At least
	// one is required.
	Routes []string `yaml:"routes"`
	// DataCoding0 is what data_coding 0 means on this SMSC: gsm7 or latin1.
	// Default: gsm7.
	DataCoding0 string `yaml:"data_coding_0"`
	// LongMessages is the mode for texts longer than one message: udh, sar
	// or payload. Default: udh.
	LongMessages string `yaml:"long_messages"`
	// MessageID describes the carrier's message ids, so that receipts match
	// the submit_sm_resp they belong to.
	MessageID MessageIDFormat `yaml:"message_id"`
	// DefaultRegion is the ISO 3166-1 alpha-2 region used to read national
	// numbers (without a leading +) from this carrier. Default: US.
	DefaultRegion string `yaml:"default_region"`
}

// CarrierTLS configures TLS towards an SMSC.
type CarrierTLS struct {
	// Enabled wraps the connection in TLS. Default: false.
	Enabled bool `yaml:"enabled"`
	// ServerName is the name checked against the SMSC's certificate.
	// Default: the host part of Address.
	ServerName string `yaml:"server_name"`
	// CAFile is a PEM file of the certificates trusted to sign the SMSC's
	// certificate. Default: empty, which trusts the system roots.
	CAFile string `yaml:"ca_file"`
}

// MessageIDFormat describes how a carrier writes message ids.
type MessageIDFormat struct {
	// Format is as_is, hex or decimal. Default: as_is.
	Format string `yaml:"format"`
	// LeadingZeros is keep or strip. With strip, ids are compared without
	// their leading zeros, for carriers that add or drop them between
	// submit_sm_resp and the receipt. Default: keep.
	LeadingZeros string `yaml:"leading_zeros"`
}
