package daemontest

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// startSMSC starts an SMPP server on 127.0.0.1 that accepts binds with
// the password "secret1" and rejects others with ESME_RINVPASWD.
func startSMSC(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &smpp.Server{Authenticator: smpp.AuthenticatorFunc(
		func(_ context.Context, req smpp.BindRequest) smpp.CommandStatus {
			if req.Password == "secret1" {
				return smpp.StatusOK
			}
			return smpp.StatusInvalidPassword
		})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func TestBindAccepted(t *testing.T) {
	addr := startSMSC(t)
	var hookCalls atomic.Int32
	c, err := Bind(t, context.Background(), smpp.ClientConfig{
		Addr: addr, SystemID: "acme01", Password: "secret1", BindType: smpp.BindTypeTransceiver,
		Hooks: smpp.Hooks{BindStateChanged: func(string, smpp.SessionState, error) {
			hookCalls.Add(1)
		}},
	}, 5*time.Second)
	if err != nil {
		t.Fatalf("Bind: %v", err)
	}
	if !c.Bound() {
		t.Error("client not bound after Bind returned")
	}
	if hookCalls.Load() == 0 {
		t.Error("the BindStateChanged hook of the configuration was not called")
	}
}

func TestBindRejectedReturnsStatus(t *testing.T) {
	addr := startSMSC(t)
	// Without the early end, Bind returns after the timeout with
	// context.DeadlineExceeded in its error.
	_, err := Bind(t, context.Background(), smpp.ClientConfig{
		Addr: addr, SystemID: "acme01", Password: "wrong", BindType: smpp.BindTypeTransceiver,
		ReconnectDelay: time.Hour,
	}, 20*time.Second)
	var st *smpp.StatusError
	if !errors.As(err, &st) {
		t.Fatalf("Bind with a wrong password: %v, want an *smpp.StatusError", err)
	}
	if st.Status != smpp.StatusInvalidPassword {
		t.Errorf("bind status %v, want ESME_RINVPASWD", st.Status)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Bind waited for its timeout: %v", err)
	}
}
