package console

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// screenshotsEnv names the directory the tests write page screenshots to.
const screenshotsEnv = "OPTGATE_SCREENSHOTS"

// stepTimeout bounds one wait in the browser.
const stepTimeout = 10 * time.Second

// page drives the console in one browser tab and collects the page's
// script errors and policy violations.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

func newPage(t *testing.T, browser context.Context) *page {
	t.Helper()
	p := &page{t: t, ctx: browser}
	err := chromedp.Listen(browser, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problem = "script exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				problem += " " + ev.ExceptionDetails.Exception.Description
			}
		case *log.EventEntryAdded:
			// Failed API calls log errors too, such as the 403 that
			// marks an account token at login. Only policy violations
			// count as problems.
			if strings.Contains(ev.Entry.Text, "Content Security Policy") {
				problem = "policy violation: " + ev.Entry.Text
			}
		}
		if problem != "" {
			p.mu.Lock()
			p.problems = append(p.problems, problem)
			p.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	t.Cleanup(p.checkProblems)
	return p
}

func (p *page) checkProblems() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, problem := range p.problems {
		p.t.Errorf("console page: %s", problem)
	}
}

// do runs browser steps, each wait bounded by stepTimeout.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor waits until the JavaScript expression is true.
func (p *page) waitFor(what, expression string) {
	p.t.Helper()
	p.do(what, discard(chromedp.Poll[bool](expression, chromedp.WithPollingTimeout(stepTimeout))))
}

