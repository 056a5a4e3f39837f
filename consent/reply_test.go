package consent

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp"
)

func TestRenderReplyDefaults(t *testing.T) {
	tests := []struct {
		kind  Reply
		parts []string
	}{
		{ReplyOptOut, []string{"Acme Dental", "unsubscribed", "no more messages", "UNSTOP"}},
		{ReplyHelp, []string{"Acme Dental", "(888) 555-0100", "STOP to opt out"}},
		{ReplyOptIn, []string{"Acme Dental", "subscribed", "STOP to opt out", "HELP"}},
		{ReplyResume, []string{"Acme Dental", "subscribed again", "STOP to opt out"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			r, err := RenderReply(tc.kind, ReplyTexts{}, "Acme Dental", "+18885550100")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.parts {
				if !strings.Contains(r.Text, p) {
					t.Errorf("reply %q lacks %q", r.Text, p)
				}
			}
			if strings.Contains(r.Text, "{") {
				t.Errorf("reply %q has an unfilled placeholder", r.Text)
			}
			if r.Segments != 1 {
				t.Errorf("reply %q needs %d segments, want 1", r.Text, r.Segments)
			}
			if r.Coding != smpp.CodingDefault {
				t.Errorf("reply %q has coding %v, want the GSM default alphabet", r.Text, r.Coding)
			}
		})
	}
}

func TestRenderReplyOptOutHasNoMarketing(t *testing.T) {
	r, err := RenderReply(ReplyOptOut, ReplyTexts{}, "Acme Dental", "+18885550100")
	if err != nil {
		t.Fatal(err)
	}
	if containsLink(r.Text) {
		t.Errorf("opt-out confirmation %q contains a link", r.Text)
	}
	if strings.Contains(r.Text, "(888)") {
		t.Errorf("opt-out confirmation %q carries the contact number", r.Text)
	}
}

func TestRenderReplyCustom(t *testing.T) {
	texts := ReplyTexts{
		OptOut: "{business}: unsubscribed. Text UNSTOP to undo.",
		Help:   "{business} help line {number}. Text STOP to end.",
		OptIn:  "Welcome to {business} alerts! Text STOP to end.",
		Resume: "{business}: welcome back. Text STOP to end.",
	}
	if err := texts.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tests := map[Reply]string{
		ReplyOptOut: "Acme: unsubscribed. Text UNSTOP to undo.",
		ReplyHelp:   "Acme help line (888) 555-0100. Text STOP to end.",
		ReplyOptIn:  "Welcome to Acme alerts! Text STOP to end.",
		ReplyResume: "Acme: welcome back. Text STOP to end.",
	}
	for kind, want := range tests {
		r, err := RenderReply(kind, texts, "Acme", "+18885550100")
		if err != nil {
			t.Errorf("RenderReply(%s): %v", kind, err)
			continue
		}
		if r.Text != want {
			t.Errorf("RenderReply(%s) = %q, want %q", kind, r.Text, want)
		}
	}
}

func TestRenderReplyBusinessWithPlaceholder(t *testing.T) {
	r, err := RenderReply(ReplyHelp, ReplyTexts{}, "Shop {number}", "+18885550100")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Text, "Shop {number}: ") {
		t.Errorf("reply %q expanded a placeholder inside the business name", r.Text)
	}
}

func TestReplyTextsValidateErrors(t *testing.T) {
	tests := []struct {
		name  string
		texts ReplyTexts
		want  string
	}{
		{"opt-out without business", ReplyTexts{OptOut: "Unsubscribed. Reply UNSTOP to undo."},
			"opt_out reply \"Unsubscribed. Reply UNSTOP to undo.\" lacks the {business} placeholder"},
		{"opt-out without UNSTOP", ReplyTexts{OptOut: "{business}: unsubscribed."},
			"does not contain the word UNSTOP"},
		{"opt-out with link", ReplyTexts{OptOut: "{business}: bye. UNSTOP to undo. Deals at www.acme.example"},
			"contains a link"},
		{"opt-out too long", ReplyTexts{OptOut: "{business} UNSTOP " + strings.Repeat("x", 150)},
			"opt_out reply is 168 characters long, over the maximum of 160"},
		{"help without number", ReplyTexts{Help: "{business}: reply STOP to opt out."},
			"lacks the {number} placeholder"},
		{"help without STOP", ReplyTexts{Help: "{business}: call {number}."},
			"help reply \"{business}: call {number}.\" does not contain the word STOP"},
		{"opt-in without STOP", ReplyTexts{OptIn: "{business}: welcome!"}, "opt_in reply"},
		{"resume without business", ReplyTexts{Resume: "Welcome back. STOP to end."}, "resume reply"},
		{"unknown placeholder", ReplyTexts{Resume: "{business} {name}: back. STOP to end."},
			"unknown placeholder {name}"},
		{"unclosed placeholder", ReplyTexts{Resume: "{business}: back. STOP to end {"},
			"unknown placeholder {"},
		{"control character", ReplyTexts{OptIn: "{business}\r\nSTOP to end"}, "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.texts.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestReplyTextsValidateDefaults(t *testing.T) {
	if err := (ReplyTexts{}).Validate(); err != nil {
		t.Errorf("default replies are invalid: %v", err)
	}
}

func TestRenderReplyErrors(t *testing.T) {
	tests := []struct {
		name     string
		kind     Reply
		texts    ReplyTexts
		business string
		contact  string
		want     string
	}{
		{"no reply", ReplyNone, ReplyTexts{}, "Acme", "+18885550100", "no text for reply kind none"},
		{"unknown kind", Reply(42), ReplyTexts{}, "Acme", "+18885550100", "no text for reply kind reply(42)"},
		{"blank business", ReplyHelp, ReplyTexts{}, "  ", "+18885550100", "missing business name"},
		{"business with line break", ReplyHelp, ReplyTexts{}, "Ac\nme", "+18885550100", "control character"},
		{"business with tab", ReplyHelp, ReplyTexts{}, "Ac\tme", "+18885550100", "control character"},
		{"national contact", ReplyHelp, ReplyTexts{}, "Acme", "8885550100", `contact number "8885550100" is not in E.164 form`},
		{"invalid custom text", ReplyOptOut, ReplyTexts{OptOut: "bye"}, "Acme", "+18885550100", "lacks the {business} placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RenderReply(tc.kind, tc.texts, tc.business, tc.contact)
			if err == nil {
				t.Fatal("RenderReply succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
