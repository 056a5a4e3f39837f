package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/internal/testcert"
	"github.com/optgate/optgate/smpp"
)

func TestESMEListenerTLS(t *testing.T) {
	cert := testcert.New(t)
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Listeners.SMPP.TLS = config.TLS{CertFile: cert.CertFile, KeyFile: cert.KeyFile}
	}})
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), SystemID: "acme01", Password: "secret1",
		TLS: cert.ClientConfig(),
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
