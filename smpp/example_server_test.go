package smpp_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/optgate/optgate/smpp"
)

// ExampleServer runs an SMSC that authenticates binds, responds to
// submit_sm and pushes a deliver_sm to the bound ESME.
func ExampleServer() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	srv := &smpp.Server{
		SystemID:            "optgate",
		MaxBindsPerSystemID: 2,
		Authenticator: smpp.AuthenticatorFunc(func(_ context.Context, req smpp.BindRequest) smpp.CommandStatus {
			if req.SystemID != "acme" || req.Password != "secret" {
				return smpp.StatusInvalidPassword
			}
			return smpp.StatusOK
		}),
		Handler: smpp.HandlerFunc(func(_ context.Context, sess *smpp.ServerSession, req smpp.PDU) smpp.PDU {
			sm, ok := req.(*smpp.SubmitSM)
			if !ok {
				return smpp.NewResponse(req, smpp.StatusInvalidCommandID)
			}
			text, err := smpp.DecodeText(sm.DataCoding, sm.ShortMessage, smpp.TextOptions{})
			if err != nil {
				return smpp.NewResponse(req, smpp.StatusInvalidMsgLength)
			}
			fmt.Printf("server: %s submits %q to %s\n", sess.SystemID(), text, sm.DestinationAddr)
			// A gateway responds once the message is stored or accepted.
			resp := smpp.NewResponse(req, smpp.StatusOK).(*smpp.SubmitSMResp)
			resp.MessageID = "0001"
			return resp
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	// An ESME that binds as transceiver and stores what the SMSC delivers.
	client, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr:     l.Addr().String(),
		SystemID: "acme",
		Password: "secret",
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				fmt.Printf("client: deliver_sm %q from %s\n", d.ShortMessage, d.SourceAddr)
			}
			return smpp.StatusOK
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sm := &smpp.SubmitSM{DestinationAddr: "12015550101", ShortMessage: []byte("hello")}
	if _, err := client.Submit(ctx, sm); err != nil {
		fmt.Println(err)
	}

	// Push a mobile-originated message to every bound receiver.
	for _, sess := range srv.Sessions() {
		mo := &smpp.DeliverSM{
			SourceAddr:      "12015550101",
			DestinationAddr: "18885550100",
			ShortMessage:    []byte("STOP"),
		}
		if _, err := sess.Deliver(ctx, mo); err != nil {
			fmt.Println(err)
		}
	}

	// Shutdown unbinds the client before closing.
	_ = client.Close(ctx)
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println("serve returned ErrServerClosed:", errors.Is(<-served, smpp.ErrServerClosed))
	// Output:
	// server: acme submits "hello" to 12015550101
	// client: deliver_sm "STOP" from 12015550101
	// serve returned ErrServerClosed: true
}
