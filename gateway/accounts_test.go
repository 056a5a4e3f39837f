package gateway

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

// countCompares counts bcrypt comparisons for the rest of the test.
func countCompares(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	compareHook = func() { n.Add(1) }
	t.Cleanup(func() { compareHook = nil })
	return &n
}

func TestAuthenticateESME(t *testing.T) {
	now := time.Unix(1000, 0)
	reg, err := NewRegistry([]config.Account{testAccount(t)}, RegistryOptions{CacheTTL: time.Minute,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	compares := countCompares(t)

	id, err := reg.AuthenticateESME("acme01", "secret1")
	if err != nil || id != (ESMEIdentity{Account: "acme", SystemID: "acme01", MaxBinds: 2}) {
		t.Fatalf("AuthenticateESME = %+v, %v", id, err)
	}
	if _, err := reg.AuthenticateESME("acme01", "secret1"); err != nil {
		t.Fatal(err)
	}
	if n := compares.Load(); n != 1 {
		t.Errorf("bcrypt ran %d times for two binds, want 1 (the second from the cache)", n)
	}

	for _, tt := range []struct{ name, systemID, password string }{
		{"wrong password", "acme01", "secret2"},
		{"unknown system_id", "nobody", "secret1"},
		{"empty password", "acme01", ""},
	} {
		before := compares.Load()
		if _, err := reg.AuthenticateESME(tt.systemID, tt.password); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: err = %v, want ErrAuthFailed", tt.name, err)
		}
		if compares.Load() != before+1 {
			t.Errorf("%s: no bcrypt run, so the answer's timing tells the cases apart", tt.name)
		}
	}

	now = now.Add(2 * time.Minute)
	if _, err := reg.AuthenticateESME("acme01", "secret1"); err != nil {
		t.Fatal(err)
	}
	if n := compares.Load(); n != 5 {
		t.Errorf("bcrypt runs = %d, want 5: an expired cache entry is checked again", n)
	}
}

func TestAuthenticateToken(t *testing.T) {
	acct2 := testAccount(t)
	acct2.ID = "beta"
	acct2.TollFree = []config.TollFreeNumber{{Number: "+18775550100"}}
	acct2.ESMEs = nil
	acct2.APITokens = []config.APIToken{{Name: "ci", Hash: testHash(t, "tok-beta")}}
	reg, err := NewRegistry([]config.Account{testAccount(t), acct2}, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compares := countCompares(t)
	id, err := reg.AuthenticateToken("tok-beta")
	if err != nil || id != (TokenIdentity{Account: "beta", Name: "ci"}) {
		t.Fatalf("AuthenticateToken = %+v, %v", id, err)
	}
	if _, err := reg.AuthenticateToken("tok-beta"); err != nil {
		t.Fatal(err)
	}
	if n := compares.Load(); n != 2 {
		t.Errorf("bcrypt runs = %d, want 2 (one per configured token, then the cache)", n)
	}
	for range 3 {
		if _, err := reg.AuthenticateToken("guess"); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if n := compares.Load(); n != 4 {
		t.Errorf("bcrypt runs = %d, want 4: a rejected token is remembered", n)
	}
	if _, err := reg.AuthenticateToken(""); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("empty token: %v", err)
	}
}

func TestRegistryConsentAccounts(t *testing.T) {
	a := testAccount(t)
	a.Website = "https://acme.example"
	a.Details = "Appointment reminders"
	a.QuietHours = true
	a.Templates = config.Templates{
		Help:               "{business_name}: call {contact_number} or reply STOP to opt out.",
		OptOutConfirmation: "{business_name}: you will get no more texts. Visit https://acme.example to shop.",
		OptInRequest:       "{business_name} at {number}: reply YES or STOP.",
	}
	reg, err := NewRegistry([]config.Account{a}, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, ok := reg.AccountByTollFree(tfReady)
	if !ok || ca.ID != "acme" || !ca.QuietHours {
		t.Fatalf("account by toll-free = %+v, %v", ca, ok)
	}
	ready, _ := ca.Sender(tfReady)
	notReady, _ := ca.Sender(tfNotReady)
	if !ready.Ready() || notReady.Ready() {
		t.Errorf("readiness: %s %v, %s %v", tfReady, ready.Ready(), tfNotReady, notReady.Ready())
	}
	if ca.Template.Website != "https://acme.example" || ca.Template.Details != "Appointment reminders" {
		t.Errorf("template = %+v", ca.Template)
	}
	help, err := consent.RenderReply(consent.ReplyHelp, ca.Replies, ca.BusinessName, tfReady)
	if err != nil || help.Text != "Acme Dental: call (888) 555-0100 or reply STOP to opt out." {
		t.Errorf("help reply = %q, %v", help.Text, err)
	}
	if ca.Replies.OptOut != "" {
		t.Errorf("an opt-out confirmation with a link was kept: %q", ca.Replies.OptOut)
	}
	warnings := strings.Join(reg.Warnings(), "\n")
	for _, want := range []string{"opt_out_confirmation", "opt_in_request"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %s:\n%s", want, warnings)
		}
	}
	settings, ok := reg.Settings("acme")
	if !ok || settings.ReceiptPolicy != ReceiptWorst || settings.Delivery.Type != config.DeliverySMPP {
		t.Errorf("settings = %+v", settings)
	}
}

func TestNewRegistryErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(a, b *config.Account)
		want   string
	}{
		{"shared system_id", func(a, b *config.Account) { b.ESMEs = a.ESMEs }, "system_id"},
		{"shared toll-free", func(a, b *config.Account) { b.TollFree = a.TollFree[:1] }, "+18885550100"},
		{"bad hash", func(a, b *config.Account) { b.APITokens = []config.APIToken{{Name: "x", Hash: "plain"}} }, "hash"},
		{"bad policy", func(a, b *config.Account) { b.ReceiptPolicy = "best" }, "receipt policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := testAccount(t), testAccount(t)
			b.ID = "beta"
			b.TollFree = []config.TollFreeNumber{{Number: "+18775550100"}}
			b.ESMEs = nil
			b.APITokens = nil
			tt.change(&a, &b)
			_, err := NewRegistry([]config.Account{a, b}, RegistryOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
