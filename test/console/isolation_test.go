package console

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

type numbersBody struct {
	Numbers []struct {
		Number  string `json:"number"`
		Account string `json:"account"`
	} `json:"numbers"`
}

type voicemailsBody struct {
	Voicemails []struct {
		ID string `json:"id"`
		To string `json:"to"`
	} `json:"voicemails"`
}

// listed returns the numbers and voicemail ids listed for a token.
func (f *daemonFixture) listed(ctx context.Context, token, query string) (numbers, voicemails []string) {
	f.t.Helper()
	code, body := f.call(ctx, http.MethodGet, "/v1/numbers"+query, token, "")
	if code != http.StatusOK {
		f.t.Fatalf("GET /v1/numbers%s: status %d, body %s", query, code, body)
	}
	for _, n := range decode[numbersBody](f.t, body).Numbers {
		numbers = append(numbers, n.Account+":"+n.Number)
	}
	code, body = f.call(ctx, http.MethodGet, "/v1/voicemails"+query, token, "")
	if code != http.StatusOK {
		f.t.Fatalf("GET /v1/voicemails%s: status %d, body %s", query, code, body)
	}
	for _, v := range decode[voicemailsBody](f.t, body).Voicemails {
		voicemails = append(voicemails, v.ID)
	}
	slices.Sort(numbers)
	slices.Sort(voicemails)
	return numbers, voicemails
}

// TestAccountIsolationAPI checks that an account token reaches its own
// numbers and voicemails only, and that the operator token reaches both.
func TestAccountIsolationAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newDaemonFixture(t, ctx)

	for _, tc := range []struct {
		name, token, query  string
		numbers, voicemails []string
	}{
		{"demo", demoToken, "", []string{"demo:" + demoTollFree, "demo:" + demoNotReady}, []string{demoVoicemailID}},
		{"globex", globexToken, "", []string{"globex:" + globexTollFree}, []string{globexVoicemailID}},
		{"operator", operatorToken, "",
			[]string{"demo:" + demoTollFree, "demo:" + demoNotReady, "globex:" + globexTollFree},
			[]string{demoVoicemailID, globexVoicemailID}},
		{"operator for globex", operatorToken, "?account=globex",
			[]string{"globex:" + globexTollFree}, []string{globexVoicemailID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			numbers, voicemails := f.listed(ctx, tc.token, tc.query)
			if !slices.Equal(numbers, tc.numbers) {
				t.Errorf("numbers = %v, want %v", numbers, tc.numbers)
			}
			if !slices.Equal(voicemails, tc.voicemails) {
				t.Errorf("voicemails = %v, want %v", voicemails, tc.voicemails)
			}
		})
	}

	// demo reaches none of globex's data, by listing, id or number.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v1/numbers?account=globex", http.StatusForbidden},
		{http.MethodGet, "/v1/voicemails?account=globex", http.StatusForbidden},
		{http.MethodGet, "/v1/voicemails/" + globexVoicemailID, http.StatusNotFound},
		{http.MethodGet, "/v1/voicemails/" + globexVoicemailID + "?account=globex", http.StatusForbidden},
		{http.MethodDelete, "/v1/voicemails/" + globexVoicemailID, http.StatusNotFound},
	} {
		code, body := f.call(ctx, tc.method, tc.path, demoToken, "")
		if code != tc.status {
			t.Errorf("demo %s %s: status %d, want %d; body %s", tc.method, tc.path, code, tc.status, body)
		}
		if bytes.Contains(body, []byte(globexTollFree)) || bytes.Contains(body, []byte("RIFF")) {
			t.Errorf("demo %s %s: the response carries globex's data: %.200s", tc.method, tc.path, body)
		}
	}
	if code := f.putGreeting(ctx, demoToken, globexTollFree); code != http.StatusNotFound {
		t.Errorf("demo uploading globex's greeting: status %d, want 404", code)
	}
	if _, voicemails := f.listed(ctx, globexToken, ""); !slices.Equal(voicemails, []string{globexVoicemailID}) {
		t.Errorf("globex's voicemails after demo's delete = %v, want it kept", voicemails)
	}
}

// putGreeting uploads a WAV greeting for number and returns the status.
func (f *daemonFixture) putGreeting(ctx context.Context, token, number string) int {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, f.base+"/v1/numbers/"+number+"/greeting",
		bytes.NewReader(toneWAV(time.Second)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "audio/wav")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("PUT greeting: %v", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestAccountIsolationConsole logs in as globex and checks that the
// numbers and voicemail pages show globex's data only.
func TestAccountIsolationConsole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newDaemonFixture(t, ctx)
	p := newPage(t, newBrowser(t, ctx))

	p.do("open the console", chromedp.Navigate(f.base+"/console/"))
	p.do("log in with a wrong token",
		chromedp.WaitVisible(css("#login-form")),
		chromedp.SendKeys(css("#token"), "not-a-token"),
		chromedp.Click(css("#login-form button[type=submit]")))
	p.waitFor("login error", "!document.querySelector('#notice').hidden")
	if msg := p.text("#notice"); msg != "This token is not valid." {
		t.Errorf("login with a wrong token shows %q", msg)
	}
	if eval[bool](p, "sessionStorage.getItem('optgate.console.token') !== null || !document.querySelector('#nav').hidden") {
		t.Error("a wrong token was kept or opened the console")
	}
	p.do("clear the token", discard(chromedp.Evaluate[string]("document.querySelector('#token').value = ''")))
	p.login(globexToken)
	p.open("#numbers")
	p.waitFor("numbers", "document.querySelectorAll('#numbers tbody tr').length > 0")
	numbers := eval[[]string](p, "[...document.querySelectorAll('#numbers tbody tr')].map((r) => r.dataset.number)")
	if !slices.Equal(numbers, []string{globexTollFree}) {
		t.Errorf("numbers page lists %v, want only %s", numbers, globexTollFree)
	}
	p.open("#voicemail")
	p.waitFor("voicemails", "document.querySelectorAll('#voicemails tbody tr').length > 0")
	ids := eval[[]string](p, "[...document.querySelectorAll('#voicemails tbody tr')].map((r) => r.dataset.id)")
	if !slices.Equal(ids, []string{globexVoicemailID}) {
		t.Errorf("voicemail page lists %v, want only %s", ids, globexVoicemailID)
	}
	if page := p.text("main"); strings.Contains(page, demoTollFree) || strings.Contains(page, "demo") {
		t.Errorf("globex's console shows demo's data: %.300s", page)
	}
}
