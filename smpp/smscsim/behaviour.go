package smscsim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/optgate/optgate/smpp"
)

// Behaviour is the set of carrier habits the simulator mimics. It can
// change at run time with Simulator.SetBehaviour; messages already
// accepted keep the receipt settings they were accepted with. The zero
// value responds with decimal ids and sends a DELIVRD receipt at once.
type Behaviour struct {
	// ResponseIDFormat is the message id format of submit_sm_resp,
	// data_sm_resp and submit_multi_resp. Default: IDDecimal.
	ResponseIDFormat IDFormat
	// ReceiptIDFormat is the format of the same id in the receipt text and
	// the receipted_message_id TLV. Default: ResponseIDFormat.
	ReceiptIDFormat IDFormat
	// ReceiptDelay is the time from the response to the receipt. Zero
	// sends the receipt at once. Default: 0.
	ReceiptDelay time.Duration
	// ReceiptFirst sends the receipt before the response: the response
	// goes out once the ESME has responded to the receipt's deliver_sm, or
	// that deliver_sm failed. ReceiptDelay is then ignored.
	ReceiptFirst bool
	// ReceiptState is the final state the receipt reports, such as
	// smpp.StateUndeliverable. Default: smpp.StateDelivered.
	ReceiptState smpp.MessageState
	// ReceiptErr is the err field of the receipt text. Default: "000" for
	// DELIVRD and "001" for any other state.
	ReceiptErr string
	// NetworkErrorCode, when set, adds the network_error_code TLV (SMPP
	// 3.4 section 5.3.2.31) to the receipt.
	NetworkErrorCode *smpp.NetworkErrorCode
	// ReceiptCopyDataCoding copies the submitted message's data_coding
	// into the receipt, whose text stays ASCII, as SMSCs that send a UCS2
	// data_coding with an ASCII receipt do. Default: data_coding 0x00.
	ReceiptCopyDataCoding bool
	// ReceiptNoTLVs leaves out the receipted_message_id and message_state
	// TLVs, so the text is the only source of the id and state.
	ReceiptNoTLVs bool
	// Throttle is the most submits a second the simulator accepts over
	// all binds. Submits beyond it get ESME_RTHROTTLED (0x58) and do not
	// count towards any rule. Default: 0, no limit.
	Throttle float64
}

// validate checks b and fills its defaults.
func (b *Behaviour) validate() error {
	var err error
	if b.ResponseIDFormat, err = ParseIDFormat(string(b.ResponseIDFormat)); err != nil {
		return fmt.Errorf("response id format: %w", err)
	}
	if b.ReceiptIDFormat == "" {
		b.ReceiptIDFormat = b.ResponseIDFormat
	}
	if b.ReceiptIDFormat, err = ParseIDFormat(string(b.ReceiptIDFormat)); err != nil {
		return fmt.Errorf("receipt id format: %w", err)
	}
	if b.ReceiptDelay < 0 {
		return fmt.Errorf("receipt delay %v is negative", b.ReceiptDelay)
	}
	if b.ReceiptState == 0 {
		b.ReceiptState = smpp.StateDelivered
	}
	if !b.ReceiptState.Final() {
		return fmt.Errorf("receipt state %v is not a final message state", b.ReceiptState)
	}
	if len(b.ReceiptErr) > 3 {
		return fmt.Errorf("receipt err %q is longer than 3 characters", b.ReceiptErr)
	}
	if b.Throttle < 0 {
		return fmt.Errorf("throttle %v is negative", b.Throttle)
	}
	return nil
}

// Rule changes the response to the submits it matches. A rule matches a
// submit_sm, data_sm or submit_multi when every match field set is met.
// Rules are tried in the order they were added; the first one that matches
// and still has submits to act on decides. A rule whose Count is used up
// is removed.
type Rule struct {
	// Destination matches the destination address, ignoring a leading
	// '+' on either side. A submit_multi matches when any destination
	// does. Empty matches every destination.
	Destination string
	// TextContains matches a decoded message text that contains it, case
	// sensitively. Empty matches every text.
	TextContains string

	// After is the number of matching submits the rule lets through
	// unchanged before it acts. Default: 0.
	After int
	// Count is the number of matching submits the rule acts on. Default:
	// 0, every matching submit until the rule is removed.
	Count int

	// Status, when not zero, is the command_status of the response,
	// such as smpp.StatusThrottled (0x58), smpp.StatusMsgQueueFull (0x14)
	// or smpp.StatusSubmitFailed (0x45). The message is not accepted.
	Status smpp.CommandStatus
	// Delay holds the response back for this long.
	Delay time.Duration
	// Drop sends no response to the submits the rule acts on, and closes the
	// connection at the last of them (the Count-th, or the first when
	// Count is 0). Such submits take a slot of the session's inbound
	// window until then.
	Drop bool
	// ReceiptState and NetworkErrorCode, when set, replace the
	// Behaviour's for the receipt of an accepted message.
	ReceiptState     smpp.MessageState
	NetworkErrorCode *smpp.NetworkErrorCode
}

// validate checks r.
func (r *Rule) validate() error {
	switch {
	case r.After < 0 || r.Count < 0:
		return fmt.Errorf("rule after %d and count %d must not be negative", r.After, r.Count)
	case r.Delay < 0:
		return fmt.Errorf("rule delay %v is negative", r.Delay)
	case r.ReceiptState != 0 && !r.ReceiptState.Final():
		return fmt.Errorf("rule receipt state %v is not a final message state", r.ReceiptState)
	case r.Drop && r.Status != 0:
		return errors.New("rule sets both drop and status: a dropped submit gets no status")
	case !r.Drop && r.Status == 0 && r.Delay == 0 && r.ReceiptState == 0 && r.NetworkErrorCode == nil:
		return errors.New("rule has no action: set status, delay, drop, receipt state or network error code")
	}
	return nil
}

// matches reports whether the rule's match fields fit the submit.
func (r *Rule) matches(destinations []string, text string) bool {
	if r.TextContains != "" && !strings.Contains(text, r.TextContains) {
		return false
	}
	if r.Destination == "" {
		return true
	}
	want := strings.TrimPrefix(r.Destination, "+")
	for _, d := range destinations {
		if strings.TrimPrefix(d, "+") == want {
			return true
		}
	}
	return false
}

// RuleState is a rule with its progress.
type RuleState struct {
	Rule
	// Matched is the number of submits that matched so far.
	Matched int
	// Acted is the number of submits the rule acted on so far.
	Acted int
}

// ruleAction is a rule's decision for one submit.
type ruleAction struct {
	rule Rule
	// last is set on the submit that used up a counted rule.
	last bool
}

// rules is the ordered rule list. The caller holds the simulator's lock.
type rules struct {
	list []*RuleState
}

// apply finds the rule for a submit and counts it. It returns nil when no
// rule acts on the submit.
func (rs *rules) apply(destinations []string, text string) *ruleAction {
	for i, st := range rs.list {
		if !st.matches(destinations, text) {
			continue
		}
		st.Matched++
		if st.Matched <= st.After {
			// This rule lets the submit through, and returning here keeps
			// later rules from counting it too.
			return nil
		}
		st.Acted++
		act := &ruleAction{rule: st.Rule}
		if st.Count > 0 && st.Acted >= st.Count {
			act.last = true
			rs.list = append(rs.list[:i], rs.list[i+1:]...)
		}
		return act
	}
	return nil
}

func (rs *rules) snapshot() []RuleState {
	out := make([]RuleState, len(rs.list))
	for i, st := range rs.list {
		out[i] = *st
	}
	return out
}
