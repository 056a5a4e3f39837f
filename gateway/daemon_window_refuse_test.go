package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// refusingBusiness is a receiver ESME of acme that answers each deliver_sm
// with the next status scripted for its text, ESME_ROK when none is left,
// and records every deliver_sm in the order the connection read them.
type refusingBusiness struct {
	*business
	mu     sync.Mutex
	script map[string][]smpp.CommandStatus
}

func (f *daemonFixture) bindRefusing(script map[string][]smpp.CommandStatus) *refusingBusiness {
	f.t.Helper()
	rb := &refusingBusiness{script: script,
		business: &business{delivered: make(chan *smpp.DeliverSM, 100), waiting: map[uint32]*smpp.DeliverSM{}}}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), SystemID: "acme01", Password: "secret1",
		BindType: smpp.BindTypeReceiver, ReconnectDelay: time.Hour,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			d, ok := req.(*smpp.DeliverSM)
			if !ok {
				return smpp.StatusOK
			}
			rb.handled(d)
			return rb.status(string(d.ShortMessage))
		},
		Hooks: smpp.Hooks{PDUReceived: func(_ string, h smpp.Header) { rb.received(h) }},
	})
	if err != nil {
		f.t.Fatalf("bind acme01 as receiver: %v", err)
	}
	rb.client = c
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return rb
}

func (rb *refusingBusiness) status(text string) smpp.CommandStatus {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	next := rb.script[text]
	if len(next) == 0 {
		return smpp.StatusOK
	}
	rb.script[text] = next[1:]
	return next[0]
}

// moDelivery is one deliver_sm of an MO text as the business got it.
type moDelivery struct {
	text, id string
	resend   bool
}

// TestWindowedDeliveryRefusedByBusiness queues MO texts while acme is not
// bound, then binds a receiver that refuses some of them. A text refused
// with ESME_RX_T_APPN or another temporary error stays queued and is sent
// again, marked as a possible resend, after at most a window of later
// texts; one refused with ESME_RX_P_APPN or ESME_RX_R_APPN goes to the
// dead letters and is never sent again. Every other text arrives once.
func TestWindowedDeliveryRefusedByBusiness(t *testing.T) {
	const total = 8
	f := newDaemonFixture(t, daemonOptions{})
	for i := 1; i <= total; i++ {
		f.inject(sub1, acmeTollFree, fmt.Sprintf("mo %d", i))
	}
	f.waitFor("the texts queued", func() bool { return f.d.store.Depths()["acme"] == total })

	b := f.bindRefusing(map[string][]smpp.CommandStatus{
		"mo 2": {smpp.StatusTempAppError},
		"mo 4": {smpp.StatusPermAppError},
		"mo 5": {smpp.StatusRejectAppError},
		"mo 6": {smpp.StatusSystemError},
	})
	// Eight first deliveries and the retries of mo 2 and mo 6.
	var got []moDelivery
	for len(got) < total+2 {
		d := b.next(t)
		flags, _ := d.TLVs.Uint8(TagMOFlags)
		got = append(got, moDelivery{text: string(d.ShortMessage), id: tlvString(d, TagMOID),
			resend: flags&MOFlagPossibleResend != 0})
	}
	f.waitFor("the queue to drain", func() bool { return f.d.store.Depths()["acme"] == 0 })
	// Nothing else may follow, such as a third try or a refused text again.
	select {
	case d := <-b.delivered:
		t.Errorf("deliver_sm after the queue drained: %q", d.ShortMessage)
	case <-time.After(300 * time.Millisecond):
	}

	t.Run("first deliveries in queue order", func(t *testing.T) {
		var first []string
		seen := map[string]bool{}
		for _, g := range got {
			if !seen[g.text] {
				seen[g.text] = true
				first = append(first, g.text)
				if g.resend {
					t.Errorf("first delivery of %q has the possible-resend bit", g.text)
				}
			}
		}
		want := []string{"mo 1", "mo 2", "mo 3", "mo 4", "mo 5", "mo 6", "mo 7", "mo 8"}
		if !slices.Equal(first, want) {
			t.Errorf("first deliveries %v, want %v", first, want)
		}
	})

	t.Run("temporary refusals sent again", func(t *testing.T) {
		window := f.d.esme.receivers("acme")[0].WindowSize()
		for _, text := range []string{"mo 2", "mo 6"} {
			var at []int
			for i, g := range got {
				if g.text == text {
					at = append(at, i)
				}
			}
			if len(at) != 2 {
				t.Errorf("%q delivered %d times, want twice", text, len(at))
				continue
			}
			first, again := got[at[0]], got[at[1]]
			if !again.resend {
				t.Errorf("second delivery of %q lacks the possible-resend bit", text)
			}
			if again.id != first.id || first.id == "" {
				t.Errorf("%q delivered under MO ids %q and %q, want one id", text, first.id, again.id)
			}
			if later := at[1] - at[0] - 1; later > window {
				t.Errorf("%q sent again after %d other deliveries, want at most the window of %d",
					text, later, window)
			}
		}
		if i2, i6 := lastIndex(got, "mo 2"), lastIndex(got, "mo 6"); i2 > i6 {
			t.Errorf("retry of mo 2 at %d after the retry of mo 6 at %d, want queue order", i2, i6)
		}
	})

	t.Run("permanent refusals dead-lettered", func(t *testing.T) {
		for _, text := range []string{"mo 4", "mo 5"} {
			if n := countText(got, text); n != 1 {
				t.Errorf("%q delivered %d times, want once", text, n)
			}
		}
		bolt, ok := f.d.store.(*BoltStore)
		if !ok {
			t.Fatalf("store is %T, want the embedded store", f.d.store)
		}
		dead, reasons, err := bolt.DeadLetters(f.ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for i, it := range dead {
			texts = append(texts, it.MO.Text)
			if !strings.Contains(reasons[i], "rejected") {
				t.Errorf("dead letter %q has reason %q, want the business's rejection", it.MO.Text, reasons[i])
			}
		}
		if want := []string{"mo 4", "mo 5"}; !slices.Equal(texts, want) {
			t.Errorf("dead letters %v, want %v", texts, want)
		}
	})

	t.Run("others delivered once", func(t *testing.T) {
		for _, text := range []string{"mo 1", "mo 3", "mo 7", "mo 8"} {
			if n := countText(got, text); n != 1 {
				t.Errorf("%q delivered %d times, want once", text, n)
			}
		}
	})
}

func countText(got []moDelivery, text string) int {
	n := 0
	for _, g := range got {
		if g.text == text {
			n++
		}
	}
	return n
}

func lastIndex(got []moDelivery, text string) int {
	last := -1
	for i, g := range got {
		if g.text == text {
			last = i
		}
	}
	return last
}
