package sip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/sipcaller"
)

// waitGreetingEnd waits until the greeting and the beep have played: audio
// arrived and then stopped for 300 ms.
func waitGreetingEnd(t testing.TB, l *sipcaller.AudioCounter) {
	t.Helper()
	waitFor(t, "the greeting to end", func() bool { return l.Quiet(300 * time.Millisecond) })
}

func TestCallKeyPressSendsOptIn(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{greeting: 3 * time.Second})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	_, med := ph.Call(ctx, f.addr("udp"), customer, tfReady)
	l := sipcaller.Listen(t, med)
	waitFor(t, "greeting audio", func() bool { return l.Packets.Load() >= 5 })

	// A second press in the same call sends nothing more.
	sipcaller.PressKeys(t, med, "11")
	msg := f.waitMessages(1)[0]
	if msg.Source != "18885550100" || msg.Destination != "12015550101" {
		t.Errorf("opt-in request %s -> %s, want 18885550100 -> 12015550101", msg.Source, msg.Destination)
	}
	if !strings.Contains(msg.FullText, "YES") {
		t.Errorf("opt-in request text = %q, want the request wording with YES", msg.FullText)
	}
	waitFor(t, "the request to be recorded", func() bool {
		rec := f.consentRecord("acme", customer)
		return rec.State == consent.StateRequested && rec.Requests == 1
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("simulator got %d messages, want 1 opt-in request", n)
	}
}

