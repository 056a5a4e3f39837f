package gateway

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

func TestCheckText(t *testing.T) {
	tests := []struct {
		text, want string // want "" for accepted
	}{
		{"hello", ""},
		{"line one\r\n\tline two", ""},
		{"\u200bhi", ""},
		{"", "empty"},
		{"  \t\r\n", "empty"},
		{"\u200b\u200d\ufeff", "empty"},
		{"a\x00b", "U+0000"},
		{"bell\a", "U+0007"},
		{"bad \xff utf-8", "UTF-8"},
	}
	for _, tc := range tests {
		err := checkText(tc.text)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkText(%q) = %v, want nil", tc.text, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("checkText(%q) = %v, want an error mentioning %q", tc.text, err, tc.want)
		}
	}
}

func TestUnpairedUCS2(t *testing.T) {
	tests := []struct {
		data []byte
		want int // -1 for none
	}{
		{[]byte{0x00, 0x41, 0x00, 0x42}, -1},
		{[]byte{0xD8, 0x3D, 0xDE, 0x00}, -1},
		{[]byte{0xD8, 0x00}, 0},
		{[]byte{0x00, 0x41, 0xDC, 0x00}, 2},
		{[]byte{0xD8, 0x3D, 0x00, 0x41}, 0},
		{[]byte{0x00, 0x41, 0xD8, 0x3D}, 2},
	}
	for _, tc := range tests {
		at, bad := unpairedUCS2(tc.data)
		got := -1
		if bad {
			got = at
		}
		if got != tc.want {
			t.Errorf("unpairedUCS2(% x) = %d, want %d", tc.data, got, tc.want)
		}
	}
}

func TestESMESubmitRefusesInvalidText(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	tx := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	invalid := StatusFor(CodeInvalidMessage).SMPP
	tests := []struct {
		name   string
		coding smpp.DataCoding
		data   []byte
	}{
		{"UCS-2 lone high surrogate", smpp.CodingUCS2, []byte{0xD8, 0x00}},
		{"UCS-2 lone low surrogate", smpp.CodingUCS2, []byte{0x00, 0x41, 0xDC, 0x00}},
		{"UCS-2 NUL", smpp.CodingUCS2, []byte{0x00, 0x61, 0x00, 0x00, 0x00, 0x62}},
		{"UCS-2 zero width space", smpp.CodingUCS2, []byte{0x20, 0x0B}},
		{"IA5 spaces", smpp.CodingIA5, []byte("   ")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm := submitSM(t, acmeTollFree, sub1, "x", 0)
			sm.DataCoding, sm.ShortMessage = tc.coding, tc.data
			if _, status := tx.submit(t, sm); status != invalid {
				t.Errorf("status %v, want %v (invalid_message)", status, invalid)
			}
		})
	}
	sm := submitSM(t, acmeTollFree, sub1, "x", 0)
	sm.DataCoding, sm.ShortMessage = smpp.CodingUCS2, []byte{0xD8, 0x3D, 0xDE, 0x00, 0x00, 0x21}
	if _, status := tx.submit(t, sm); status != smpp.StatusOK {
		t.Errorf("UCS-2 with a surrogate pair: status %v, want ESME_ROK", status)
	}
}
