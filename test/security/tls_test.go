package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// testCert is a self-signed certificate for 127.0.0.1 written to PEM
// files.
type testCert struct {
	certFile, keyFile string
	pool              *x509.CertPool
}

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "optgate security test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	c := &testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	c.pool.AddCert(cert)
	writePEM(t, c.certFile, "CERTIFICATE", der)
	writePEM(t, c.keyFile, "PRIVATE KEY", keyDER)
	return c
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *testCert) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func TestTLSOnSMPPAndHTTP(t *testing.T) {
	cert := newTestCert(t)
	r := newRig(t, rigOptions{tls: cert})
	r.optIn("acme", subscriber)

	c, err := r.bind(acmeSystemID, acmePassword, cert.clientConfig())
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
