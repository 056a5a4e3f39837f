package consent_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optgate/optgate/consent"
)

// newExampleEngine opens an embedded store in a temporary directory and
// returns an engine for one account with one ready toll-free number.
func newExampleEngine() (*consent.Engine, func()) {
	dir, err := os.MkdirTemp("", "consent-example")
	if err != nil {
		log.Fatal(err)
	}
	store, err := consent.OpenBolt(filepath.Join(dir, "consent.db"), consent.BoltOptions{})
	if err != nil {
		log.Fatal(err)
	}
	accounts, err := consent.NewAccountSet(consent.Account{
		ID:           "acme",
		BusinessName: "Acme Dental",
		TollFree:     []consent.TollFreeNumber{{Number: "+18885550100", Greeting: true, Voicemail: true}},
		Template:     consent.Template{Details: "Appointment reminders."},
	})
	if err != nil {
		log.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC) }
	engine, err := consent.NewEngine(store, accounts, consent.Options{Now: now})
	if err != nil {
		log.Fatal(err)
	}
	return engine, func() {
		store.Close()
		os.RemoveAll(dir)
	}
}

func ExampleEngine_RequestOptIn() {
	engine, done := newExampleEngine()
	defer done()
	ctx := context.Background()

	req, err := engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: "+12015550101"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.Sequence, req.From, "->", req.To)
	fmt.Println(strings.Contains(req.Text, "Acme Dental"), strings.Contains(req.Text, "(888) 555-0100"))

	// A second request is allowed; a third is refused.
	if _, err := engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: "+12015550101"}); err != nil {
		log.Fatal(err)
	}
	_, err = engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: "+12015550101"})
	fmt.Println(errors.Is(err, consent.ErrRequestLimit))
	// Output:
	// 1 +18885550100 -> +12015550101
	// true true
	// true
}

func ExampleEngine_HandleMO() {
	engine, done := newExampleEngine()
	defer done()
	ctx := context.Background()

	if _, err := engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: "+12015550101"}); err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"Yes", "Stop…", "STOP", "See you Monday"} {
		res, err := engine.HandleMO(ctx, consent.MO{From: "+12015550101", To: "+18885550100", Text: text})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-16q keyword %-7s outcome %-9s replies %d\n",
			text, res.Match.Keyword, res.Effect.Outcome, len(res.Replies))
	}
	// Output:
	// "Yes"            keyword opt_in  outcome opted_in  replies 1
	// "Stop…"          keyword opt_out outcome opted_out replies 1
	// "STOP"           keyword opt_out outcome none      replies 0
	// "See you Monday" keyword none    outcome none      replies 0
}

func ExampleEngine_CheckMT() {
	engine, done := newExampleEngine()
	defer done()
	ctx := context.Background()
	mt := consent.MT{Account: "acme", From: "+18885550100", To: "+12015550101"}

	fmt.Printf("%+v\n", engine.CheckMT(ctx, mt))
	if _, err := engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: mt.To}); err != nil {
		log.Fatal(err)
	}
	if _, err := engine.HandleMO(ctx, consent.MO{From: mt.To, To: mt.From, Text: "YES"}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", engine.CheckMT(ctx, mt))
	// Output:
	// {Allowed:false Reason:no_consent Temporary:false Shadow:false}
	// {Allowed:true Reason: Temporary:false Shadow:false}
}

func ExampleEngine_Evidence() {
	engine, done := newExampleEngine()
	defer done()
	ctx := context.Background()

	if _, err := engine.RequestOptIn(ctx, consent.OptInRequest{Account: "acme", To: "+12015550101"}); err != nil {
		log.Fatal(err)
	}
	if _, err := engine.HandleMO(ctx, consent.MO{From: "+12015550101", To: "+18885550100", Text: "YES"}); err != nil {
		log.Fatal(err)
	}
	ev, err := engine.Evidence(ctx, "acme", "+12015550101")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.State)
	for _, e := range ev.Entries {
		fmt.Println(e.Seq, e.Event, e.Before, "->", e.After, e.RequestText == ev.Entries[0].Text)
	}
	// Output:
	// opted_in
	// 1 request none -> requested false
	// 2 yes requested -> opted_in true
}
