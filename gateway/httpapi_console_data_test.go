package gateway

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

func TestAPIJSONResponsesNoStore(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	for _, tc := range []struct {
		name string
		req  apiRequest
		code int
	}{
		{"consent record", apiRequest{method: http.MethodGet, path: "/v1/consent/" + apiSubscriber,
			token: apiAcmeToken}, http.StatusOK},
		{"evidence", apiRequest{method: http.MethodGet, path: "/v1/consent/" + apiSubscriber + "/evidence",
			token: apiAcmeToken}, http.StatusOK},
		{"message sent", apiRequest{method: http.MethodPost, path: "/v1/messages", token: apiAcmeToken,
			body: `{"from":"` + apiAcmeTF + `","to":"` + apiSubscriber + `","text":"hello"}`}, http.StatusAccepted},
		{"message blocked", apiRequest{method: http.MethodPost, path: "/v1/messages", token: apiAcmeToken,
			body: `{"from":"` + apiAcmeTF + `","to":"` + apiSubscriber2 + `","text":"hello"}`}, http.StatusForbidden},
		{"no token", apiRequest{method: http.MethodGet, path: "/v1/consent/" + apiSubscriber},
			http.StatusUnauthorized},
		{"health", apiRequest{method: http.MethodGet, path: "/healthz"}, http.StatusOK},
		{"numbers", apiRequest{method: http.MethodGet, path: "/v1/numbers", token: apiAcmeToken}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(tc.req)
			if w.Code != tc.code {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q, want a JSON response", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}
}

// recentBlocks is the body of GET /v1/blocks/recent.
type recentBlocks struct {
	Recorded bool          `json:"recorded"`
	Blocks   []Block       `json:"blocks"`
	ByReason []reasonCount `json:"by_reason"`
}

func TestConsoleBlocksRecordedFromMT(t *testing.T) {
	blocks := NewBlockLog(10)
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		mc := c.Services.MT.cfg
		mc.OnBlock = blocks.Record
		mt, err := NewMTService(mc)
		if err != nil {
			t.Fatal(err)
		}
		c.Services.MT = mt
		c.Console = ConsoleSources{Blocks: blocks}
	}})
	f.setState("acme", apiSubscriber2, consent.StateOptedOut)

	if w := f.post("/v1/messages", apiAcmeToken,
		`{"from":"`+apiAcmeTF+`","to":"`+apiSubscriber+`","text":"hello"}`); w.Code != http.StatusForbidden {
		t.Fatalf("text without consent: status %d, body %s", w.Code, w.Body)
	}
	if w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"2015550102"}`); w.Code != http.StatusForbidden {
		t.Fatalf("request to an opted-out number: status %d, body %s", w.Code, w.Body)
	}
	if w := f.post("/v1/messages", apiAcmeToken,
		`{"from":"`+apiAcmeTF+`","to":"not a number","text":"hello"}`); w.Code != http.StatusBadRequest {
		t.Fatalf("text to an invalid number: status %d, body %s", w.Code, w.Body)
	}
	if n := len(f.link.sent()); n != 0 {
		t.Fatalf("the carrier got %d PDUs for blocked messages", n)
	}

	w := f.get("/v1/blocks/recent", apiOperatorToken)
	if w.Code != http.StatusOK {
		t.Fatalf("blocks: status %d, body %s", w.Code, w.Body)
	}
	got := decodeAPIBody[recentBlocks](t, w)
	if !got.Recorded {
		t.Error("recorded = false with the MT service's block log")
	}
	at := f.clock()
	want := []Block{
		{Time: at, Account: "acme", Number: "********mber", Direction: dirMT, Reason: CodeInvalidNumber},
		{Time: at, Account: "acme", Number: "+1******0102", Direction: dirRequest, Reason: CodeOptedOut},
		{Time: at, Account: "acme", Number: "+1******0101", Direction: dirMT, Reason: CodeNoConsent},
	}
	if len(got.Blocks) != len(want) {
		t.Fatalf("blocks = %+v, want %d", got.Blocks, len(want))
	}
	for i, b := range got.Blocks {
		if !b.Time.Equal(want[i].Time) {
			t.Errorf("block %d time = %v, want %v", i, b.Time, want[i].Time)
		}
		b.Time = want[i].Time
		if b != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, b, want[i])
		}
	}
}

func TestMTServiceWithoutBlockHook(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	if f.api.services.Load().MT.cfg.OnBlock != nil {
		t.Fatal("the fixture's MT service has a block hook")
	}
	// A nil hook is the default: blocking still works and records nothing.
	if w := f.post("/v1/messages", apiAcmeToken,
		`{"from":"`+apiAcmeTF+`","to":"`+apiSubscriber+`","text":"hello"}`); w.Code != http.StatusForbidden {
		t.Fatalf("text without consent: status %d, body %s", w.Code, w.Body)
	}
	got := decodeAPIBody[recentBlocks](t, f.get("/v1/blocks/recent", apiOperatorToken))
	if got.Recorded || len(got.Blocks) != 0 {
		t.Errorf("blocks without a log = %+v, want recorded false and none", got)
	}
}

func TestConsoleBindsPerCarrierRate(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := NewCarrierMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	carriers := []config.Carrier{poolCarrier("127.0.0.1:1", 1), poolCarrier("127.0.0.1:2", 2)}
	carriers[1].Name = "backup"
	set, err := NewCarrierSet(carriers, CarrierPoolConfig{Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	traffic := NewTrafficRates(reg)
	traffic.now = func() time.Time { return now }
	traffic.Sample()
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		c.Console = ConsoleSources{Carriers: set, Traffic: traffic}
	}})

	binds := decodeAPIBody[bindsResponse](t, f.get("/v1/binds", apiOperatorToken))
	if len(binds.Carriers) != 2 {
		t.Fatalf("carriers = %+v, want sim and backup", binds.Carriers)
	}
	for _, c := range binds.Carriers {
		if c.Traffic != nil {
			t.Errorf("carrier %s traffic = %+v before a second passed, want null", c.Name, *c.Traffic)
		}
	}

	sim, _ := set.Pool("sim")
	backup, _ := set.Pool("backup")
	for range 40 {
		sim.traffic.submit()
	}
	for range 10 {
		sim.traffic.receive()
	}
	for range 5 {
		backup.traffic.receive()
	}
	now = now.Add(10 * time.Second)
	binds = decodeAPIBody[bindsResponse](t, f.get("/v1/binds", apiOperatorToken))
	want := map[string]CarrierRate{
		"sim":    {SubmittedPerSecond: 4, ReceivedPerSecond: 1, Seconds: 10},
		"backup": {SubmittedPerSecond: 0, ReceivedPerSecond: 0.5, Seconds: 10},
	}
	for _, c := range binds.Carriers {
		if c.Traffic == nil {
			t.Errorf("carrier %s traffic = null 10 s after the first sample", c.Name)
			continue
		}
		if *c.Traffic != want[c.Name] {
			t.Errorf("carrier %s traffic = %+v, want %+v", c.Name, *c.Traffic, want[c.Name])
		}
	}
	if binds.Traffic == nil || binds.Traffic.Seconds != 10 {
		t.Errorf("traffic over all carriers = %+v, want a rate over 10 s", binds.Traffic)
	}
}

func TestConsolePreviewQuietHours(t *testing.T) {
	var fx *apiFixture
	f := newAPIFixture(t, apiOptions{
		acme: func(a *config.Account) { a.QuietHours = true },
		now:  time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC), // 23:00 in New Jersey
		config: func(c *HTTPAPIConfig) {
			c.Console = ConsoleSources{Now: func() time.Time { return fx.clock() }}
		},
	})
	fx = f
	f.setState("acme", apiSubscriber2, consent.StateOptedOut)

	for _, tc := range []struct {
		name, to string
		at       time.Time
		allowed  bool
		reason   Code
		quiet    bool
	}{
		{"night", apiSubscriber, time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC), false, CodeQuietHours, true},
		{"afternoon", apiSubscriber, time.Date(2026, 3, 11, 19, 0, 0, 0, time.UTC), true, "", false},
		// 12:30 UTC is 8:30 in New Jersey but 5:30 in California.
		{"morning in the west", "+12135550101", time.Date(2026, 3, 11, 12, 30, 0, 0, time.UTC), false,
			CodeQuietHours, true},
		{"opted out at night", apiSubscriber2, time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC), false,
			CodeOptedOut, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.now = tc.at
			f.mu.Unlock()
			w := f.post("/v1/optin-requests/preview", apiAcmeToken, `{"to":"`+tc.to+`"}`)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", w.Code, w.Body)
			}
			p := decodeAPIBody[previewResponse](t, w)
			if p.Allowed == nil || *p.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v", p.Allowed, tc.allowed)
			}
			if p.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", p.Reason, tc.reason)
			}
			if p.QuietHours != tc.quiet {
				t.Errorf("quiet_hours = %v, want %v", p.QuietHours, tc.quiet)
			}
		})
	}
}

func TestConsolePreviewQuietHoursOffForAccount(t *testing.T) {
	night := time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC)
	f := newAPIFixture(t, apiOptions{now: night, config: func(c *HTTPAPIConfig) {
		c.Console = ConsoleSources{Now: func() time.Time { return night }}
	}})
	p := decodeAPIBody[previewResponse](t, f.post("/v1/optin-requests/preview", apiAcmeToken,
		`{"to":"`+apiSubscriber+`"}`))
	if p.Allowed == nil || !*p.Allowed || p.QuietHours {
		t.Errorf("allowed %v, quiet_hours %v; want allowed at night for an account without quiet hours",
			p.Allowed, p.QuietHours)
	}
}

// TestConsolePreviewQuietHoursMatchesEngine compares the preview's quiet
// hours with consent.Engine.RequestOptIn's, hour by hour over a winter
// and a summer day, for numbers in one zone, in two zones and in none.
func TestConsolePreviewQuietHoursMatchesEngine(t *testing.T) {
	var fx *apiFixture
	f := newAPIFixture(t, apiOptions{
		acme: func(a *config.Account) { a.QuietHours = true },
		config: func(c *HTTPAPIConfig) {
			c.Console = ConsoleSources{Now: func() time.Time { return fx.clock() }}
		},
	})
	fx = f
	numbers := []string{
		"+12015550101", // New Jersey, Eastern time
		"+12135550101", // Los Angeles, Pacific time
		"+19075550101", // Alaska, two zones
		"+18085550101", // Hawaii
		"+16715550101", // Guam, UTC+10
		"+15005550101", // a non-geographic NANP code: no zone
	}
	days := []time.Time{time.Date(2026, 1, 15, 0, 30, 0, 0, time.UTC), time.Date(2026, 7, 15, 0, 30, 0, 0, time.UTC)}
	quietSeen, openSeen := 0, 0
	for _, day := range days {
		for hour := range 24 {
			at := day.Add(time.Duration(hour) * time.Hour)
			f.mu.Lock()
			f.now = at
			f.mu.Unlock()
			for _, n := range numbers {
				_, err := f.engine.RequestOptIn(f.ctx, consent.OptInRequest{Account: "acme", To: n})
				engineQuiet := errors.Is(err, consent.ErrQuietHours)
				w := f.post("/v1/optin-requests/preview", apiAcmeToken, `{"to":"`+n+`"}`)
				if w.Code != http.StatusOK {
					t.Fatalf("preview %s at %v: status %d, body %s", n, at, w.Code, w.Body)
				}
				p := decodeAPIBody[previewResponse](t, w)
				if p.QuietHours != engineQuiet {
					t.Errorf("%s at %v: preview quiet_hours %v, engine quiet hours %v (error %v)",
						n, at, p.QuietHours, engineQuiet, err)
				}
				if engineQuiet {
					quietSeen++
				} else {
					openSeen++
				}
			}
		}
	}
	// Both outcomes must occur, or the comparison proves nothing.
	if quietSeen == 0 || openSeen == 0 {
		t.Errorf("engine found %d quiet and %d open hours, want both", quietSeen, openSeen)
	}
}
