package smpp

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Delivery receipts, SMPP 3.4 appendix B. An SMSC reports the fate of a
// message in a deliver_sm whose esm_class message type is 0x04 and whose
// short_message holds text such as
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// The appendix calls the format vendor-specific, and SMSCs vary it: fields
// go missing or change order, keys change case, dates gain seconds.

// MessageState is the state of a submitted message: the message_state TLV
// value (SMPP 3.4 section 5.2.28) and the stat field of a receipt.
type MessageState uint8

// Message states, SMPP 3.4 section 5.2.28. The comment gives the stat text
// of a receipt (appendix B, table B-2).
const (
	StateEnroute       MessageState = 1 // ENROUTE
	StateDelivered     MessageState = 2 // DELIVRD
	StateExpired       MessageState = 3 // EXPIRED
	StateDeleted       MessageState = 4 // DELETED
	StateUndeliverable MessageState = 5 // UNDELIV
	StateAccepted      MessageState = 6 // ACCEPTD
	StateUnknown       MessageState = 7 // UNKNOWN
	StateRejected      MessageState = 8 // REJECTD
)

var stateNames = [...]string{
	StateEnroute:       "ENROUTE",
	StateDelivered:     "DELIVRD",
	StateExpired:       "EXPIRED",
	StateDeleted:       "DELETED",
	StateUndeliverable: "UNDELIV",
	StateAccepted:      "ACCEPTD",
	StateUnknown:       "UNKNOWN",
	StateRejected:      "REJECTD",
}

// stateAliases maps the full words some SMSCs write to the state.
var stateAliases = map[string]MessageState{
	"DELIVERED":     StateDelivered,
	"UNDELIVERABLE": StateUndeliverable,
	"ACCEPTED":      StateAccepted,
	"REJECTED":      StateRejected,
}

// String returns the receipt stat text, such as "DELIVRD".
func (s MessageState) String() string {
	if s.Valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("MessageState(%d)", uint8(s))
}

// Valid reports whether s is one of the states SMPP 3.4 defines.
func (s MessageState) Valid() bool {
	return s >= StateEnroute && s <= StateRejected
}

// Final reports whether s ends the message's life: every valid state but
// ENROUTE and UNKNOWN (SMPP 3.4 section 5.2.28).
func (s MessageState) Final() bool {
	return s.Valid() && s != StateEnroute && s != StateUnknown
}

// ParseMessageState reads a receipt stat value, ignoring case. It accepts
// the appendix B texts and the full words DELIVERED, UNDELIVERABLE,
// ACCEPTED and REJECTED.
func ParseMessageState(stat string) (MessageState, bool) {
	upper := strings.ToUpper(strings.TrimSpace(stat))
	for s := StateEnroute; s <= StateRejected; s++ {
		if stateNames[s] == upper {
			return s, true
		}
	}
	s, ok := stateAliases[upper]
	return s, ok
}

// ErrInvalidReceipt means text is not a delivery receipt: it has no id or
// no stat field.
var ErrInvalidReceipt = errors.New("smpp: invalid delivery receipt")

// Receipt is a parsed delivery receipt. Fields the SMSC left out are empty
// or zero.
type Receipt struct {
	// ID is the message id as sent, which the SMSC gave in submit_sm_resp.
	// Compare ids through CanonicalMessageID.
	ID string
	// Submitted and Delivered are the sub and dlvrd counts as sent, such as
	// "001".
	Submitted string
	Delivered string
	// SubmitDate and DoneDate are the SMSC's wall-clock times, stored as
	// UTC because the receipt names no zone.
	SubmitDate time.Time
	DoneDate   time.Time
	// State is the stat field. Stat keeps the text as sent; an
	// unrecognised one leaves State at StateUnknown.
	State MessageState
	Stat  string
	// Err is the network error code as sent, such as "000".
	Err string
	// Text is the start of the original message.
	Text string
}

// Receipt field keys in the order SMPP 3.4 appendix B gives them.
const (
	fieldID = iota
	fieldSub
	fieldDlvrd
	fieldSubmitDate
	fieldDoneDate
	fieldStat
	fieldErr
	fieldText
	fieldCount
)

// keyMatch is a receipt key found in the text.
type keyMatch struct {
	field      int
	start      int // offset of the key
	valueStart int // offset after the colon
}

