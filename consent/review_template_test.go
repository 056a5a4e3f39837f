package consent

import (
	"strings"
	"testing"
)

// TestTemplateRatesNoticeRequired checks that a custom rates notice still
// states that message and data rates may apply, because every opt-in
// request must.
func TestTemplateRatesNoticeRequired(t *testing.T) {
	for _, notice := range []string{"Have a nice day!", "Thanks for joining", "Msg freq varies"} {
		tmpl := Template{BusinessName: "Acme Dental", RatesNotice: notice}
		err := tmpl.Validate()
		if err == nil || !strings.Contains(err.Error(), "rates_notice") {
			t.Errorf("Validate with rates notice %q: %v, want a rates_notice error", notice, err)
		}
	}
	for _, notice := range []string{"Msg & data rates may apply.", "Message and data RATES may apply", "Std. msg rate applies"} {
		tmpl := Template{BusinessName: "Acme Dental", RatesNotice: notice}
		if err := tmpl.Validate(); err != nil {
			t.Errorf("Validate with rates notice %q: %v", notice, err)
		}
		r, err := RenderRequest(tmpl, "+18885550100")
		if err != nil || !strings.Contains(r.Text, strings.TrimSpace(notice)) {
			t.Errorf("RenderRequest with rates notice %q = %q, %v", notice, r.Text, err)
		}
	}
}
