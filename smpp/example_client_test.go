package smpp_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/optgate/optgate/smpp"
)

// ExampleClient binds to an SMSC as transceiver, submits a message and
// closes. The SMSC here is this package's Server on a loopback port.
func ExampleClient() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, stop := startExampleSMSC()
	defer stop()

	client, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr:     addr,
		BindType: smpp.BindTypeTransceiver,
		SystemID: "acme",
		Password: "secret",
		Rate:     50, // messages a second
	})
	if err != nil {
		fmt.Println("bind failed:", err)
		return
	}
	defer client.Close(ctx)

	text, err := smpp.EncodeText("Your code is 4711", smpp.CodingDefault, smpp.TextOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.Submit(ctx, &smpp.SubmitSM{
		SourceAddrTON:      smpp.TONInternational,
		SourceAddrNPI:      smpp.NPIISDN,
		SourceAddr:         "18885550100",
		DestAddrTON:        smpp.TONInternational,
		DestAddrNPI:        smpp.NPIISDN,
		DestinationAddr:    "12015550101",
		RegisteredDelivery: smpp.RegisteredDeliveryReceiptAlways,
		ShortMessage:       text,
	})
	switch {
	case smpp.Throttled(err):
		fmt.Println("SMSC busy, retry later:", err)
	case err != nil:
		fmt.Println("submit failed:", err)
	default:
		fmt.Println("message id:", resp.MessageID)
	}
	// Output: message id: A1B2C3
}

// startExampleSMSC serves an SMSC that accepts acme/secret and responds to
// every submit_sm with message id A1B2C3. stop shuts it down.
func startExampleSMSC() (addr string, stop func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &smpp.Server{
		Authenticator: smpp.AuthenticatorFunc(func(_ context.Context, req smpp.BindRequest) smpp.CommandStatus {
			if req.SystemID != "acme" || req.Password != "secret" {
				return smpp.StatusInvalidPassword
			}
			return smpp.StatusOK
		}),
		Handler: smpp.HandlerFunc(func(_ context.Context, _ *smpp.ServerSession, req smpp.PDU) smpp.PDU {
			resp := smpp.NewResponse(req, smpp.StatusOK)
			if r, ok := resp.(*smpp.SubmitSMResp); ok {
				r.MessageID = "A1B2C3"
			}
			return resp
		}),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	return l.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}