// ParseReceipt parses delivery receipt text. Keys are matched at the start
// of a word, ignoring case and spaces before the colon; "submit date" also
// matches "submit_date" and "submitdate". Fields may come in any order and
// sub, dlvrd, the dates, err and text may be missing. A value runs to the
// next key not seen before, so text may contain "id:" and other keys that
// came earlier. Dates may have 10 digits (YYMMDDhhmm), 12 (with seconds) or
// 14 (YYYYMMDDhhmmss). A date in another form is left zero. Trailing NULs
// and spaces are ignored.
//
// It returns an error wrapping ErrInvalidReceipt when the id or stat field
// is missing or empty.
func ParseReceipt(text string) (Receipt, error) {
	text = strings.TrimRight(text, "\x00 \t\r\n")

	// A value ends where the next key starts.
	firsts := findReceiptKeys(text)
	var values [fieldCount]string
	for i, m := range firsts {
		end := len(text)
		if i+1 < len(firsts) {
			end = firsts[i+1].start
		}
		values[m.field] = strings.TrimFunc(text[m.valueStart:end], isReceiptSpaceRune)
	}

	r := Receipt{
		ID:         firstToken(values[fieldID]),
		Submitted:  firstToken(values[fieldSub]),
		Delivered:  firstToken(values[fieldDlvrd]),
		SubmitDate: parseReceiptDate(values[fieldSubmitDate]),
		DoneDate:   parseReceiptDate(values[fieldDoneDate]),
		Stat:       firstToken(values[fieldStat]),
		Err:        firstToken(values[fieldErr]),
		Text:       values[fieldText],
	}
	if r.ID == "" {
		return Receipt{}, fmt.Errorf("%w: no id field in %q", ErrInvalidReceipt, clip(text, 80))
	}
	if r.Stat == "" {
		return Receipt{}, fmt.Errorf("%w: no stat field in %q", ErrInvalidReceipt, clip(text, 80))
	}

	state, ok := ParseMessageState(r.Stat)
	if !ok {
		state = StateUnknown
	}
	r.State = state
	return r, nil
}

// findReceiptKeys returns the first match of each key at the start of a
// word, in text order. Later matches of a key are part of some value.
func findReceiptKeys(text string) []keyMatch {
	var matches []keyMatch
	var found [fieldCount]bool
	for i := 0; i < len(text) && len(matches) < fieldCount; i++ {
		switch text[i] | 0x20 { // ASCII lower case
		case 'i', 's', 'd', 'e', 't': // first letters of the keys
		default:
			continue
		}
		if i > 0 && !isReceiptSpace(text[:i]) {
			continue
		}
		if m, ok := matchReceiptKey(text, i); ok {
			if !found[m.field] {
				found[m.field] = true
				matches = append(matches, m)
			}
			i = m.valueStart - 1
		}
	}
	return matches
}

// receiptKeys are the receipt keys; a date key is its word and then "date".
var receiptKeys = []struct {
	word  string
	field int
	date  bool
}{
	{"id", fieldID, false},
	{"sub", fieldSub, false},
	{"dlvrd", fieldDlvrd, false},
	{"submit", fieldSubmitDate, true},
	{"done", fieldDoneDate, true},
	{"stat", fieldStat, false},
	{"err", fieldErr, false},
	{"text", fieldText, false},
}

// matchReceiptKey matches a key and its colon at offset i.
func matchReceiptKey(text string, i int) (keyMatch, bool) {
	for _, w := range receiptKeys {
		j, ok := matchFold(text, i, w.word)
		if !ok {
			continue
		}
		if w.date {
			for j < len(text) && (text[j] == ' ' || text[j] == '_') {
				j++
			}
			if j, ok = matchFold(text, j, "date"); !ok {
				continue
			}
		}
		for j < len(text) && text[j] == ' ' {
			j++
		}
		if j < len(text) && text[j] == ':' {
			return keyMatch{field: w.field, start: i, valueStart: j + 1}, true
		}
	}
	return keyMatch{}, false
}

// matchFold reports whether text has word at offset i, ignoring ASCII case,
// and returns the offset after it.
func matchFold(text string, i int, word string) (int, bool) {
	end := i + len(word)
	if end > len(text) || !strings.EqualFold(text[i:end], word) {
		return i, false
	}
	return end, true
}

// isReceiptSpace reports whether before ends in white space or a NUL, so a
// key may start after it.
func isReceiptSpace(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return isReceiptSpaceRune(r)
}