func TestCallVoicemailRecordedAndListed(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, med := ph.Call(ctx, f.addr("udp"), customer, tfReady)
	l := sipcaller.Listen(t, med)
	waitGreetingEnd(t, l)

	// Speak for 800 ms, then stay silent: the server ends the recording
	// after its 400 ms silence timeout and hangs up.
	pb, err := med.PlaybackCreate()
	if err != nil {
		t.Fatal(err)
	}
	speech := append(tonePCM(800*time.Millisecond, 440, 8000), tonePCM(5*time.Second, 0, 0)...)
	go func() { _, _ = pb.Play(bytes.NewReader(speech), "audio/pcm") }()
	select {
	case <-d.Context().Done():
	case <-ctx.Done():
		t.Fatal("the server did not hang up after the silence")
	}

	var vms []Voicemail
	waitFor(t, "the voicemail", func() bool {
		vms, err = f.voicemails.List(ctx, "acme")
		return err == nil && len(vms) == 1
	})
	vm := vms[0]
	if vm.From != customer || vm.To != tfReady || vm.Account != "acme" {
		t.Errorf("voicemail = %+v, want from %s to %s of acme", vm, customer, tfReady)
	}
	if vm.Duration < 700*time.Millisecond || vm.Duration > 1500*time.Millisecond {
		t.Errorf("voicemail length = %v, want the 800 ms spoken and at most 500 ms of silence", vm.Duration)
	}
	if got := f.counter("optgate_sip_voicemails_total", nil); got != 1 {
		t.Errorf("voicemails_total = %v, want 1", got)
	}
	if got := f.counter("optgate_sip_calls_total", nil); got != 1 {
		t.Errorf("calls_total = %v, want 1", got)
	}

	// The HTTP API lists it for acme and serves the WAV file.
	h := NewVoicemailHandler(f.voicemails, func(r *http.Request) (gateway.APICaller, error) {
		if r.Header.Get("Authorization") != "Bearer acme-token" {
			return gateway.APICaller{}, errors.New("invalid token")
		}
		return gateway.APICaller{Account: "acme"}, nil
	}, nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/voicemails", nil)
	req.Header.Set("Authorization", "Bearer acme-token")
	h.ServeHTTP(rec, req)
	var list struct {
		Voicemails []voicemailView `json:"voicemails"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
		t.Fatalf("list: %d %s: %v", rec.Code, rec.Body, err)
	}
	if len(list.Voicemails) != 1 || list.Voicemails[0].ID != vm.ID {
		t.Fatalf("listed %+v, want voicemail %s", list.Voicemails, vm.ID)
	}
	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", list.Voicemails[0].URL, nil)
	req.Header.Set("Authorization", "Bearer acme-token")
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "audio/wav" {
		t.Fatalf("download: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if len(body) < wavHeaderSize || string(body[:4]) != "RIFF" || int64(len(body)) != vm.Size {
		t.Errorf("download is %d bytes starting %q, want a %d-byte WAV file", len(body), body[:min(4, len(body))], vm.Size)
	}
	wantData := int64(vm.Duration/time.Millisecond) * sampleRate / 1000 * bytesPerSample
	if got := int64(len(body) - wavHeaderSize); got != wantData {
		t.Errorf("audio is %d bytes, want %d for %v", got, wantData, vm.Duration)
	}
}

func TestCallWithoutVoicemailEndsAfterGreeting(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, med := ph.Call(ctx, f.addr("udp"), customer, tfNotReady)
	l := sipcaller.Listen(t, med)
	select {
	case <-d.Context().Done():
	case <-ctx.Done():
		t.Fatal("the server did not hang up after the greeting")
	}
	if l.Packets.Load() == 0 {
		t.Error("no greeting audio received")
	}
	if vms, err := f.voicemails.List(ctx, "acme"); err != nil || len(vms) != 0 {
		t.Errorf("voicemails = %v, %v; want none", vms, err)
	}
}

func TestCallInfoSendsOptIn(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{greeting: 5 * time.Second})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, _ := ph.Call(ctx, f.addr("udp"), customer, tfReady)

	info := func(contentType, body string) *sip.Response {
		t.Helper()
		req := sip.NewRequest(sip.INFO, d.InviteResponse.Contact().Address)
		if contentType != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", contentType))
		}
		req.SetBody([]byte(body))
		res, err := d.Do(ctx, req)
		if err != nil {
			t.Fatalf("INFO: %v", err)
		}
		return res
	}

	res := info("application/json", "{}")
	if res.StatusCode != 415 || !strings.Contains(header(res, "Accept"), contentOptIn) {
		t.Errorf("json INFO: %d, Accept %q; want 415 listing %s", res.StatusCode, header(res, "Accept"), contentOptIn)
	}
	res = info(contentOptIn, `{"toll_free": "`+tfNotReady+`"}`)
	if res.StatusCode != 403 || !strings.Contains(header(res, "Warning"), "sender_not_ready") {
		t.Errorf("opt-in from a number without voicemail: %d %q, want 403 sender_not_ready",
			res.StatusCode, header(res, "Warning"))
	}
	res = info(contentOptIn, "")
	if res.StatusCode != 200 || len(header(res, HeaderMessageID)) != 16 {
		t.Fatalf("opt-in INFO: %d %s, want 200 with a message id", res.StatusCode, header(res, "Warning"))
	}
	msg := f.waitMessages(1)[0]
	if msg.Source != "18885550100" || msg.Destination != "12015550101" {
		t.Errorf("opt-in request %s -> %s, want 18885550100 -> 12015550101", msg.Source, msg.Destination)
	}

	// The HTTP API's path: by Call-ID, scoped to the account.
	callID := d.InviteRequest.CallID().Value()
	if _, err := f.srv.RequestOptInForCall(ctx, gateway.OptInRequest{Account: "beta"}, callID); !errors.Is(err, ErrCallNotFound) {
		t.Errorf("another account's call: err = %v, want ErrCallNotFound", err)
	}
	calls := f.srv.Calls("acme")
	if len(calls) != 1 || calls[0].CallID != callID || calls[0].Caller != customer {
		t.Errorf("Calls(acme) = %+v, want the call from %s", calls, customer)
	}
	res2, err := f.srv.RequestOptInForCall(ctx, gateway.OptInRequest{Account: "acme"}, callID)
	if err != nil {
		t.Fatalf("RequestOptInForCall: %v", err)
	}
	if res2.Request != 2 || res2.To != customer {
		t.Errorf("second request = %+v, want request 2 to %s", res2, customer)
	}
	f.waitMessages(2)
}

func TestCallRejected(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	cases := []struct {
		name   string
		number string
		sdp    string
		want   int
	}{
		{"number of no account", tfNobody, pcmuOffer, 404},
		{"other account's number", tfBeta, pcmuOffer, 401},
		{"no G.711 in the offer", tfReady, strings.Replace(pcmuOffer, "RTP/AVP 0", "RTP/AVP 9", 1), 488},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := invite("reject-"+strings.ReplaceAll(tc.name, " ", "-"), tc.number, tc.sdp)
			res := exchangeUDP(t, f.addr("udp"), m)
			if res.StatusCode != tc.want {
				t.Errorf("status = %d %s, want %d", res.StatusCode, res.Reason, tc.want)
			}
		})
	}
}

// pcmuOffer is an SDP offer of G.711 µ-law on a port nothing listens on.
const pcmuOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

func TestCallInfoKeyPressSendsOptIn(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{greeting: 5 * time.Second})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, _ := ph.Call(ctx, f.addr("udp"), customer, tfReady)
	req := sip.NewRequest(sip.INFO, d.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", contentDTMFRelay))
	req.SetBody([]byte("Signal=1\r\nDuration=160\r\n"))
	res, err := d.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("dtmf-relay INFO: %d, want 200", res.StatusCode)
	}
	if msg := f.waitMessages(1)[0]; msg.Source != "18885550100" || msg.Destination != "12015550101" {
		t.Errorf("opt-in request %s -> %s, want 18885550100 -> 12015550101", msg.Source, msg.Destination)
	}
}

func TestCallLimitAnswersBusy(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{greeting: 5 * time.Second, sip: func(c *Config) { c.MaxCalls = 1 }})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	ph.Call(ctx, f.addr("udp"), customer, tfReady)
	m := rawMessage{method: "INVITE", lines: []string{
		"%VIA%", "Max-Forwards: 70",
		"From: <sip:" + customer2 + "@127.0.0.1>;tag=c2",
		"To: <sip:" + tfReady + "@127.0.0.1>",
		"Call-ID: second-call",
		"CSeq: 1 INVITE",
		"Contact: <sip:" + customer2 + "@127.0.0.1:9>",
		"Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(pcmuOffer)),
	}, body: pcmuOffer}
	if res := exchangeUDP(t, f.addr("udp"), m); res.StatusCode != 486 {
		t.Errorf("second call: %d %s, want 486 Busy Here", res.StatusCode, res.Reason)
	}
}

func TestCallStopKeepsVoicemail(t *testing.T) {
	ph := sipcaller.NewPhone(t)
	f := newFixture(t, fixtureOptions{})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, med := ph.Call(ctx, f.addr("udp"), customer, tfReady)
	l := sipcaller.Listen(t, med)
	waitGreetingEnd(t, l)
	pb, err := med.PlaybackCreate()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = pb.Play(bytes.NewReader(tonePCM(10*time.Second, 440, 8000)), "audio/pcm") }()
	time.Sleep(time.Second)

	stopCtx, stopCancel := context.WithTimeout(ctx, 10*time.Second)
	defer stopCancel()
	if err := f.srv.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-d.Context().Done():
	case <-ctx.Done():
		t.Fatal("the call did not end when the server stopped")
	}
	vms, err := f.voicemails.List(ctx, "acme")
	if err != nil || len(vms) != 1 {
		t.Fatalf("voicemails = %v, %v; want the one being recorded", vms, err)
	}
	if vms[0].Duration < 500*time.Millisecond {
		t.Errorf("voicemail length = %v, want the second spoken before the stop", vms[0].Duration)
	}
}
