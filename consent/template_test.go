package consent

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp"
)

func TestRenderRequestDefaults(t *testing.T) {
	r, err := RenderRequest(Template{BusinessName: "Acme Dental"}, "+18885550100")
	if err != nil {
		t.Fatal(err)
	}
	want := "Acme Dental wants to send you texts from (888) 555-0100. " +
		"Reply YES to agree. Reply STOP to opt out. " +
		"Your carrier's message and data rates may apply."
	if r.Text != want {
		t.Errorf("Text = %q, want %q", r.Text, want)
	}
	if r.Coding != smpp.CodingDefault {
		t.Errorf("Coding = %v, want the GSM default alphabet", r.Coding)
	}
	if r.Segments != 1 {
		t.Errorf("Segments = %d, want 1 for %d characters", r.Segments, len(r.Text))
	}
}

func TestRenderRequestOneSegmentLimit(t *testing.T) {
	for _, tc := range []struct {
		nameLen, segments int
	}{{23, 1}, {24, 2}} {
		r, err := RenderRequest(Template{BusinessName: strings.Repeat("a", tc.nameLen)}, "+18885550100")
		if err != nil {
			t.Fatal(err)
		}
		if r.Segments != tc.segments {
			t.Errorf("business name of %d characters: Segments = %d, want %d", tc.nameLen, r.Segments, tc.segments)
		}
	}
}

func TestRenderRequestAllFields(t *testing.T) {
	tmpl := Template{
		BusinessName:  "  Acme Dental ",
		Website:       "acme.example",
		Details:       "Appointment reminders, about 2 texts a month",
		RatesNotice:   "Msg and data rates may apply",
		OptInWording:  "Text YES to join!",
		OptOutWording: "Text STOP to quit anytime.",
	}
	r, err := RenderRequest(tmpl, "+18005550100")
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{
		"Acme Dental wants to send you texts from",
		"(800) 555-0100",
		"Appointment reminders, about 2 texts a month.",
		"Text YES to join!",
		"Text STOP to quit anytime.",
		"Msg and data rates may apply.",
		"More at acme.example",
	}
	last := -1
	for _, p := range parts {
		i := strings.Index(r.Text, p)
		if i < 0 {
			t.Errorf("Text %q lacks %q", r.Text, p)
			continue
		}
		if i < last {
			t.Errorf("Text %q has %q out of order", r.Text, p)
		}
		last = i
	}
	if !strings.HasSuffix(r.Text, "acme.example") {
		t.Errorf("Text %q does not end with the website", r.Text)
	}
	if strings.Contains(r.Text, DefaultRatesNotice) || strings.Contains(r.Text, DefaultOptInWording) {
		t.Errorf("Text %q contains a default wording the template replaced", r.Text)
	}
	if r.Segments != 2 {
		t.Errorf("Segments = %d, want 2 for %d GSM characters", r.Segments, len(r.Text))
	}
}

func TestRenderRequestUCS2(t *testing.T) {
	r, err := RenderRequest(Template{BusinessName: "Café Żabka"}, "+18885550100")
	if err != nil {
		t.Fatal(err)
	}
	if r.Coding != smpp.CodingUCS2 {
		t.Errorf("Coding = %v, want UCS2 for a business name with Ż", r.Coding)
	}
	if want, _ := smpp.CountSegments(r.Text); r.Segments != want {
		t.Errorf("Segments = %d, want %d", r.Segments, want)
	}
	if r.Segments < 2 {
		t.Errorf("Segments = %d for %d UCS2 characters, want at least 2", r.Segments, len([]rune(r.Text)))
	}
}

func TestRenderRequestErrors(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     Template
		tollFree string
		want     string
	}{
		{"missing business", Template{}, "+18885550100", "missing business_name"},
		{"blank business", Template{BusinessName: " \t"}, "+18885550100", "missing business_name"},
		{"geographic sender", Template{BusinessName: "Acme"}, "+12015550101", `sender "+12015550101" is not a US/CA toll-free number`},
		{"national sender", Template{BusinessName: "Acme"}, "8885550100", "not a US/CA toll-free number"},
		{"opt-in wording without YES", Template{BusinessName: "Acme", OptInWording: "Reply Y to join"},
			"+18885550100", `opt_in_wording "Reply Y to join" does not contain the word YES`},
		{"opt-out wording without STOP", Template{BusinessName: "Acme", OptOutWording: "Reply STOPALL"},
			"+18885550100", "opt_out_wording"},
		{"line break", Template{BusinessName: "Acme\nDental"}, "+18885550100", "business_name contains the control character"},
		{"website with space", Template{BusinessName: "Acme", Website: "acme example"}, "+18885550100", "website"},
		{"long details", Template{BusinessName: "Acme", Details: strings.Repeat("x", 301)}, "+18885550100",
			"details is 301 characters long, over the maximum of 300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderRequest(tc.tmpl, tc.tollFree)
			if err == nil {
				t.Fatal("RenderRequest succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestTemplateValidateNamesEveryField(t *testing.T) {
	err := Template{Website: "a b", OptInWording: "join?"}.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want an error")
	}
	for _, field := range []string{"business_name", "website", "opt_in_wording"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestTemplateValidateAcceptsMinimal(t *testing.T) {
	if err := (Template{BusinessName: "Acme"}).Validate(); err != nil {
		t.Errorf("Validate of a template with only a business name: %v", err)
	}
}