// isReceiptSpaceRune reports whether r separates receipt fields: Unicode
// white space or NUL, which some SMSCs put between fields. Keys, values and
// tokens all use this one definition, so a value never keeps a separator
// that would start a key when the receipt is written out and read again.
func isReceiptSpaceRune(r rune) bool {
	return r == 0 || unicode.IsSpace(r)
}

// firstToken returns value up to its first field separator.
func firstToken(value string) string {
	if i := strings.IndexFunc(value, isReceiptSpaceRune); i >= 0 {
		return value[:i]
	}
	return value
}

// parseReceiptDate reads YYMMDDhhmm, YYMMDDhhmmss or YYYYMMDDhhmmss; two-
// digit years are 20YY. Spaces inside are ignored. Anything else, or an
// impossible date, gives the zero time.
func parseReceiptDate(value string) time.Time {
	digits := strings.ReplaceAll(value, " ", "")
	var layout string
	switch len(digits) {
	case 10:
		layout = "0601021504"
	case 12:
		layout = "060102150405"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return time.Time{}
		}
	}
	t, err := time.Parse(layout, digits)
	if err != nil {
		return time.Time{}
	}
	if len(digits) != 14 && t.Year() < 2000 {
		// Go reads YY 69-99 as 19YY; receipts are from this century.
		t = t.AddDate(100, 0, 0)
	}
	return t
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// String formats r as SMPP 3.4 appendix B receipt text. It writes id, the
// sub and dlvrd counts and dates when set, stat (Stat when set, else
// State), err when set and text last, always. Dates use 10 digits,
// or 12 when they have seconds. Text is written as given: appendix B puts
// the first 20 characters of the message there, so cut it first.
func (r Receipt) String() string {
	var b strings.Builder
	b.WriteString("id:")
	b.WriteString(r.ID)
	if r.Submitted != "" {
		b.WriteString(" sub:" + r.Submitted)
	}
	if r.Delivered != "" {
		b.WriteString(" dlvrd:" + r.Delivered)
	}
	if !r.SubmitDate.IsZero() {
		b.WriteString(" submit date:" + formatReceiptDate(r.SubmitDate))
	}
	if !r.DoneDate.IsZero() {
		b.WriteString(" done date:" + formatReceiptDate(r.DoneDate))
	}
	stat := r.Stat
	if stat == "" {
		stat = r.State.String()
	}
	b.WriteString(" stat:" + stat)
	if r.Err != "" {
		b.WriteString(" err:" + r.Err)
	}
	b.WriteString(" text:" + r.Text)
	return b.String()
}

func formatReceiptDate(t time.Time) string {
	if t.Second() != 0 {
		return t.Format("060102150405")
	}
	return t.Format("0601021504")
}

// DecodeReceiptText decodes the short_message of a delivery receipt. Its
// octets are read as Latin-1 whatever the data_coding, because receipts are
// ASCII and SMSCs copy the data_coding of the original message into them.
// Two cases differ. Octets that look like UCS2 of Latin-1 text (an even
// count with every even-numbered octet 0x00) are read as UCS2, and GSM 7-bit
// data from a peer that packs it is unpacked first.
func DecodeReceiptText(coding DataCoding, data []byte, opts TextOptions) string {
	if opts.Packed && alphabetOf(coding, opts.Default) == alphabetGSM7 {
		text, err := DecodeGSM(UnpackSeptets(data, 0, -1))
		if err == nil {
			return text
		}
	}
	if looksLikeUCS2(data) {
		text, err := decodeUCS2(coding, data)
		if err == nil {
			return text
		}
	}
	return decodeLatin1(data)
}

// looksLikeUCS2 reports whether data is UCS2 of Latin-1 characters: an even,
// non-zero length with every high octet zero.
func looksLikeUCS2(data []byte) bool {
	if len(data) == 0 || len(data)%2 != 0 {
		return false
	}
	for i := 0; i < len(data); i += 2 {
		if data[i] != 0 {
			return false
		}
	}
	return true
}

// ParseReceiptData decodes a receipt's short_message or message_payload
// with DecodeReceiptText and parses it with ParseReceipt.
func ParseReceiptData(coding DataCoding, data []byte, opts TextOptions) (Receipt, error) {
	return ParseReceipt(DecodeReceiptText(coding, data, opts))
}
