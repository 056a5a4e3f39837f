package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// fakeSIP is a SIPFrontEnd that records the daemon's calls.
type fakeSIP struct {
	deps      SIPDeps
	failed    chan error
	delivered chan Item

	mu       sync.Mutex
	events   []string
	accounts []config.Account
	callers  []APICaller
	optIns   []OptInRequest
	greeting map[string]string
}

func newFakeSIP() *fakeSIP {
	return &fakeSIP{failed: make(chan error, 1), delivered: make(chan Item, 10), greeting: map[string]string{}}
}

func (s *fakeSIP) record(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event)
}

func (s *fakeSIP) eventList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

func (s *fakeSIP) Start(context.Context) error {
	s.record("start")
	return nil
}

func (s *fakeSIP) Stop(context.Context) error {
	s.record("stop")
	return nil
}

func (s *fakeSIP) Failed() <-chan error { return s.failed }

func (s *fakeSIP) UpdateAccounts(accounts []config.Account) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "update")
	s.accounts = accounts
	return nil
}

func (s *fakeSIP) Target(queue string) (Deliverer, bool) {
	return DelivererFunc(func(_ context.Context, item Item) error {
		s.delivered <- item
		return nil
	}), true
}

func (s *fakeSIP) RequestOptInForCall(_ context.Context, req OptInRequest, callID string) (OptInResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if callID != "call-1" {
		return OptInResult{}, ErrCallNotFound
	}
	s.optIns = append(s.optIns, req)
	return OptInResult{Result: Result{MessageID: "m1"}, Request: 1, From: "+18885550100", To: sub1}, nil
}

func (s *fakeSIP) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := APICallerFrom(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		s.callers = append(s.callers, c)
		s.mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	})
}

func (s *fakeSIP) Addr(network string) net.Addr {
	if network == "udp" {
		return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5999}
	}
	return nil
}

func (s *fakeSIP) UploadedGreeting(number string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.greeting[number]
	return p, ok
}

// sipDaemon starts a daemon fixture with fake as its SIP front end and
// acme's MO texts delivered over SIP.
func sipDaemon(t *testing.T, fake *fakeSIP, opts daemonOptions) *daemonFixture {
	t.Helper()
	setConfig := opts.config
	opts.config = func(c *config.Config) {
		c.Listeners.SIP.Enabled = true
		c.Accounts[0].Delivery = config.Delivery{Type: config.DeliverySIP, SIPURI: "sip:pbx@127.0.0.1:9"}
		if setConfig != nil {
			setConfig(c)
		}
	}
	setOptions := opts.options
	opts.options = func(o *DaemonOptions) {
		o.SIP = func(deps SIPDeps) (SIPFrontEnd, error) {
			fake.deps = deps
			return fake, nil
		}
		if setOptions != nil {
			setOptions(o)
		}
	}
	return newDaemonFixture(t, opts)
}