// eval returns the value of a JavaScript expression.
func eval[T any](p *page, expression string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// text returns the text of the first element matching a CSS selector.
func (p *page) text(selector string) string {
	p.t.Helper()
	return eval[string](p, "document.querySelector("+js(selector)+").textContent")
}

// screenshot saves the viewport as DIR/name.png when OPTGATE_SCREENSHOTS
// names a directory.
func (p *page) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// js quotes a string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// discard makes a step of an action whose value does not matter.
func discard[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

func css(selector string) chromedp.CSS { return chromedp.CSS(selector) }

func (p *page) login(token string) {
	p.t.Helper()
	p.do("log in",
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#token"), token),
		chromedp.Click(css("#login-form button[type=submit]")),
		chromedp.WaitVisible(css("#logout")),
	)
}

func (p *page) open(hash string) {
	p.t.Helper()
	p.do("open "+hash, discard(chromedp.Evaluate[string]("location.hash = "+js(hash))))
}

// lookUp looks the number up on the consent page and waits for its state.
func (p *page) lookUp(number, state string) {
	p.t.Helper()
	p.open("#consent")
	p.do("look up "+number,
		chromedp.WaitVisible(css("#lookup-form")),
		chromedp.SetValue(css("#lookup-number"), number),
		chromedp.Click(css("#lookup-form button[type=submit]")),
	)
	p.waitFor("state "+state, "document.querySelector('#c-state').textContent === "+js(state)+
		" && !document.querySelector('#lookup-result').hidden")
}

// TestConsoleOptInFlow logs in with an account token, looks a number up,
// sends an opt-in request from the dialog, checks that it reached the SMSC
// simulator, injects the subscriber's YES there and checks that the
// history shows it. It then visits every other page, as the account and as the
// operator.
func TestConsoleOptInFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	f := newDaemonFixture(t, ctx)
	p := newPage(t, newBrowser(t, ctx))

	p.do("open the console", chromedp.Navigate(f.base+"/console/"))
	p.do("login page", chromedp.WaitVisible(css("#login-form")))
	p.screenshot("login")
	p.login(demoToken)
	if who := p.text("#who"); who != "account demo" {
		t.Errorf("header shows %q, want account demo", who)
	}
	if eval[bool](p, "getComputedStyle(document.querySelector('#account-picker')).display !== 'none'") {
		t.Error("the account picker shows for an account token")
	}
	if eval[bool](p, "[...document.querySelectorAll('#nav a[data-operator]')].some((a) => a.offsetParent !== null)") {
		t.Error("operator pages are offered to an account token")
	}
	if token := eval[string](p, "sessionStorage.getItem('optgate.console.token')"); token != demoToken {
		t.Errorf("sessionStorage token = %q, want the one entered", token)
	}
	if url := eval[string](p, "location.href"); strings.Contains(url, demoToken) {
		t.Errorf("the token is in the URL %s", url)
	}

	// Look the number up: never contacted.
	p.lookUp(subscriber, "none")
	if n := eval[int](p, "document.querySelectorAll('#history tbody tr').length"); n != 0 {
		t.Errorf("history of a new number has %d rows", n)
	}

	// The dialog previews the configured request.
	wantText := "Demo Coffee Co. wants to send you texts from (800) 555-0100. Reply YES to agree. " +
		"Reply STOP to opt out. Your carrier's message and data rates may apply. More at https://democoffee.example"
	p.do("open the opt-in dialog", chromedp.Click(css("#open-optin")))
	p.waitFor("preview", "document.querySelector('#optin-dialog').open && "+
		"document.querySelector('#o-preview').textContent === "+js(wantText))
	if count := p.text("#o-count"); !strings.Contains(count, "2 segments") || !strings.Contains(count, "GSM 7-bit") {
		t.Errorf("count line = %q, want 2 segments in GSM 7-bit", count)
	}
	if eval[bool](p, "document.querySelector('#o-send').disabled") {
		t.Fatal("Send is disabled for the configured wording")
	}
	// The number was never contacted: the count starts from 0, not from
	// a missing value.
	if count := p.text("#o-count"); !strings.Contains(count, "this is request 1 of 2") {
		t.Errorf("count line = %q, want request 1 of 2 for a new number", count)
	}

	// An edited name updates the preview live, and cannot be sent.
	p.do("edit the business name", chromedp.SendKeys(css("#o-business"), " Roasters ☕"))
	p.waitFor("edited preview", "document.querySelector('#o-preview').textContent.startsWith("+
		js("Demo Coffee Co. Roasters ☕ wants")+") && document.querySelector('#o-send').disabled")
	if count := p.text("#o-count"); !strings.Contains(count, "UCS-2") {
		t.Errorf("count line = %q, want UCS-2 for the emoji", count)
	}
	p.screenshot("optin-dialog")

	// Markup in a field stays text.
	markup := `<img src="x" onerror="window.injected = true">`
	p.do("type markup", chromedp.SendKeys(css("#o-details"), markup))
	p.waitFor("markup in the preview", "document.querySelector('#o-preview').textContent.includes("+js(markup)+")")
	if eval[bool](p, "document.querySelector('#o-preview img') !== null || window.injected === true") {
		t.Error("markup typed into the dialog became an element of the page")
	}
	p.do("reset the wording", chromedp.Click(css("#o-reset")))
	p.waitFor("configured preview again", "document.querySelector('#o-preview').textContent === "+js(wantText)+
		" && !document.querySelector('#o-send').disabled")

	// Send, and see the request reach the simulator.
	p.do("send", chromedp.Click(css("#o-send")))
	p.waitFor("sent", "!document.querySelector('#o-result').hidden")
	if res := p.text("#o-result"); !strings.Contains(res, "Sent request 1 of 2") {
		t.Errorf("dialog result = %q", res)
	}
	msg := waitSubmitted(t, ctx, f.sim, subscriber)
	if msg.FullText != wantText || "+"+msg.Source != demoTollFree {
		t.Errorf("simulator got %q from %s, want %q from %s", msg.FullText, msg.Source, wantText, demoTollFree)
	}
	p.do("close the dialog", chromedp.Click(css("#o-cancel")))
	p.waitFor("requested", "document.querySelector('#c-state').textContent === 'requested'")
	if h := p.text("#history tbody"); !strings.Contains(h, "request") || !strings.Contains(h, wantText) {
		t.Errorf("history after the request = %q, want the request with its text", h)
	}

	// The subscriber replies YES through the simulator.
	status, err := f.sim.Inject(ctx, smscsim.MO{From: subscriber, To: demoTollFree, Text: "YES"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("inject YES: status %v, error %v", status, err)
	}
	p.lookUp(subscriber, "opted_in")
	// The request, the YES and, once the confirmation is queued, its
	// reply_queued entry.
	p.waitFor("YES in the history", "document.querySelectorAll('#history tbody tr').length >= 2")
	if h := p.text("#history tbody tr:nth-child(2)"); !strings.Contains(h, "YES") || !strings.Contains(h, "opted_in") {
		t.Errorf("second history row = %q, want the YES that opted in", h)
	}
	if eval[bool](p, "document.querySelector('#c-requests').textContent !== '1 of 2'") {
		t.Errorf("requests shown = %q, want 1 of 2", p.text("#c-requests"))
	}
	p.screenshot("consent")

	// A failed lookup leaves no other number's state on screen, and its
	// error stays on the consent page.
	p.do("look up an invalid number",
		chromedp.SetValue(css("#lookup-number"), "12"),
		chromedp.Click(css("#lookup-form button[type=submit]")))
	p.waitFor("lookup error", "!document.querySelector('#notice').hidden")
	if eval[bool](p, "!document.querySelector('#lookup-result').hidden || "+
		"document.querySelector('#c-state').textContent !== '' || "+
		"document.querySelectorAll('#history tbody tr').length !== 0") {
		t.Errorf("after a failed lookup the page still shows %q with state %q",
			p.text("#c-number"), p.text("#c-state"))
	}
	p.open("#numbers")
	p.waitFor("notice cleared on another page", "document.querySelector('#notice').hidden")
	if hint := p.text("#page-numbers .hint"); !strings.Contains(hint, "8000 Hz 16-bit mono PCM") ||
		strings.Contains(hint, "G.711") {
		t.Errorf("greeting hint = %q, want the one format the upload takes", hint)
	}

	checkAccountPages(t, p)

	// The operator sees the binds and the blocks.
	if code, body := f.call(ctx, http.MethodPost, "/v1/messages", demoToken,
		`{"from":"`+demoTollFree+`","to":"+12015550103","text":"Your order is ready."}`); code != http.StatusForbidden {
		t.Fatalf("text to a number without consent: status %d, body %s", code, body)
	}
	bindBusiness(t, ctx, f.d.SMPPAddr().String(), "demo01")
	p.do("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-form")))
	if token := eval[*string](p, "sessionStorage.getItem('optgate.console.token')"); token != nil {
		t.Errorf("token kept after logout: %q", *token)
	}
	p.login(operatorToken)
	p.lookUp(subscriber, "opted_in")
	p.open("#binds")
	p.waitFor("carrier bound", "(document.querySelector('#carriers tbody').textContent || '').includes('BOUND_TRX')")
	if row := p.text("#carriers tbody tr"); !strings.Contains(row, "sim") || !strings.Contains(row, "1 of 1") {
		t.Errorf("carrier row = %q, want sim with 1 of 1 bound", row)
	}
	p.waitFor("business bound", "(document.querySelector('#business tbody').textContent || '').includes('demo01')")
	if row := p.text("#business tbody tr"); !strings.Contains(row, "transceiver") || !strings.Contains(row, "BOUND_TRX") {
		t.Errorf("business row = %q, want demo01 bound as transceiver", row)
	}
	p.waitFor("traffic rate", "document.querySelector('#traffic').textContent.includes('per second')")
	p.waitFor("carrier rate", "(document.querySelector('#carriers tbody').textContent || '').includes('submitted')")
	if row := p.text("#business tbody tr"); !strings.Contains(row, "0 / ") {
		t.Errorf("business row = %q, want its window in use as a number", row)
	}
	p.screenshot("binds")
	p.open("#blocks")
	p.waitFor("block counted", "(document.querySelector('#block-reasons tbody').textContent || '').includes('no_consent')")
	if row := p.text("#block-reasons tbody tr"); !strings.Contains(row, "no_consent") || !strings.HasSuffix(row, "1") {
		t.Errorf("block count row = %q, want one no_consent", row)
	}
	p.waitFor("block listed", "document.querySelectorAll('#blocks tbody tr').length === 1")
	if row := p.text("#blocks tbody tr"); !strings.Contains(row, "+1******0103") || !strings.Contains(row, "no_consent") {
		t.Errorf("recent block row = %q, want the text to +1******0103 blocked for no_consent", row)
	}
	p.screenshot("blocks")
}

