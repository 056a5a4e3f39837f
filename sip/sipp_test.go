package sip

import (
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago/audio"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/sipptest"
)

// scenarioDir holds the sipp scenarios, relative to this package.
const scenarioDir = "../test/sip"

func TestSippMessageAllowed(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	sipptest.RunUDP(t, f.addr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_allowed.xml",
		Keys: map[string]string{"from": tfReady, "to": customer}})
	// sipp ends a body with the line break of the scenario's last line,
	// and optgate sends the text as written.
	if got := f.waitMessages(1)[0].Text; got != "Your cleaning is on Friday at 3pm.\r\n" {
		t.Errorf("carrier text = %q", got)
	}
}

func TestSippMessageBlocked(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	sipptest.RunUDP(t, f.addr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_blocked.xml",
		Keys: map[string]string{"from": tfReady, "to": customer2}})
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

func TestSippDigestChallengeAndRetry(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("beta", customer, consent.StateOptedIn)
	sipptest.RunUDP(t, f.addr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "message_digest.xml",
		Keys: map[string]string{"from": tfBeta, "to": customer},
		Args: []string{"-au", betaUser, "-ap", betaPassword}})
	if got := f.waitMessages(1)[0].Source; got != "18005550100" {
		t.Errorf("carrier source = %q, want beta's number", got)
	}
}

func TestSippCallLeavesVoicemail(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// The greeting goes to this socket, named in sipp's SDP offer.
	rtp := sipptest.ListenRTP(t)

	sipptest.RunUDP(t, f.addr("udp"), sipptest.Run{Dir: scenarioDir, Scenario: "call_voicemail.xml",
		Keys: map[string]string{"from": customer, "to": tfReady,
			"rtp_port": strconv.Itoa(rtp.Port())},
		Files: map[string][]byte{"voice.ulaw": uLawTone(t, 2500*time.Millisecond)},
	})
	// 200 ms of greeting and the 500 ms beep are 35 packets of 20 ms.
	if n := rtp.Packets(); n < 30 {
		t.Errorf("got %d RTP packets of greeting and beep, want at least 30", n)
	}

	var vms []Voicemail
	waitFor(t, "the voicemail", func() bool {
		var err error
		vms, err = f.voicemails.List(f.ctx, "acme")
		return err == nil && len(vms) == 1
	})
	if vms[0].From != customer || vms[0].To != tfReady {
		t.Errorf("voicemail from %s to %s, want %s to %s", vms[0].From, vms[0].To, customer, tfReady)
	}
	// The caller speaks for 2.5 s from the answer; the 200 ms greeting
	// and the 500 ms beep come first, so about 1.8 s is recorded.
	if d := vms[0].Duration; d < 1200*time.Millisecond || d > 2400*time.Millisecond {
		t.Errorf("voicemail length = %v, want about 1.8 s", d)
	}
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
