package smpp

import "fmt"

// TON is a type of number, the addr_ton, source_addr_ton, dest_addr_ton and
// esme_addr_ton fields (SMPP 3.4 section 5.2.5).
type TON uint8

// Type of number values from SMPP 3.4 section 5.2.5.
const (
	TONUnknown          TON = 0x00
	TONInternational    TON = 0x01
	TONNational         TON = 0x02
	TONNetworkSpecific  TON = 0x03
	TONSubscriberNumber TON = 0x04
	TONAlphanumeric     TON = 0x05
	TONAbbreviated      TON = 0x06
)

var tonNames = [...]string{
	"unknown", "international", "national", "network_specific",
	"subscriber_number", "alphanumeric", "abbreviated",
}

// String returns the name of the type of number, such as "international".
func (t TON) String() string {
	if int(t) < len(tonNames) {
		return tonNames[t]
	}
	return fmt.Sprintf("ton(0x%02x)", uint8(t))
}

// NPI is a numbering plan indicator, the addr_npi, source_addr_npi,
// dest_addr_npi and esme_addr_npi fields (SMPP 3.4 section 5.2.6).
type NPI uint8

// Numbering plan indicator values from SMPP 3.4 section 5.2.6.
const (
	NPIUnknown    NPI = 0x00
	NPIISDN       NPI = 0x01 // E.163/E.164
	NPIData       NPI = 0x03 // X.121
	NPITelex      NPI = 0x04 // F.69
	NPILandMobile NPI = 0x06 // E.212
	NPINational   NPI = 0x08
	NPIPrivate    NPI = 0x09
	NPIERMES      NPI = 0x0A
	NPIInternet   NPI = 0x0E // IP address
	NPIWAPClient  NPI = 0x12 // WAP client id
)

var npiNames = map[NPI]string{
	NPIUnknown:    "unknown",
	NPIISDN:       "isdn",
	NPIData:       "data",
	NPITelex:      "telex",
	NPILandMobile: "land_mobile",
	NPINational:   "national",
	NPIPrivate:    "private",
	NPIERMES:      "ermes",
	NPIInternet:   "internet",
	NPIWAPClient:  "wap_client",
}

// String returns the name of the numbering plan, such as "isdn".
func (n NPI) String() string {
	if name, ok := npiNames[n]; ok {
		return name
	}
	return fmt.Sprintf("npi(0x%02x)", uint8(n))
}

// DestFlag indicates whether a submit_multi destination is an SME address or a
// distribution list name (SMPP 3.4 section 5.2.25).
type DestFlag uint8

// Destination flag values from SMPP 3.4 section 5.2.25.
const (
	DestFlagSMEAddress DestFlag = 0x01
	DestFlagDLName     DestFlag = 0x02
)

// DestAddress is one destination of a submit_multi (SMPP 3.4 section
// 4.5.1.1). When DestFlag is DestFlagSMEAddress, DestAddrTON, DestAddrNPI
// and DestinationAddr are sent. When it is DestFlagDLName, only DLName is
// sent. The encoder rejects other DestFlag values.
type DestAddress struct {
	DestFlag        DestFlag
	DestAddrTON     TON
	DestAddrNPI     NPI
	DestinationAddr string // at most 20 characters
	DLName          string // at most 20 characters
}

// UnsuccessSME is one destination a submit_multi could not reach, as listed
// in a submit_multi_resp (SMPP 3.4 section 4.5.2.1).
type UnsuccessSME struct {
	DestAddrTON     TON
	DestAddrNPI     NPI
	DestinationAddr string // at most 20 characters
	// ErrorStatusCode is the command_status that explains the failure.
	ErrorStatusCode CommandStatus
}