// checkAccountPages visits the numbers and voicemail pages as demo: they
// list demo's numbers and voicemail only, and the voicemail plays.
func checkAccountPages(t *testing.T, p *page) {
	t.Helper()
	p.open("#numbers")
	p.waitFor("numbers", "document.querySelectorAll('#numbers tbody tr').length === 2")
	rows := p.text("#numbers tbody")
	for _, want := range []string{demoTollFree, demoNotReady, "voicemail is off"} {
		if !strings.Contains(rows, want) {
			t.Errorf("numbers page lacks %q: %s", want, rows)
		}
	}
	if strings.Contains(rows, globexTollFree) || strings.Contains(rows, "globex") {
		t.Errorf("numbers page shows globex's number: %s", rows)
	}

	// Greetings upload from the page, which shows the API's errors.
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "greeting.wav"), filepath.Join(dir, "broken.wav")
	if err := os.WriteFile(good, toneWAV(time.Second), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("this is not a WAV file"), 0o600); err != nil {
		t.Fatal(err)
	}
	row := `#numbers tr[data-number="` + demoTollFree + `"] `
	for _, tc := range []struct{ file, want string }{
		{bad, "invalid"},
		{good, "Greeting uploaded."},
	} {
		p.do("upload "+filepath.Base(tc.file),
			chromedp.SetUploadFiles(css(row+"input[type=file]"), []string{tc.file}),
			chromedp.Click(css(row+"button")))
		p.waitFor("upload result", "!document.querySelector("+js(row+".upload span")+").textContent.endsWith('\u2026')")
		if got := p.text(row + ".upload span"); !strings.Contains(got, tc.want) {
			t.Errorf("after uploading %s the page shows %q, want %q", filepath.Base(tc.file), got, tc.want)
		}
	}
	p.screenshot("numbers")

	p.open("#voicemail")
	p.waitFor("voicemails", "document.querySelectorAll('#voicemails tbody tr').length > 0")
	ids := eval[[]string](p, "[...document.querySelectorAll('#voicemails tbody tr')].map((r) => r.dataset.id)")
	if len(ids) != 1 || ids[0] != demoVoicemailID {
		t.Errorf("voicemail page lists %v, want only demo's %s", ids, demoVoicemailID)
	}
	p.do("play", chromedp.Click(css("#voicemails tbody tr button")))
	p.waitFor("audio loaded", "document.querySelector('#player').src.startsWith('blob:') && "+
		"document.querySelector('#player').readyState >= 1")
	if d := eval[float64](p, "document.querySelector('#player').duration"); d < 0.9 || d > 1.1 {
		t.Errorf("voicemail plays for %.2f s, want 1 s", d)
	}
	p.screenshot("voicemail")
}

// waitSubmitted waits for the simulator to receive a whole message to
// number, all segments of a long one included, and returns the message
// that completed it.
func waitSubmitted(t *testing.T, ctx context.Context, sim *smscsim.Simulator, number string) smscsim.Message {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		msgs := sim.Messages()
		for _, m := range msgs {
			if "+"+m.Destination == number && m.FullText != "" {
				return m
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("simulator received no whole message to %s in %v; it has %d messages", number, stepTimeout, len(msgs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bindBusiness binds an ESME of the daemon's business SMPP server as
// transceiver, acknowledging whatever optgate delivers, until the test
// ends.
func bindBusiness(t *testing.T, ctx context.Context, addr, systemID string) {
	t.Helper()
	c, err := smpp.NewClient(smpp.ClientConfig{
		Addr: addr, BindType: smpp.BindTypeTransceiver, SystemID: systemID, Password: esmePassword,
		Handler: func(context.Context, smpp.PDU) smpp.CommandStatus { return smpp.StatusOK },
	})
	if err != nil {
		t.Fatal(err)
	}
	bindCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := c.Connect(bindCtx); err != nil {
		t.Fatalf("bind %s: %v", systemID, err)
	}
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	})
}
