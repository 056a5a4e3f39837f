package consent_test

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

func TestNewAccountSetRejectsBadAccounts(t *testing.T) {
	good := func() consent.Account {
		return consent.Account{ID: "acme", BusinessName: "Acme Dental",
			TollFree: []consent.TollFreeNumber{{Number: tfAcme, Greeting: true, Voicemail: true}}}
	}
	tests := []struct {
		name   string
		mutate func(a *consent.Account)
		want   string
	}{
		{"missing id", func(a *consent.Account) { a.ID = "" }, "missing id"},
		{"NUL in id", func(a *consent.Account) { a.ID = "a\x00b" }, "NUL"},
		{"missing business name", func(a *consent.Account) { a.BusinessName = " " }, "missing business name"},
		{"no numbers", func(a *consent.Account) { a.TollFree = nil }, "no toll-free numbers"},
		{"not toll-free", func(a *consent.Account) { a.TollFree[0].Number = "+12015550101" }, "not a US/CA toll-free number"},
		{"national format", func(a *consent.Account) { a.TollFree[0].Number = "8885550100" }, "E.164"},
		{"listed twice", func(a *consent.Account) { a.TollFree = append(a.TollFree, a.TollFree[0]) }, "listed twice"},
		{"bad reply", func(a *consent.Account) { a.Replies.OptOut = "Bye" }, "replies"},
		{"bad template", func(a *consent.Account) { a.Template.Website = "a b" }, "template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := good()
			tc.mutate(&a)
			_, err := consent.NewAccountSet(a)
			if err == nil {
				t.Fatal("NewAccountSet accepted the account")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	if _, err := consent.NewAccountSet(good(), good()); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("duplicate id: %v", err)
	}
	other := good()
	other.ID = "other"
	if _, err := consent.NewAccountSet(good(), other); err == nil || !strings.Contains(err.Error(), "belongs to accounts") {
		t.Errorf("shared toll-free number: %v", err)
	}
}

func TestAccountSetLookups(t *testing.T) {
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := set.Account(acme); !ok || a.BusinessName != "Acme Dental" {
		t.Errorf("Account(%q) = %v, %v", acme, a, ok)
	}
	if a, ok := set.AccountByTollFree(tfAcme2); !ok || a.ID != acme {
		t.Errorf("AccountByTollFree(%s) = %v, %v", tfAcme2, a, ok)
	}
	if _, ok := set.AccountByTollFree(subscriber); ok {
		t.Errorf("AccountByTollFree found an account for a subscriber number")
	}
	if ids := set.IDs(); len(ids) != len(testAccounts()) || ids[0] != acme {
		t.Errorf("IDs() = %v", ids)
	}
	a, _ := set.Account(acme)
	if tf, ok := a.DefaultSender(); !ok || tf.Number != tfAcme {
		t.Errorf("DefaultSender = %v, %v; want %s", tf, ok, tfAcme)
	}
	if tmpl := a.RequestTemplate(); tmpl.BusinessName != "Acme Dental" {
		t.Errorf("request template business name = %q", tmpl.BusinessName)
	}
}
