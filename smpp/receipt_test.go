package smpp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func date(year int, month time.Month, day, hour, minute, second int) time.Time {
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC)
}

// Regression: the carrier returned id 00B8BE19 in submit_sm_resp while the
// lookup normalised it to B8BE19, so no receipt found its message.
func TestRegressionReceiptHexIDLeadingZeros(t *testing.T) {
	r, err := ParseReceipt("id:00B8BE19 sub:001 dlvrd:001 submit date:2612041530 " +
		"done date:2612041531 stat:DELIVRD err:000 text:Your code is")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "00B8BE19" {
		t.Errorf("id = %q, want 00B8BE19 as sent", r.ID)
	}
	if CanonicalMessageID(r.ID, IDKeepBase) != CanonicalMessageID("B8BE19", IDKeepBase) {
		t.Errorf("canonical ids differ: %q vs %q",
			CanonicalMessageID(r.ID, IDKeepBase), CanonicalMessageID("B8BE19", IDKeepBase))
	}
	want := Receipt{ID: "00B8BE19", Submitted: "001", Delivered: "001",
		SubmitDate: date(2026, 12, 4, 15, 30, 0), DoneDate: date(2026, 12, 4, 15, 31, 0),
		State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "Your code is"}
	if r != want {
		t.Errorf("receipt = %+v\nwant %+v", r, want)
	}
}

// Regression: a strict parser failed on a receipt without sub, dlvrd and
// text.
func TestRegressionReceiptMissingOptionalFields(t *testing.T) {
	r, err := ParseReceipt("id:0654354026 submit date:2612041454 done date:2612041454 stat:DELIVRD err:000")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "0654354026" || r.State != StateDelivered || r.Err != "000" {
		t.Errorf("receipt = %+v", r)
	}
	if !r.SubmitDate.Equal(date(2026, 12, 4, 14, 54, 0)) || !r.DoneDate.Equal(date(2026, 12, 4, 14, 54, 0)) {
		t.Errorf("dates = %v, %v; want 2026-12-04 14:54", r.SubmitDate, r.DoneDate)
	}
	if r.Submitted != "" || r.Delivered != "" || r.Text != "" {
		t.Errorf("absent fields = %q %q %q, want empty", r.Submitted, r.Delivered, r.Text)
	}
}

