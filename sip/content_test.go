package sip

import (
	"errors"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestPhoneNumber(t *testing.T) {
	cases := []struct {
		uri  string
		want string
	}{
		{"sip:+12015550101@example.com", "+12015550101"},
		{"sips:+12015550101@example.com:5061;transport=tls", "+12015550101"},
		{"sip:+12015550101;isub=12@example.com;user=phone", "+12015550101"},
		{"sip:%2B12015550101@example.com", "+12015550101"},
		{"sip:2015550101@example.com", "2015550101"},
		{"tel:+1-201-555-0101", "+12015550101"},
		{"tel:+1.201.555.0101;phone-context=+1", "+12015550101"},
		{"tel:(201)555-0101;phone-context=+1", "2015550101"},
		{"sip:example.com", ""},
		{"mailto:someone@example.com", ""},
	}
	for _, tc := range cases {
		t.Run(tc.uri, func(t *testing.T) {
			var u sip.Uri
			if err := sip.ParseUri(tc.uri, &u); err != nil {
				t.Fatal(err)
			}
			if got := phoneNumber(u); got != tc.want {
				t.Errorf("phoneNumber(%s) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}

func TestDecodeText(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		charset string
		want    string
		wantErr error
		status  int // of a *contentError
	}{
		{"utf-8", "Café", "utf-8", "Café", nil, 0},
		{"no charset", "Café", "", "Café", nil, 0},
		{"us-ascii", "STOP", "US-ASCII", "STOP", nil, 0},
		{"latin-1", "Caf\xe9", "iso-8859-1", "Café", nil, 0},
		{"windows-1252", "\x93quoted\x94", "windows-1252", "“quoted”", nil, 0},
		{"truncated utf-8", "Caf\xc3", "utf-8", "", errInvalidText, 0},
		{"unknown charset", "Hi", "x-martian", "", nil, 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeText([]byte(tc.body), tc.charset)
			var ce *contentError
			switch {
			case tc.status != 0:
				if !errors.As(err, &ce) || ce.status != tc.status {
					t.Fatalf("err = %v, want a %d content error", err, tc.status)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			case got != tc.want:
				t.Errorf("text = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDTMFKey(t *testing.T) {
	cases := []struct {
		mediaType, body string
		want            rune
		wantErr         bool
	}{
		{contentDTMFRelay, "Signal=1\r\nDuration=160\r\n", '1', false},
		{contentDTMFRelay, "signal= 5\n", '5', false},
		{contentDTMFRelay, "Duration=160\r\nSignal=#\r\n", '#', false},
		{contentDTMFRelay, "Duration=160\r\n", 0, true},
		{contentDTMFRelay, "Signal=12\r\n", 0, true},
		{contentDTMF, "1", '1', false},
		{contentDTMF, " d ", 'D', false},
		{contentDTMF, "x", 0, true},
	}
	for _, tc := range cases {
		got, err := dtmfKey(tc.mediaType, []byte(tc.body))
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("dtmfKey(%s, %q) = %q, %v; want %q, error %v", tc.mediaType, tc.body, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheckDatagram(t *testing.T) {
	msg := func(length, body string) []byte {
		return []byte("MESSAGE sip:+12015550101@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n" +
			"From: <sip:+18885550100@127.0.0.1>;tag=a\r\nTo: <sip:+12015550101@127.0.0.1>\r\n" +
			"Call-ID: c1\r\nCSeq: 1 MESSAGE\r\n" + length + "\r\n" + body)
	}
	cases := []struct {
		name    string
		data    []byte
		bad     bool
		respond bool
	}{
		{"length matches bytes", msg("Content-Length: 5\r\n", "Café"), false, false},
		{"length counts characters", msg("Content-Length: 4\r\n", "Café"), true, true},
		{"length too large", msg("Content-Length: 40\r\n", "Café"), true, true},
		{"compact length", msg("l: 4\r\n", "Café"), true, true},
		{"no length", msg("", "Café"), false, false},
		{"response with a wrong length", []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
			"Call-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 9\r\n\r\nab"), true, false},
		{"not SIP", []byte("hello\r\n\r\n"), false, false},
		{"no header end", []byte("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3\r\n"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, bad := checkDatagram(tc.data, "127.0.0.1:5070")
			if bad != tc.bad || (res != nil) != tc.respond {
				t.Fatalf("bad = %v, response %v; want %v, %v", bad, res != nil, tc.bad, tc.respond)
			}
			if res == nil {
				return
			}
			if res.StatusCode != 400 {
				t.Errorf("status = %d, want 400", res.StatusCode)
			}
			if got, _ := res.Via().Params.Get("received"); got != "127.0.0.1" {
				t.Errorf("Via received = %q, want the source address (RFC 3581)", got)
			}
		})
	}
}

func TestRegisteredDelivery(t *testing.T) {
	for v, want := range map[string]uint8{"": 0, "none": 0, "final": 1, "FINAL": 1, "failure": 2} {
		if got, err := registeredDelivery(v); err != nil || got != want {
			t.Errorf("registeredDelivery(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	if _, err := registeredDelivery("yes"); err == nil {
		t.Error("registeredDelivery(yes) accepted")
	}
}

func TestChooseTransport(t *testing.T) {
	small := newRequestOfSize(t, 100)
	large := newRequestOfSize(t, 2000)
	udp, tcp := newClient(t), newClient(t)
	cases := []struct {
		uri     string
		req     *sip.Request
		want    string
		wantErr bool
	}{
		{"sip:pbx.example.com", small, "UDP", false},
		{"sip:pbx.example.com", large, "TCP", false},
		{"sip:pbx.example.com;transport=tcp", small, "TCP", false},
		{"sip:pbx.example.com;transport=udp", large, "", true},
		{"sips:pbx.example.com", small, "TLS", false},
		{"sip:pbx.example.com;transport=sctp", small, "", true},
	}
	for _, tc := range cases {
		var u sip.Uri
		if err := sip.ParseUri(tc.uri, &u); err != nil {
			t.Fatal(err)
		}
		req := tc.req.Clone()
		client, err := chooseTransport(req, u, udp, tcp)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.uri, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if req.Transport() != tc.want {
			t.Errorf("%s with %d bytes: transport %s, want %s", tc.uri, len(req.String()), req.Transport(), tc.want)
		}
		if (tc.want == "UDP") != (client == udp) {
			t.Errorf("%s: wrong client for %s", tc.uri, tc.want)
		}
	}
}

func newRequestOfSize(t *testing.T, body int) *sip.Request {
	t.Helper()
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", Host: "pbx.example.com"})
	b := make([]byte, body)
	for i := range b {
		b[i] = 'a'
	}
	req.SetBody(b)
	return req
}
