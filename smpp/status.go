package smpp

import "fmt"

// CommandStatus is the command_status header field: zero in requests, and in
// responses the outcome of the request (SMPP 3.4 section 5.1.3).
type CommandStatus uint32

// Command status values from SMPP 3.4 section 5.1.3, table 5-2. The comment
// after each constant gives its spec mnemonic, which String also returns.
// Values 0x0400 to 0x04FF are reserved for SMSC vendors and have no name.
const (
	StatusOK                        CommandStatus = 0x00000000 // ESME_ROK: no error
	StatusInvalidMsgLength          CommandStatus = 0x00000001 // ESME_RINVMSGLEN
	StatusInvalidCommandLength      CommandStatus = 0x00000002 // ESME_RINVCMDLEN
	StatusInvalidCommandID          CommandStatus = 0x00000003 // ESME_RINVCMDID
	StatusInvalidBindStatus         CommandStatus = 0x00000004 // ESME_RINVBNDSTS
	StatusAlreadyBound              CommandStatus = 0x00000005 // ESME_RALYBND
	StatusInvalidPriorityFlag       CommandStatus = 0x00000006 // ESME_RINVPRTFLG
	StatusInvalidRegisteredDelivery CommandStatus = 0x00000007 // ESME_RINVREGDLVFLG
	StatusSystemError               CommandStatus = 0x00000008 // ESME_RSYSERR
	StatusInvalidSourceAddr         CommandStatus = 0x0000000A // ESME_RINVSRCADR
	StatusInvalidDestAddr           CommandStatus = 0x0000000B // ESME_RINVDSTADR
	StatusInvalidMessageID          CommandStatus = 0x0000000C // ESME_RINVMSGID
	StatusBindFailed                CommandStatus = 0x0000000D // ESME_RBINDFAIL
	StatusInvalidPassword           CommandStatus = 0x0000000E // ESME_RINVPASWD
	StatusInvalidSystemID           CommandStatus = 0x0000000F // ESME_RINVSYSID
	StatusCancelFailed              CommandStatus = 0x00000011 // ESME_RCANCELFAIL
	StatusReplaceFailed             CommandStatus = 0x00000013 // ESME_RREPLACEFAIL
	StatusMsgQueueFull              CommandStatus = 0x00000014 // ESME_RMSGQFUL
	StatusInvalidServiceType        CommandStatus = 0x00000015 // ESME_RINVSERTYP
	StatusInvalidNumDests           CommandStatus = 0x00000033 // ESME_RINVNUMDESTS
	StatusInvalidDLName             CommandStatus = 0x00000034 // ESME_RINVDLNAME
	StatusInvalidDestFlag           CommandStatus = 0x00000040 // ESME_RINVDESTFLAG
	StatusInvalidSubmitReplace      CommandStatus = 0x00000042 // ESME_RINVSUBREP
	StatusInvalidESMClass           CommandStatus = 0x00000043 // ESME_RINVESMCLASS
	StatusCannotSubmitToDL          CommandStatus = 0x00000044 // ESME_RCNTSUBDL
	StatusSubmitFailed              CommandStatus = 0x00000045 // ESME_RSUBMITFAIL
	StatusInvalidSourceTON          CommandStatus = 0x00000048 // ESME_RINVSRCTON
	StatusInvalidSourceNPI          CommandStatus = 0x00000049 // ESME_RINVSRCNPI
	StatusInvalidDestTON            CommandStatus = 0x00000050 // ESME_RINVDSTTON
	StatusInvalidDestNPI            CommandStatus = 0x00000051 // ESME_RINVDSTNPI
	StatusInvalidSystemType         CommandStatus = 0x00000053 // ESME_RINVSYSTYP
	StatusInvalidReplaceFlag        CommandStatus = 0x00000054 // ESME_RINVREPFLAG
	StatusInvalidNumMessages        CommandStatus = 0x00000055 // ESME_RINVNUMMSGS
	StatusThrottled                 CommandStatus = 0x00000058 // ESME_RTHROTTLED
	StatusInvalidSchedule           CommandStatus = 0x00000061 // ESME_RINVSCHED
	StatusInvalidExpiry             CommandStatus = 0x00000062 // ESME_RINVEXPIRY
	StatusInvalidDefaultMsgID       CommandStatus = 0x00000063 // ESME_RINVDFTMSGID
	StatusTempAppError              CommandStatus = 0x00000064 // ESME_RX_T_APPN
	StatusPermAppError              CommandStatus = 0x00000065 // ESME_RX_P_APPN
	StatusRejectAppError            CommandStatus = 0x00000066 // ESME_RX_R_APPN
	StatusQueryFailed               CommandStatus = 0x00000067 // ESME_RQUERYFAIL
	StatusInvalidTLVStream          CommandStatus = 0x000000C0 // ESME_RINVOPTPARSTREAM
	StatusTLVNotAllowed             CommandStatus = 0x000000C1 // ESME_ROPTPARNOTALLWD
	StatusInvalidTLVLength          CommandStatus = 0x000000C2 // ESME_RINVPARLEN
	StatusMissingTLV                CommandStatus = 0x000000C3 // ESME_RMISSINGOPTPARAM
	StatusInvalidTLVValue           CommandStatus = 0x000000C4 // ESME_RINVOPTPARAMVAL
	StatusDeliveryFailure           CommandStatus = 0x000000FE // ESME_RDELIVERYFAILURE
	StatusUnknownError              CommandStatus = 0x000000FF // ESME_RUNKNOWNERR
)

type statusInfo struct {
	mnemonic    string
	description string
}

