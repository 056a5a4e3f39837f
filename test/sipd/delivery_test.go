package sipd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	optsip "github.com/optgate/optgate/sip"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

func TestMOReachesPBXAsMessage(t *testing.T) {
	f := newFixture(t)
	status, err := f.sim.Inject(f.ctx, smscsim.MO{From: customer, To: tfAcme, Text: "Is Friday still ok?"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("inject MO: status %v, %v", status, err)
	}
	req := f.pbx.next(t)
	if got := string(req.Body()); got != "Is Friday still ok?" {
		t.Errorf("MESSAGE body = %q, want the MO text", got)
	}
	if got := header(req, "Optgate-Kind"); got != "mo" {
		t.Errorf("Optgate-Kind = %q, want mo", got)
	}
	if from, to := req.From().Address.User, req.To().Address.User; from != customer || to != tfAcme {
		t.Errorf("MESSAGE from %s to %s, want from %s to %s", from, to, customer, tfAcme)
	}
	if got := header(req, "Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
}

func header(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// TestNotReadyNumberRejectedEverywhere checks that a toll-free number
// without voicemail cannot text over SMPP, HTTP or SIP, each time with
// the reason sender_not_ready, and that the configuration check warns.
func TestNotReadyNumberRejectedEverywhere(t *testing.T) {
	f := newFixture(t)
	f.optIn("acme", customer)

	t.Run("config warning", func(t *testing.T) {
		var found bool
		for _, w := range f.cfg.Warnings() {
			found = found || strings.Contains(w.Error(), tfNotReady+" is not ready")
		}
		if !found {
			t.Errorf("configuration warnings %v do not name %s as not ready", f.cfg.Warnings(), tfNotReady)
		}
	})
	t.Run("http", func(t *testing.T) {
		res := f.api("POST", "/v1/messages", acmeToken, "application/json",
			[]byte(`{"from":"`+tfNotReady+`","to":"`+customer+`","text":"hi"}`))
		if res.status != http.StatusForbidden || res.errorCode() != "sender_not_ready" {
			t.Errorf("POST /v1/messages: %d %s, want 403 sender_not_ready", res.status, res.body)
		}
	})
	t.Run("smpp", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
		defer cancel()
		c, err := smpp.Dial(ctx, smpp.ClientConfig{Addr: f.d.SMPPAddr().String(), BindType: smpp.BindTypeTransmitter,
			SystemID: acmeSystemID, Password: acmePassword})
		if err != nil {
			t.Fatalf("bind: %v", err)
		}
		defer func() { _ = c.Close(context.Background()) }()
		sm, err := daemontest.NewSubmit(tfNotReady, customer, "hi")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Submit(ctx, sm)
		var st *smpp.StatusError
		if !errors.As(err, &st) || st.Status != 0x0406 {
			t.Errorf("submit_sm: %v, want command_status 0x00000406 (sender_not_ready)", err)
		}
	})
	t.Run("sip", func(t *testing.T) {
		res := sendMessage(t, f, tfNotReady, customer, "hi")
		if res.StatusCode != 403 || !strings.Contains(res.GetHeader("Warning").Value(), "sender_not_ready") {
			t.Errorf("MESSAGE: %d %v, want 403 with a sender_not_ready Warning", res.StatusCode, res.GetHeader("Warning"))
		}
	})
	time.Sleep(100 * time.Millisecond)
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

// sendMessage sends a MESSAGE over UDP from a trunk address of acme and
// returns the final response.
func sendMessage(t *testing.T, f *fixture, from, to, text string) *sip.Response {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-pbx"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := sip.ParseAddr(f.sipAddr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: to, Host: host, Port: port})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1"},
		Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody([]byte(text))
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatalf("MESSAGE: %v", err)
	}
	return res
}

func TestSIPPortTakenFailsStart(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	greeting := filepath.Join(dir, "greeting.wav")
	writeWAV(t, greeting, tonePCM(300*time.Millisecond, 440, 8000))
	text := fmt.Sprintf(daemonYAML, daemontest.FreePort(t, "tcp"), dir, greeting, "sip:pbx@127.0.0.1:9",
		daemontest.Hash(t, acmeToken), daemontest.Hash(t, acmePassword), ha1(betaUser, "optgate", betaPassword))
	cfg, err := config.Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners.SIP.UDPAddr = taken.LocalAddr().String()
	d, err := gateway.NewDaemon(cfg, nil, gateway.DaemonOptions{SIP: optsip.NewFrontEnd})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err = d.Start(ctx)
	if err == nil {
		_ = d.Stop(ctx)
		t.Fatal("Start succeeded with the SIP UDP port taken")
	}
	if !strings.Contains(err.Error(), "sip") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Start error = %v, want the SIP listener's address in use", err)
	}
	// Start stopped what it had started, so a second Stop has nothing
	// left to do.
	if err := d.Stop(ctx); err != nil {
		t.Errorf("Stop after the failed start: %v", err)
	}
}
