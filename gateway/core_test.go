package gateway

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

func TestCoreStopFlowEndToEnd(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	business := &recordingTarget{done: make(chan struct{}), want: 2}
	business.bound.Store(true)
	core, err := NewCore(CoreConfig{
		Registry: f.registry, Router: f.router, Engine: f.engine, Store: f.store,
		Links:    StaticLinks{"sim": f.link},
		Targets:  TargetFunc(func(q string) (Deliverer, bool) { return business, q == "acme" }),
		Metrics:  f.metrics,
		Dispatch: DispatcherConfig{MinBackoff: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := core.Start(ctx, f.registry.IDs()); err != nil {
		t.Fatal(err)
	}
	defer core.Stop(ctx)

	if _, err := core.MT.Submit(ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hello",
		RegisteredDelivery: 1}); err != nil {
		t.Fatal(err)
	}
	if st := core.MO.HandleDeliver(ctx, "sim", receiptPDU("id:C0001 stat:DELIVRD err:000", nil)); st != smpp.StatusOK {
		t.Fatalf("receipt: %v", st)
	}
	if st := core.MO.HandleDeliver(ctx, "sim", moPDU(subscriber, tfReady, 0, []byte("STOP"))); st != smpp.StatusOK {
		t.Fatalf("STOP: %v", st)
	}
	waitDone(t, business.done)
	got := business.items()
	if got[0].Kind != KindReceipt || got[1].Kind != KindMO || got[1].MO.Keyword != "opt_out" {
		t.Errorf("business got %v then %v, want the receipt then the STOP", got[0].Kind, got[1].Kind)
	}

	// The confirmation leaves through the dispatcher's reply queue.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.link.sent()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("opt-out confirmation not sent within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	reply := f.link.sent()[1]
	if reply.SourceAddr != "18885550100" || !strings.Contains(string(reply.ShortMessage), "unsubscribed") {
		t.Errorf("reply from %s: %q", reply.SourceAddr, reply.ShortMessage)
	}
	waitEmpty(t, f.store, ReplyQueue)
}

func TestAccountTargets(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posted = append(posted, r.Header.Get(HeaderDelivery))
		mu.Unlock()
	}))
	defer srv.Close()
	hooked := testAccount(t)
	hooked.Delivery = config.Delivery{Type: config.DeliveryWebhook, URL: srv.URL}
	plain := testAccount(t)
	plain.ID, plain.ESMEs, plain.APITokens = "beta", nil, nil
	plain.TollFree = []config.TollFreeNumber{{Number: "+18775550100"}}
	reg, err := NewRegistry([]config.Account{hooked, plain}, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	esme := DelivererFunc(func(context.Context, Item) error { return nil })
	targets, err := AccountTargets(reg, TargetFunc(func(q string) (Deliverer, bool) { return esme, q == "beta" }), nil)
	if err != nil {
		t.Fatal(err)
	}
	hook, ok := targets.Target("acme")
	if !ok {
		t.Fatal("webhook account has no target")
	}
	if err := hook.Deliver(context.Background(), Item{Queue: "acme", Seq: 3, Kind: KindMO, MO: &MOItem{ID: "m"}}); err != nil {
		t.Fatal(err)
	}
	if len(posted) != 1 || posted[0] != "acme:3" {
		t.Errorf("webhook posts = %v", posted)
	}
	if _, ok := targets.Target("beta"); !ok {
		t.Errorf("smpp account has no target")
	}
	if _, ok := targets.Target("ghost"); ok {
		t.Errorf("unknown account has a target")
	}
}

func TestReceiptsForOneMessageConcurrently(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne(longText)
	var wg sync.WaitGroup
	for seg := 1; seg <= 3; seg++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := receiptPDU(fmt.Sprintf("id:C%04d stat:DELIVRD err:000", seg), nil)
			if st := f.mo.HandleDeliver(f.ctx, "sim", p); st != smpp.StatusOK {
				t.Errorf("segment %d: %v", seg, st)
			}
		}()
	}
	wg.Wait()
	items := f.receiptItems()
	if len(items) != 1 || items[0].MessageID != id || items[0].State != smpp.StateDelivered {
		t.Errorf("receipts = %+v, want one DELIVRD under the worst policy", items)
	}
}

// FuzzHandleDeliver feeds arbitrary PDUs to the MO path, which takes
// untrusted carrier input. It checks that every input gets a status and
// never a panic.
func FuzzHandleDeliver(f *testing.F) {
	seeds := []string{
		"0000004d00000005000000000000001100010131323031353535303130310001013138383835353530313030000000000000000000001645787" +
			"43a1b651b3c1b3e1b281b291b141b3d1b2f1b40",
		"00000054000000050000000000000023000101313230313535353031303100010131383838353535303130300040000000000000000000042" +
			"40019050003ab020148656c6c6f2066726f6d2070617274206f6e65",
	}
	for _, s := range seeds {
		b, err := hex.DecodeString(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fx := newCoreFixture(f, coreOptions{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := smpp.DecodePDU(b)
		if err != nil {
			return
		}
		switch p.(type) {
		case *smpp.DeliverSM, *smpp.DataSM:
		default:
			return
		}
		_ = fx.mo.HandleDeliver(context.Background(), "sim", p)
	})
}