func TestDaemonSIPFrontEnd(t *testing.T) {
	fake := newFakeSIP()
	f := sipDaemon(t, fake, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	if got := fake.eventList(); len(got) != 1 || got[0] != "start" {
		t.Fatalf("front end events after Start = %v, want [start]", got)
	}
	if fake.deps.DataDir != f.dir || fake.deps.Config == nil || fake.deps.Registerer == nil {
		t.Errorf("deps = %+v, want the data directory %s, the configuration and a registerer", fake.deps, f.dir)
	}
	if a := f.d.SIPAddr("udp"); a == nil || a.String() != "127.0.0.1:5999" {
		t.Errorf("SIPAddr(udp) = %v, want the front end's address", a)
	}

	// The MT adapter reaches the running core.
	res, err := fake.deps.MT.Submit(f.ctx, MT{Account: "acme", From: acmeTollFree, To: sub1, Text: "hi",
		Source: consent.SourceSIP})
	if err != nil {
		t.Fatalf("Submit through the MT adapter: %v", err)
	}
	if msgs := f.sim.Messages(); len(msgs) != 1 || res.MessageID == "" {
		t.Errorf("simulator got %d messages, message id %q; want 1 and an id", len(msgs), res.MessageID)
	}

	// MO texts of an account with sip delivery go to the front end.
	f.inject(sub1, acmeTollFree, "see you then")
	select {
	case item := <-fake.delivered:
		if item.MO == nil || item.MO.Text != "see you then" {
			t.Errorf("delivered item %+v, want the MO", item)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the MO was not delivered through the SIP front end")
	}
}

func TestDaemonSIPHTTPEndpoints(t *testing.T) {
	fake := newFakeSIP()
	f := sipDaemon(t, fake, daemonOptions{config: func(c *config.Config) {
		c.Accounts[0].APITokens = []config.APIToken{{Name: "t", Hash: testHash(t, "acme-token")}}
	}})
	do := func(method, path, token, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+f.d.HTTPAddr().String()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	for _, path := range []string{"/v1/voicemails", "/v1/voicemails/0123456789abcdef"} {
		if res := do("GET", path, "acme-token", ""); res.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: %d, want the front end's 418", path, res.StatusCode)
		}
	}
	if res := do("PUT", "/v1/numbers/+18885550100/greeting", "acme-token", ""); res.StatusCode != http.StatusTeapot {
		t.Errorf("PUT greeting: %d, want the front end's 418", res.StatusCode)
	}
	if res := do("GET", "/v1/voicemails?account=other", "acme-token", ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("another account's voicemails: %d, want 403", res.StatusCode)
	}
	fake.mu.Lock()
	callers := append([]APICaller(nil), fake.callers...)
	fake.mu.Unlock()
	if len(callers) != 3 || callers[0] != (APICaller{Account: "acme"}) {
		t.Errorf("front end saw callers %+v, want acme three times", callers)
	}

	if res := do("POST", "/v1/optin-requests", "acme-token", `{"call_id":"call-1","client_ref":"r1"}`); res.StatusCode != 202 {
		t.Errorf("opt-in for a call: %d, want 202", res.StatusCode)
	}
	if res := do("POST", "/v1/optin-requests", "acme-token", `{"call_id":"call-2"}`); res.StatusCode != 404 {
		t.Errorf("opt-in for an unknown call: %d, want 404", res.StatusCode)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.optIns) != 1 || fake.optIns[0].Account != "acme" || fake.optIns[0].ClientRef != "r1" ||
		fake.optIns[0].Source != consent.SourceSIP {
		t.Errorf("opt-in requests = %+v, want one of acme with client_ref r1 and source sip", fake.optIns)
	}
}

func TestDaemonSIPReloadAndStop(t *testing.T) {
	fake := newFakeSIP()
	var next *config.Config
	f := sipDaemon(t, fake, daemonOptions{options: func(o *DaemonOptions) {
		o.Load = func() (*config.Config, error) { return next, nil }
	}})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	if _, status := b.submit(t, submitSM(t, acmeNotReady, sub1, "from the second number", 0)); status != 0x0406 {
		t.Fatalf("before the upload: status %v, want sender_not_ready", status)
	}

	// The reload enables voicemail on the number and removes its
	// configured greeting; the uploaded greeting makes it ready.
	fake.mu.Lock()
	fake.greeting[acmeNotReady] = "builtin:demo"
	fake.mu.Unlock()
	next, err := config.Parse([]byte(configYAML(t, f)), "reload.yaml")
	if err != nil {
		t.Fatal(err)
	}
	next.Listeners.SIP.Enabled = true
	next.Accounts[0].Delivery = f.cfg.Accounts[0].Delivery
	next.Accounts[0].TollFree[1].Voicemail.Enabled = true
	next.Accounts[0].TollFree[1].Greeting = ""
	if err := f.d.Reload(f.ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	fake.mu.Lock()
	updated := len(fake.accounts)
	fake.mu.Unlock()
	if got := fake.eventList(); len(got) != 2 || got[1] != "update" || updated != 1 {
		t.Errorf("front end events = %v with %d accounts, want an update with 1 account", got, updated)
	}
	if _, status := b.submit(t, submitSM(t, acmeNotReady, sub1, "from the second number", 0)); status != 0 {
		t.Errorf("after the reload: status %v, want ESME_ROK: the uploaded greeting counts", status)
	}

	if err := f.d.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := fake.eventList(); got[len(got)-1] != "stop" {
		t.Errorf("front end events = %v, want stop last", got)
	}
}

func TestDaemonSIPFailureReported(t *testing.T) {
	fake := newFakeSIP()
	f := sipDaemon(t, fake, daemonOptions{})
	fake.failed <- errors.New("sip udp listener: stopped")
	select {
	case err := <-f.d.Failed():
		if !strings.Contains(err.Error(), "sip udp listener") {
			t.Errorf("Failed() = %v, want the SIP listener's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the SIP listener failure did not reach Failed()")
	}
}