// Regression: the SMSC copied UCS2 data_coding into an ASCII receipt and
// decoders produced CJK text.
func TestRegressionReceiptUCS2CodingASCIIBody(t *testing.T) {
	body := []byte("id:S2131124209163650445 sub:001 dlvrd:001 submit date:261204163650 " +
		"done date:261204163657 stat:DELIVRD err:000 text:")
	if len(body) != 116 {
		t.Fatalf("receipt body is %d octets, want 116", len(body))
	}
	r, err := ParseReceiptData(CodingUCS2, body, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "S2131124209163650445" || r.State != StateDelivered {
		t.Errorf("receipt = %+v", r)
	}
	if !r.SubmitDate.Equal(date(2026, 12, 4, 16, 36, 50)) || !r.DoneDate.Equal(date(2026, 12, 4, 16, 36, 57)) {
		t.Errorf("dates = %v, %v; want seconds 50 and 57", r.SubmitDate, r.DoneDate)
	}
}

// Regression: a receipt parser rejected stat UNDELIV with a four-digit err.
func TestRegressionReceiptUndeliverable(t *testing.T) {
	r, err := ParseReceipt("id:7A3F0011 sub:001 dlvrd:000 submit date:2612041200 " +
		"done date:2612041201 stat:UNDELIV err:2050 text:")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "7A3F0011" || r.State != StateUndeliverable || r.Err != "2050" || r.Delivered != "000" {
		t.Errorf("receipt = %+v", r)
	}
	if r.State.Final() != true || uint8(r.State) != 5 {
		t.Errorf("state %v: Final %v, value %d; want final, 5", r.State, r.State.Final(), uint8(r.State))
	}
}

func TestParseReceiptTolerance(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Receipt
	}{
		{"reordered with key case",
			"Stat:EXPIRED Text:hello there ID:42 Err:001",
			Receipt{ID: "42", State: StateExpired, Stat: "EXPIRED", Err: "001", Text: "hello there"}},
		{"extra spaces",
			"id:  99   sub:001  dlvrd:000   submit date:2612041530  done  date: 2612041531  stat : REJECTD  err:  0",
			Receipt{ID: "99", Submitted: "001", Delivered: "000", SubmitDate: date(2026, 12, 4, 15, 30, 0),
				DoneDate: date(2026, 12, 4, 15, 31, 0), State: StateRejected, Stat: "REJECTD", Err: "0"}},
		{"underscore dates and full word state",
			"id:abc submit_date:20261204153012 done_date:2612041531 stat:delivered err:000",
			Receipt{ID: "abc", SubmitDate: date(2026, 12, 4, 15, 30, 12), DoneDate: date(2026, 12, 4, 15, 31, 0),
				State: StateDelivered, Stat: "delivered", Err: "000"}},
		{"text holds earlier keys",
			"id:1 stat:DELIVRD err:000 text:your id:55 stat:X",
			Receipt{ID: "1", State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "your id:55 stat:X"}},
		{"text before other fields",
			"text:hi id:7 stat:ENROUTE",
			Receipt{ID: "7", State: StateEnroute, Stat: "ENROUTE", Text: "hi"}},
		{"unknown stat kept as text",
			"id:7 stat:FAILED",
			Receipt{ID: "7", State: StateUnknown, Stat: "FAILED"}},
		{"trailing nul and newline",
			"id:7 stat:ACCEPTD text:ok\r\n\x00",
			Receipt{ID: "7", State: StateAccepted, Stat: "ACCEPTD", Text: "ok"}},
		{"bad date left zero",
			"id:7 submit date:26120415 done date:2613041530 stat:DELETED",
			Receipt{ID: "7", State: StateDeleted, Stat: "DELETED"}},
		{"colon inside a word is not a key",
			"id:7 stat:UNKNOWN err:000 text:Tid:9",
			Receipt{ID: "7", State: StateUnknown, Stat: "UNKNOWN", Err: "000", Text: "Tid:9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReceipt(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseReceiptInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"hello world",
		"stat:DELIVRD err:000",
		"id: stat:DELIVRD",
		"id:123 err:000 text:stat:DELIVRD",
		"identity:5 stat:DELIVRD",
	} {
		_, err := ParseReceipt(in)
		if !errors.Is(err, ErrInvalidReceipt) {
			t.Errorf("ParseReceipt(%q) error = %v, want ErrInvalidReceipt", in, err)
		}
	}
}

func TestMessageStates(t *testing.T) {
	tests := []struct {
		state MessageState
		value uint8
		stat  string
		final bool
	}{
		{StateEnroute, 1, "ENROUTE", false},
		{StateDelivered, 2, "DELIVRD", true},
		{StateExpired, 3, "EXPIRED", true},
		{StateDeleted, 4, "DELETED", true},
		{StateUndeliverable, 5, "UNDELIV", true},
		{StateAccepted, 6, "ACCEPTD", true},
		{StateUnknown, 7, "UNKNOWN", false},
		{StateRejected, 8, "REJECTD", true},
	}
	for _, tt := range tests {
		if uint8(tt.state) != tt.value {
			t.Errorf("%v = %d, want %d", tt.state, uint8(tt.state), tt.value)
		}
		if tt.state.String() != tt.stat {
			t.Errorf("%d.String() = %q, want %q", tt.value, tt.state.String(), tt.stat)
		}
		if tt.state.Final() != tt.final {
			t.Errorf("%v.Final() = %v", tt.state, tt.state.Final())
		}
		if s, ok := ParseMessageState(strings.ToLower(tt.stat)); !ok || s != tt.state {
			t.Errorf("ParseMessageState(%q) = %v, %v", strings.ToLower(tt.stat), s, ok)
		}
	}
	if MessageState(0).Valid() || MessageState(9).Valid() {
		t.Error("states 0 and 9 reported valid")
	}
	if got := MessageState(9).String(); got != "MessageState(9)" {
		t.Errorf("String() of 9 = %q", got)
	}
}

func TestCanonicalMessageID(t *testing.T) {
	tests := []struct {
		in   string
		conv IDConversion
		want string
	}{
		{"00B8BE19", IDKeepBase, "B8BE19"},
		{" b8be19\x00", IDKeepBase, "B8BE19"},
		{"0000", IDKeepBase, "0"},
		{"", IDKeepBase, ""},
		{"S2131124209163650445", IDKeepBase, "S2131124209163650445"},
		{"0654354026", IDKeepBase, "654354026"},
		{"00B8BE19", IDHexToDecimal, "12107289"},
		{"12107289", IDDecimalToHex, "B8BE19"},
		{"0012107289", IDDecimalToHex, "B8BE19"},
		{"FFFFFFFFFFFFFFFFFFFF", IDHexToDecimal, "1208925819614629174706175"},
		{"S21-x", IDHexToDecimal, "S21-X"},
		{"-12", IDDecimalToHex, "-12"},
		{"+12", IDDecimalToHex, "+12"},
	}
	for _, tt := range tests {
		if got := CanonicalMessageID(tt.in, tt.conv); got != tt.want {
			t.Errorf("CanonicalMessageID(%q, %d) = %q, want %q", tt.in, tt.conv, got, tt.want)
		}
	}
	// Hex from submit_sm_resp and decimal in the receipt meet in decimal.
	if CanonicalMessageID("00b8be19", IDHexToDecimal) != CanonicalMessageID("012107289", IDKeepBase) {
		t.Error("hex id converted to decimal does not match the decimal id")
	}
}

func TestDecodeReceiptText(t *testing.T) {
	ucs2 := []byte{0x00, 'i', 0x00, 'd', 0x00, ':', 0x00, '1'}
	tests := []struct {
		name   string
		coding DataCoding
		opts   TextOptions
		in     []byte
		want   string
	}{
		{"ucs2 of ascii", CodingUCS2, TextOptions{}, ucs2, "id:1"},
		{"ucs2 of ascii under coding 0", CodingDefault, TextOptions{}, ucs2, "id:1"},
		{"ascii under ucs2", CodingUCS2, TextOptions{}, []byte("id:1"), "id:1"},
		{"latin1 under gsm", CodingDefault, TextOptions{}, []byte("text:caf\xe9"), "text:café"},
		{"packed gsm", CodingDefault, TextOptions{Packed: true}, PackSeptets([]byte("id:1"), 0), "id:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeReceiptText(tt.coding, tt.in, tt.opts); got != tt.want {
				t.Errorf("DecodeReceiptText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReceiptString(t *testing.T) {
	r := Receipt{ID: "00B8BE19", Submitted: "001", Delivered: "001",
		SubmitDate: date(2026, 12, 4, 15, 30, 0), DoneDate: date(2026, 12, 4, 15, 31, 7),
		State: StateDelivered, Err: "000", Text: "Your code is"}
	want := "id:00B8BE19 sub:001 dlvrd:001 submit date:2612041530 done date:261204153107 " +
		"stat:DELIVRD err:000 text:Your code is"
	if got := r.String(); got != want {
		t.Errorf("String() = %q\nwant       %q", got, want)
	}
}

func TestReceiptBuildParseProperty(t *testing.T) {
	token := rapid.StringMatching(`[0-9A-Za-z]{1,20}`)
	digits := rapid.StringMatching(`[0-9]{0,3}`)
	stamp := rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.Bool().Draw(t, "absent") {
			return time.Time{}
		}
		second := 0
		if rapid.Bool().Draw(t, "seconds") {
			second = rapid.IntRange(0, 59).Draw(t, "second")
		}
		return time.Date(rapid.IntRange(2000, 2099).Draw(t, "year"),
			time.Month(rapid.IntRange(1, 12).Draw(t, "month")), rapid.IntRange(1, 28).Draw(t, "day"),
			rapid.IntRange(0, 23).Draw(t, "hour"), rapid.IntRange(0, 59).Draw(t, "minute"),
			second, 0, time.UTC)
	})
	rapid.Check(t, func(t *rapid.T) {
		state := MessageState(rapid.IntRange(1, 8).Draw(t, "state"))
		want := Receipt{
			ID:         token.Draw(t, "id"),
			Submitted:  digits.Draw(t, "sub"),
			Delivered:  digits.Draw(t, "dlvrd"),
			SubmitDate: stamp.Draw(t, "submit"),
			DoneDate:   stamp.Draw(t, "done"),
			State:      state,
			Stat:       state.String(),
			Err:        digits.Draw(t, "err"),
			Text:       rapid.StringMatching(`([!-9;-~][ -9;-~]{0,18}[!-9;-~])?`).Draw(t, "text"),
		}
		got, err := ParseReceipt(want.String())
		if err != nil {
			t.Fatalf("ParseReceipt(%q): %v", want.String(), err)
		}
		if got != want {
			t.Fatalf("round trip of %q\ngot  %+v\nwant %+v", want.String(), got, want)
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "receipt", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(0x00), data)
		f.Add(byte(0x08), data)
	}
	f.Add(byte(0x08), []byte{0x00, 'i', 0x00, 'd', 0x00, ':', 0x00, '1', 0x00, ' ', 0x00, 's'})
	f.Add(byte(0x00), []byte("id:1 stat:x text:id:2 sub: :"))
	f.Fuzz(func(t *testing.T, coding byte, data []byte) {
		r, err := ParseReceiptData(DataCoding(coding), data, TextOptions{})
		if err != nil {
			if !errors.Is(err, ErrInvalidReceipt) {
				t.Fatalf("error %v does not wrap ErrInvalidReceipt", err)
			}
			return
		}
		if r.ID == "" || r.Stat == "" || !r.State.Valid() {
			t.Fatalf("accepted receipt without id, stat or state: %+v", r)
		}
		again, err := ParseReceipt(r.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", r.String(), err)
		}
		if again.ID != r.ID || again.Stat != r.Stat || again.State != r.State {
			t.Fatalf("reparse of %q = %+v, want id %q stat %q", r.String(), again, r.ID, r.Stat)
		}
		CanonicalMessageID(r.ID, IDHexToDecimal)
		CanonicalMessageID(r.ID, IDDecimalToHex)
	})
}

func TestCanonicalMessageIDLongInput(t *testing.T) {
	long := strings.Repeat("1", 65)
	if got := CanonicalMessageID(long, IDDecimalToHex); got != long {
		t.Errorf("65-digit id converted to %q, want it unchanged", got)
	}
	id64 := strings.Repeat("1", 64)
	if got := CanonicalMessageID(id64, IDDecimalToHex); got == id64 {
		t.Error("64-digit id was not converted")
	}
}

func BenchmarkParseReceipt(b *testing.B) {
	text := "id:00B8BE19 sub:001 dlvrd:001 submit date:2612041530 done date:2612041531 " +
		"stat:DELIVRD err:000 text:Your code is"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseReceipt(text); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReceiptRepeatedKeys measures a hostile 64 KiB text made of
// repeated keys, which must parse in linear time.
func BenchmarkParseReceiptRepeatedKeys(b *testing.B) {
	text := "id:1 stat:DELIVRD " + strings.Repeat("id:2 sub: text:x ", 4000)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseReceipt(text); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleParseReceipt() {
	r, err := ParseReceipt("id:00B8BE19 sub:001 dlvrd:001 submit date:2612041530 " +
		"done date:2612041531 stat:DELIVRD err:000 text:Your code is")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.ID, r.State, uint8(r.State), r.DoneDate.Format(time.DateTime))
	fmt.Println(CanonicalMessageID(r.ID, IDKeepBase))
	// Output:
	// 00B8BE19 DELIVRD 2 2026-12-04 15:31:00
	// B8BE19
}

// Regression found by FuzzParseReceipt: a value ending in a vertical tab
// was cut at spaces only, so the stat kept the tab and did not survive a
// second parse.
func TestRegressionReceiptVerticalTab(t *testing.T) {
	r, err := ParseReceipt("id:0 stAt:0\v 0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Stat != "0" {
		t.Errorf("stat = %q, want %q", r.Stat, "0")
	}
	r, err = ParseReceipt("id:7\vstat:DELIVRD\u00a0text:hi")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "7" || r.State != StateDelivered || r.Text != "hi" {
		t.Errorf("receipt = %+v, want id 7 DELIVRD text hi", r)
	}
}
