package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and its key
// to dir and returns their paths and the certificate.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "optgate test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "smpp.crt"), filepath.Join(dir, "smpp.key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestESMEListenerTLS(t *testing.T) {
	certFile, keyFile, cert := writeTestCert(t, t.TempDir())
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Listeners.SMPP.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	}})
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), SystemID: "acme01", Password: "secret1",
		TLS: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatalf("bind over TLS: %v", err)
	}
	defer c.Close(ctx)
	if !c.Bound() {
		t.Error("not bound over TLS")
	}

	// A plain TCP bind gets no bind response.
	plainCtx, cancelPlain := context.WithTimeout(f.ctx, 300*time.Millisecond)
	defer cancelPlain()
	plain, err := smpp.Dial(plainCtx, smpp.ClientConfig{Addr: f.d.SMPPAddr().String(), SystemID: "acme01",
		Password: "secret1", ResponseTimeout: 200 * time.Millisecond})
	if err == nil {
		plain.Close(ctx)
		t.Error("a plain TCP bind succeeded on the TLS listener")
	}
}
