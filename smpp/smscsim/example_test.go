package smscsim_test

import (
	"context"
	"fmt"
	"log"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// A test binds to the simulator as its carrier, submits a message and
// waits for the simulator to record it.
func Example() {
	ctx := context.Background()
	sim := smscsim.New(smscsim.Config{
		Addr:      "127.0.0.1:0",
		Behaviour: smscsim.Behaviour{ResponseIDFormat: smscsim.IDHexPadded},
	})
	if err := sim.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	client, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr:                sim.Addr().String(),
		SystemID:            "optgate",
		EnquireLinkInterval: -1,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	resp, err := client.Submit(ctx, &smpp.SubmitSM{
		SourceAddr:      "18005550100",
		DestinationAddr: "12015550101",
		ShortMessage:    []byte("Reply YES to get order updates"),
	})
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := sim.WaitMessages(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.MessageID)
	fmt.Println(msgs[0].Destination, msgs[0].Text)
	// Output:
	// 00B8BE19
	// 12015550101 Reply YES to get order updates
}
