package security

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/internal/testcert"
	"github.com/optgate/optgate/smpp"
)

func TestTLSOnSMPPAndHTTP(t *testing.T) {
	cert := testcert.New(t)
	r := newRig(t, rigOptions{tls: cert})
	r.optIn("acme", subscriber)

	c, err := r.bind(acmeSystemID, acmePassword, cert.ClientConfig())
	if err != nil {
		t.Fatalf("bind over TLS: %v", err)
	}
	if st := submit(r.ctx, t, c, acmeTollFree, subscriber, "over tls"); st != smpp.StatusOK {
		t.Errorf("submit_sm over TLS: status %v, want ESME_ROK", st)
	}
	if code, body := r.do(http.MethodGet, "/v1/consent/"+subscriber, acmeToken, "", nil); code != http.StatusOK {
		t.Errorf("GET over HTTPS: status %d, want 200; body %s", code, body)
	}

	// A plaintext bind on the TLS listener gets no bind response.
	if _, err := r.bind(acmeSystemID, acmePassword, nil); err == nil {
		t.Error("a plaintext bind on the TLS listener succeeded")
	}
	// A client that does not trust the certificate is turned away.
	if _, err := r.bind(acmeSystemID, acmePassword, &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("a bind that does not trust the server's certificate succeeded")
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + r.d.HTTPAddr().String() + "/healthz")
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP on the HTTPS listener returned 200")
		}
	}
}

// TestTLSOnSIP sends MESSAGE requests over SIP over TLS (RFC 3261 section
// 26.2), with globex's address trunk and acme's digest trunk. A plaintext
// request on the TLS port gets no SIP response and the connection closes.
// A client that does not trust the certificate fails its handshake. The
// TLS listener keeps serving afterwards.
func TestTLSOnSIP(t *testing.T) {
	cert := testcert.New(t)
	r := newRig(t, rigOptions{tls: cert, sip: true})
	r.optIn("acme", subscriber)
	r.optIn("globex", subscriber)
	addr := r.d.SIPAddr("tls")

	c := dialSIP(t, addr, cert.ClientConfig())
	if res := c.do(message(globexTollFree, subscriber, "globex over tls")); res.StatusCode != 202 {
		t.Errorf("globex MESSAGE over TLS: status %d, want 202; %s", res.StatusCode, warningOf(res))
	}
	if res := c.messageAs(message(acmeTollFree, subscriber, "acme over tls"), acmeSIPUser, acmeSIPPassword); res.StatusCode != 202 {
		t.Errorf("acme MESSAGE with digest over TLS: status %d, want 202; %s", res.StatusCode, warningOf(res))
	}
	if _, err := r.d.Simulator().WaitMessages(r.ctx, 2); err != nil {
		t.Errorf("the carrier did not get both texts: %v", err)
	}

	plain := dialSIP(t, addr, nil)
	q := message(globexTollFree, subscriber, "plaintext on the tls port")
	if _, err := plain.conn.Write(plain.bytes(q, "z9hG4bK-plain")); err != nil {
		t.Fatal(err)
	}
	if got := plain.closed(); strings.Contains(got, "SIP/2.0") {
		t.Errorf("a plaintext request on the TLS port got a SIP response: %q", got)
	}

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr.String(),
		&tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12})
	if err == nil {
		_ = conn.Close()
		t.Error("a TLS client that does not trust the certificate completed the handshake")
	}

	c = dialSIP(t, addr, cert.ClientConfig())
	if res := c.do(message(globexTollFree, subscriber, "after the bad clients")); res.StatusCode != 202 {
		t.Errorf("globex MESSAGE over TLS after the bad clients: status %d, want 202", res.StatusCode)
	}
	for _, m := range r.d.Simulator().Messages() {
		if m.Text == q.body {
			t.Error("the plaintext request's text reached the carrier")
		}
	}
}
