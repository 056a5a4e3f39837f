package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"testing"
)

func TestNewFilesLoad(t *testing.T) {
	c := New(t)
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		t.Fatalf("load the written PEM files: %v", err)
	}
	if len(pair.Certificate) != 1 {
		t.Fatalf("PEM certificate file has %d certificates, want 1", len(pair.Certificate))
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Equal(c.TLS.Leaf) {
		t.Error("certificate in CertFile differs from Cert.TLS.Leaf")
	}
}

func TestNewVerifiesWithPool(t *testing.T) {
	c := New(t)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		_, err := c.TLS.Leaf.Verify(x509.VerifyOptions{Roots: c.Pool, DNSName: name})
		if err != nil {
			t.Errorf("verify for %s with Pool: %v", name, err)
		}
	}
	if _, err := c.TLS.Leaf.Verify(x509.VerifyOptions{Roots: c.Pool, DNSName: "example.com"}); err == nil {
		t.Error("verify for example.com succeeded, want a name mismatch")
	}
	other := New(t)
	if _, err := c.TLS.Leaf.Verify(x509.VerifyOptions{Roots: other.Pool}); err == nil {
		t.Error("verify with another certificate's pool succeeded, want unknown authority")
	}
}

// serveTLS starts a TLS listener on 127.0.0.1 with cert that accepts one
// connection and writes "ok" on it, and returns the listener's address.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("ok"))
	}()
	return ln.Addr().String()
}

func TestClientConfigHandshake(t *testing.T) {
	c := New(t)
	conn, err := tls.Dial("tcp", serveTLS(t, c.TLS), c.ClientConfig())
	if err != nil {
		t.Fatalf("TLS handshake with ClientConfig: %v", err)
	}
	defer conn.Close()
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "ok" {
		t.Errorf("read %q over TLS, want %q", got, "ok")
	}
	if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Errorf("TLS version %#x, want at least TLS 1.2", v)
	}
}

func TestClientConfigRejectsOtherCert(t *testing.T) {
	c, other := New(t), New(t)
	conn, err := tls.Dial("tcp", serveTLS(t, other.TLS), c.ClientConfig())
	if err == nil {
		conn.Close()
		t.Fatal("handshake with an untrusted server certificate succeeded")
	}
}
