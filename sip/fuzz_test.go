package sip

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// FuzzCheckDatagram feeds UDP datagrams to the Content-Length check that
// runs before sipgo parses them.
func FuzzCheckDatagram(f *testing.F) {
	f.Add([]byte("MESSAGE sip:+12015550101@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-1\r\n" +
		"CSeq: 1 MESSAGE\r\nContent-Length: 4\r\n\r\nCafé"))
	f.Add([]byte("SIP/2.0 200 OK\r\nl: 2\r\n\r\nok"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, bad := checkDatagram(data, "127.0.0.1:5060")
		if res != nil && (!bad || res.StatusCode != 400) {
			t.Fatalf("response %v for a datagram reported bad=%v", res.StatusCode, bad)
		}
	})
}

// FuzzMessageText feeds Content-Type values and bodies of MESSAGE
// requests to the body decoder.
func FuzzMessageText(f *testing.F) {
	f.Add("text/plain;charset=UTF-8", []byte("Café"))
	f.Add(`Text/Plain; charset="utf-8"`, []byte("STOP"))
	f.Add("application/vnd.3gpp.sms", []byte{0, 1, 2})
	f.Add("text/plain; charset=iso-8859-1", []byte("Caf\xe9"))
	f.Add("text/plain; charset", []byte("x"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		if contentType != "" && !strings.ContainsAny(contentType, "\r\n") {
			req.AppendHeader(sip.NewHeader("Content-Type", contentType))
		}
		req.SetBody(body)
		text, err := messageText(req)
		if err == nil && !utf8.ValidString(text) {
			t.Fatalf("text %q is not valid UTF-8", text)
		}
	})
}

// FuzzPhoneNumber feeds URIs to the number extraction of From and To.
func FuzzPhoneNumber(f *testing.F) {
	for _, s := range []string{"sip:+12015550101@example.com;user=phone", "tel:+1-201-555-0101",
		"sip:%2B1201@h", "tel:;;", "sips:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			return
		}
		n := phoneNumber(u)
		if strings.ContainsAny(n, "-.() ;") {
			t.Fatalf("phoneNumber(%q) = %q still has separators or parameters", s, n)
		}
	})
}

// FuzzDTMFKey feeds INFO bodies to the key reader.
func FuzzDTMFKey(f *testing.F) {
	f.Add(contentDTMFRelay, []byte("Signal=1\r\nDuration=160\r\n"))
	f.Add(contentDTMF, []byte("#"))
	f.Fuzz(func(t *testing.T, mediaType string, body []byte) {
		key, err := dtmfKey(mediaType, body)
		if err == nil && !strings.ContainsRune("0123456789*#ABCD", key) {
			t.Fatalf("dtmfKey returned %q", key)
		}
	})
}
