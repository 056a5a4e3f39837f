package consent_test

import (
	"fmt"

	"github.com/optgate/optgate/consent"
)

func ExampleRenderRequest() {
	t := consent.Template{
		BusinessName: "Acme Dental",
		Details:      "Appointment reminders",
	}
	r, err := consent.RenderRequest(t, "+18885550100")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Text)
	fmt.Println(r.Segments, "segments")
	// Output:
	// Acme Dental wants to send you texts from (888) 555-0100. Appointment reminders. Reply YES to agree. Reply STOP to opt out. Your carrier's message and data rates may apply.
	// 2 segments
}

func ExampleRenderReply() {
	r, err := consent.RenderReply(consent.ReplyOptOut, consent.ReplyTexts{}, "Acme Dental", "+18885550100")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Text)
	// Output:
	// Acme Dental: you are unsubscribed and will get no more messages from us. Reply UNSTOP to resubscribe.
}
