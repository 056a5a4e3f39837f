package sipd

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago/audio"

	"github.com/optgate/optgate/internal/sipptest"
)

// scenarioDir holds the sipp scenarios, relative to this package.
const scenarioDir = "../sip"

func TestSippMessageAllowed(t *testing.T) {
	f := newFixture(t)
	f.optIn("acme", customer)
	sipptest.RunUDP(t, f.sipAddr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_allowed.xml",
		Keys: map[string]string{"from": tfAcme, "to": customer}})
	msg := f.waitMessages(1)[0]
	if msg.Source != "18885550100" || msg.Destination != "12015550101" {
		t.Errorf("carrier got %s -> %s, want 18885550100 -> 12015550101", msg.Source, msg.Destination)
	}
	// sipp ends a body with the line break of the scenario's last line,
	// and optgate sends the text as written.
	if msg.FullText != "Your cleaning is on Friday at 3pm.\r\n" {
		t.Errorf("carrier text = %q", msg.FullText)
	}
}

func TestSippMessageBlocked(t *testing.T) {
	f := newFixture(t)
	sipptest.RunUDP(t, f.sipAddr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_blocked.xml",
		Keys: map[string]string{"from": tfAcme, "to": customer2}})
	// A blocked text must not reach the carrier. The wait gives a wrong
	// submit the time to arrive.
	time.Sleep(200 * time.Millisecond)
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

func TestSippDigestChallengeAndRetry(t *testing.T) {
	f := newFixture(t)
	f.optIn("beta", customer)
	sipptest.RunUDP(t, f.sipAddr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_digest.xml",
		Keys: map[string]string{"from": tfBeta, "to": customer},
		Args: []string{"-au", betaUser, "-ap", betaPassword}})
	if got := f.waitMessages(1)[0].Source; got != "18005550100" {
		t.Errorf("carrier source = %q, want beta's number 18005550100", got)
	}
}

func TestSippCallLeavesVoicemailListedByAPI(t *testing.T) {
	f := newFixture(t)
	// The greeting goes to this socket, named in sipp's SDP offer.
	rtp := sipptest.ListenRTP(t)

	sipptest.RunUDP(t, f.sipAddr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "call_voicemail.xml",
		Keys: map[string]string{"from": customer, "to": tfAcme,
			"rtp_port": strconv.Itoa(rtp.Port())},
		Files: map[string][]byte{"voice.ulaw": uLawTone(t, 2500*time.Millisecond)},
	})
	// 300 ms of greeting and the 500 ms beep are 40 packets of 20 ms.
	if n := rtp.Packets(); n < 35 {
		t.Errorf("got %d RTP packets of greeting and beep, want at least 35", n)
	}

	var list voicemailList
	waitFor(t, "the voicemail in GET /v1/voicemails", func() bool {
		list = f.voicemails(acmeToken)
		return len(list.Voicemails) == 1
	})
	vm := list.Voicemails[0]
	if vm.From != customer || vm.To != tfAcme || vm.Account != "acme" {
		t.Errorf("voicemail = %+v, want from %s to %s of acme", vm, customer, tfAcme)
	}
	// The caller speaks for 2.5 s from the 200 OK, and the greeting and
	// beep take the first 0.8 s.
	if vm.DurationSeconds < 1.2 || vm.DurationSeconds > 2.4 {
		t.Errorf("voicemail length = %v s, want about 1.7 s", vm.DurationSeconds)
	}
	res := f.api("GET", vm.URL, acmeToken, "", nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "audio/wav" ||
		int64(len(res.body)) != vm.Size || string(res.body[:4]) != "RIFF" {
		t.Errorf("download %s: %d %s, %d bytes; want a %d-byte WAV file", vm.URL, res.status,
			res.header.Get("Content-Type"), len(res.body), vm.Size)
	}

	// The operator lists every account's voicemails, and an unknown token
	// deletes nothing.
	if all := f.voicemails(operatorToken); len(all.Voicemails) != 1 || all.Voicemails[0].ID != vm.ID {
		t.Errorf("operator's list = %+v, want voicemail %s", all.Voicemails, vm.ID)
	}
	if res := f.api("DELETE", vm.URL, "beta-token-unknown", "", nil); res.status != http.StatusUnauthorized {
		t.Errorf("DELETE with an unknown token: %d, want 401", res.status)
	}
	if res := f.api("DELETE", vm.URL, acmeToken, "", nil); res.status != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d %s, want 204", vm.URL, res.status, res.body)
	}
	if n := len(f.voicemails(acmeToken).Voicemails); n != 0 {
		t.Errorf("%d voicemails listed after the delete, want 0", n)
	}
	if res := f.api("GET", vm.URL, acmeToken, "", nil); res.status != http.StatusNotFound {
		t.Errorf("download after the delete: %d, want 404", res.status)
	}
}

// voicemailList is the body of GET /v1/voicemails.
type voicemailList struct {
	Voicemails []struct {
		ID              string  `json:"id"`
		Account         string  `json:"account"`
		From            string  `json:"from"`
		To              string  `json:"to"`
		CallID          string  `json:"call_id"`
		DurationSeconds float64 `json:"duration_seconds"`
		Size            int64   `json:"size"`
		URL             string  `json:"url"`
	} `json:"voicemails"`
}

// voicemails returns GET /v1/voicemails for a token.
func (f *fixture) voicemails(token string) voicemailList {
	f.t.Helper()
	res := f.api("GET", "/v1/voicemails", token, "", nil)
	var list voicemailList
	if res.status != http.StatusOK {
		f.t.Fatalf("GET /v1/voicemails: %d %s", res.status, res.body)
	}
	if err := json.Unmarshal(res.body, &list); err != nil {
		f.t.Fatalf("GET /v1/voicemails: %v in %s", err, res.body)
	}
	return list
}

// uLawTone returns raw G.711 µ-law audio of a 440 Hz tone, the format
// sipp's rtp_stream plays.
func uLawTone(t testing.TB, length time.Duration) []byte {
	t.Helper()
	pcm := tonePCM(length, 440, 8000)
	ulaw := make([]byte, len(pcm)/2)
	if _, err := audio.EncodeUlawTo(ulaw, pcm); err != nil {
		t.Fatal(err)
	}
	return ulaw
}
