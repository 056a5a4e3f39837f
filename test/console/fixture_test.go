package console

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/sip"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers and tokens of the console tests. demo is the account the
// browser logs in with; globex is another account whose data it must
// never see.
const (
	demoTollFree      = "+18005550100" // demo's ready number
	demoNotReady      = "+18005550101" // demo's number without voicemail
	globexTollFree    = "+18885550100"
	subscriber        = "+12015550101"
	demoToken         = "console-demo-token"
	globexToken       = "console-globex-token"
	operatorToken     = "console-operator-token"
	demoVoicemailID   = "0d3a5c1e9b7f4e21"
	globexVoicemailID = "7e11aa90c4d2b358"
	esmePassword      = "cons01"
)

// chromiumPath is Debian's chromium launcher.
const chromiumPath = "/usr/bin/chromium"

// requireToolsEnv makes a missing browser fail the tests instead of
// skipping them. CI sets it after installing chromium.
const requireToolsEnv = "OPTGATE_REQUIRE_TOOLS"

// consoleYAML is the daemon configuration. The placeholders are the
// simulator's port, the data directory, the hashes of the demo and globex
// tokens, and the hash of the ESMEs' password.
const consoleYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: true, udp_addr: "127.0.0.1:0", tcp_addr: "127.0.0.1:0"}
  simulator: {enabled: true, addr: "127.0.0.1:%[1]d", receipt_delay: 0s}
store:
  embedded: {path: "%[2]s/consent.db"}
logging: {mask_numbers: true}
accounts:
  - id: demo
    business_name: Demo Coffee Co.
    website: https://democoffee.example
    toll_free:
      - {number: "+18005550100", greeting: "builtin:demo", voicemail: {enabled: true}}
      - {number: "+18005550101", greeting: "builtin:demo"}
    esme:
      - {system_id: demo01, password_hash: "%[5]s"}
    api_tokens:
      - {name: console, hash: "%[3]s"}
  - id: globex
    business_name: Globex Clinic
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: globex01, password_hash: "%[5]s"}
    api_tokens:
      - {name: console, hash: "%[4]s"}
carriers:
  - name: sim
    address: "127.0.0.1:%[1]d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// daemonFixture is an optgate daemon on loopback ports with the built-in
// simulator as its carrier and the SIP front end serving voicemails.
type daemonFixture struct {
	t   *testing.T
	d   *gateway.Daemon
	sim *smscsim.Simulator
	// base is the HTTP API's URL, such as http://127.0.0.1:41234.
	base string
}

func newDaemonFixture(t *testing.T, ctx context.Context) *daemonFixture {
	t.Helper()
	dir := t.TempDir()
	port := daemontest.FreePort(t, "tcp")
	text := fmt.Sprintf(consoleYAML, port, dir, daemontest.Hash(t, demoToken), daemontest.Hash(t, globexToken),
		daemontest.Hash(t, esmePassword))
	cfg, err := config.Parse([]byte(text), "console-test.yaml")
	if err != nil {
		t.Fatalf("parse test configuration: %v", err)
	}
	seedVoicemails(t, ctx, filepath.Join(dir, "voicemail"))

	d := daemontest.Start(t, ctx, cfg, nil, gateway.DaemonOptions{
		OperatorToken: operatorToken,
		SIP:           sip.NewFrontEnd,
		Carrier: gateway.CarrierPoolConfig{
			ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond,
		},
	}, 10*time.Second)
	f := &daemonFixture{t: t, d: d, sim: d.Simulator(), base: "http://" + d.HTTPAddr().String()}
	f.waitReady(ctx)
	return f
}

// waitReady polls /readyz until the carrier is bound.
func (f *daemonFixture) waitReady(ctx context.Context) {
	f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("daemon not ready after 15s (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends an API request with a token and returns the status and body.
// A body that is not empty is sent as JSON.
func (f *daemonFixture) call(ctx context.Context, method, path, token, body string) (int, []byte) {
	f.t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	res := daemontest.Request(f.t, ctx, http.DefaultClient, method, f.base+path, token, contentType, []byte(body))
	return res.Status, res.Body
}

// decode unmarshals a response body, failing the test on invalid JSON.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, b)
	}
	return v
}

// seedVoicemails stores one voicemail for demo and one for globex where
// the daemon's SIP front end keeps them.
func seedVoicemails(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	store, err := sip.NewFileVoicemails(dir, sip.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	received := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for _, vm := range []sip.Voicemail{
		{ID: demoVoicemailID, Account: "demo", From: subscriber, To: demoTollFree, CallID: "console-call-1",
			Received: received, Duration: time.Second},
		{ID: globexVoicemailID, Account: "globex", From: "+12015550102", To: globexTollFree,
			CallID: "console-call-2", Received: received, Duration: time.Second},
	} {
		if err := store.Save(ctx, vm, bytes.NewReader(toneWAV(time.Second))); err != nil {
			t.Fatalf("seed voicemail %s: %v", vm.ID, err)
		}
	}
}

// toneWAV returns a WAV file of a 440 Hz tone: 8000 Hz, 16-bit mono PCM,
// the format of optgate's voicemails.
func toneWAV(d time.Duration) []byte {
	const rate = 8000
	samples := int(d.Seconds() * rate)
	var pcm bytes.Buffer
	for i := range samples {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		_ = binary.Write(&pcm, binary.LittleEndian, v)
	}
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + pcm.Len()))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(pcm.Len()))
	b.Write(pcm.Bytes())
	return b.Bytes()
}

// newBrowser starts headless chromium with an empty profile and returns
// a chromedp context of one tab. It skips the test when chromium is not
// installed, unless OPTGATE_REQUIRE_TOOLS=1.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv(requireToolsEnv) == "1" {
			t.Fatalf("%s not found and %s=1 requires it; install it: apt-get install chromium",
				chromiumPath, requireToolsEnv)
		}
		t.Skipf("%s not found, so the browser tests do not run; install it (apt-get install chromium), "+
			"or set %s=1 to make a missing browser fail", chromiumPath, requireToolsEnv)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return browser
}