// statusInfos holds the mnemonic and the description of each status, worded
// after SMPP 3.4 table 5-2.
var statusInfos = map[CommandStatus]statusInfo{
	StatusOK:                        {"ESME_ROK", "no error"},
	StatusInvalidMsgLength:          {"ESME_RINVMSGLEN", "message length is invalid"},
	StatusInvalidCommandLength:      {"ESME_RINVCMDLEN", "command length is invalid"},
	StatusInvalidCommandID:          {"ESME_RINVCMDID", "invalid command id"},
	StatusInvalidBindStatus:         {"ESME_RINVBNDSTS", "incorrect bind status for given command"},
	StatusAlreadyBound:              {"ESME_RALYBND", "ESME already in bound state"},
	StatusInvalidPriorityFlag:       {"ESME_RINVPRTFLG", "invalid priority flag"},
	StatusInvalidRegisteredDelivery: {"ESME_RINVREGDLVFLG", "invalid registered delivery flag"},
	StatusSystemError:               {"ESME_RSYSERR", "system error"},
	StatusInvalidSourceAddr:         {"ESME_RINVSRCADR", "invalid source address"},
	StatusInvalidDestAddr:           {"ESME_RINVDSTADR", "invalid destination address"},
	StatusInvalidMessageID:          {"ESME_RINVMSGID", "message id is invalid"},
	StatusBindFailed:                {"ESME_RBINDFAIL", "bind failed"},
	StatusInvalidPassword:           {"ESME_RINVPASWD", "invalid password"},
	StatusInvalidSystemID:           {"ESME_RINVSYSID", "invalid system id"},
	StatusCancelFailed:              {"ESME_RCANCELFAIL", "cancel_sm failed"},
	StatusReplaceFailed:             {"ESME_RREPLACEFAIL", "replace_sm failed"},
	StatusMsgQueueFull:              {"ESME_RMSGQFUL", "message queue full"},
	StatusInvalidServiceType:        {"ESME_RINVSERTYP", "invalid service type"},
	StatusInvalidNumDests:           {"ESME_RINVNUMDESTS", "invalid number of destinations"},
	StatusInvalidDLName:             {"ESME_RINVDLNAME", "invalid distribution list name"},
	StatusInvalidDestFlag:           {"ESME_RINVDESTFLAG", "destination flag is invalid (submit_multi)"},
	StatusInvalidSubmitReplace:      {"ESME_RINVSUBREP", "invalid submit with replace request"},
	StatusInvalidESMClass:           {"ESME_RINVESMCLASS", "invalid esm_class field data"},
	StatusCannotSubmitToDL:          {"ESME_RCNTSUBDL", "cannot submit to distribution list"},
	StatusSubmitFailed:              {"ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"},
	StatusInvalidSourceTON:          {"ESME_RINVSRCTON", "invalid source address TON"},
	StatusInvalidSourceNPI:          {"ESME_RINVSRCNPI", "invalid source address NPI"},
	StatusInvalidDestTON:            {"ESME_RINVDSTTON", "invalid destination address TON"},
	StatusInvalidDestNPI:            {"ESME_RINVDSTNPI", "invalid destination address NPI"},
	StatusInvalidSystemType:         {"ESME_RINVSYSTYP", "invalid system_type field"},
	StatusInvalidReplaceFlag:        {"ESME_RINVREPFLAG", "invalid replace_if_present flag"},
	StatusInvalidNumMessages:        {"ESME_RINVNUMMSGS", "invalid number of messages"},
	StatusThrottled:                 {"ESME_RTHROTTLED", "throttling error (ESME has exceeded allowed message limits)"},
	StatusInvalidSchedule:           {"ESME_RINVSCHED", "invalid scheduled delivery time"},
	StatusInvalidExpiry:             {"ESME_RINVEXPIRY", "invalid message validity period (expiry time)"},
	StatusInvalidDefaultMsgID:       {"ESME_RINVDFTMSGID", "predefined message invalid or not found"},
	StatusTempAppError:              {"ESME_RX_T_APPN", "ESME receiver temporary app error code"},
	StatusPermAppError:              {"ESME_RX_P_APPN", "ESME receiver permanent app error code"},
	StatusRejectAppError:            {"ESME_RX_R_APPN", "ESME receiver reject message error code"},
	StatusQueryFailed:               {"ESME_RQUERYFAIL", "query_sm request failed"},
	StatusInvalidTLVStream:          {"ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU body"},
	StatusTLVNotAllowed:             {"ESME_ROPTPARNOTALLWD", "optional parameter not allowed"},
	StatusInvalidTLVLength:          {"ESME_RINVPARLEN", "invalid parameter length"},
	StatusMissingTLV:                {"ESME_RMISSINGOPTPARAM", "expected optional parameter missing"},
	StatusInvalidTLVValue:           {"ESME_RINVOPTPARAMVAL", "invalid optional parameter value"},
	StatusDeliveryFailure:           {"ESME_RDELIVERYFAILURE", "delivery failure (used for data_sm_resp)"},
	StatusUnknownError:              {"ESME_RUNKNOWNERR", "unknown error"},
}

// String returns the spec mnemonic, such as "ESME_RINVSYSID", or
// "command_status(0x...)" for a value SMPP 3.4 does not name.
func (s CommandStatus) String() string {
	if info, ok := statusInfos[s]; ok {
		return info.mnemonic
	}
	return fmt.Sprintf("command_status(0x%08x)", uint32(s))
}

// Description returns the meaning of the status from SMPP 3.4 table 5-2, or
// "vendor-specific error" and "reserved" for unnamed values.
func (s CommandStatus) Description() string {
	if info, ok := statusInfos[s]; ok {
		return info.description
	}
	if s >= 0x400 && s <= 0x4FF {
		return "vendor-specific error"
	}
	return "reserved"
}
