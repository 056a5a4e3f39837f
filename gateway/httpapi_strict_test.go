package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

func TestHTTPSendRefusesInvisibleOrControlText(t *testing.T) {
	tests := []struct {
		name, text, detail string
	}{
		{"spaces", `   `, "empty"},
		{"zero width space", `\u200b`, "empty"},
		{"space and format characters", ` \u200b\u2060\t\n`, "empty"},
		{"NUL", `a\u0000b`, "U+0000"},
		{"escape", `a\u001bb`, "U+001B"},
		{"lone high surrogate", `\ud800`, "surrogate"},
		{"lone low surrogate", `ok \udc00`, "surrogate"},
		{"high surrogate then text", `\ud83dx`, "surrogate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			f.setState("acme", apiSubscriber, consent.StateOptedIn)
			body := `{"from":"` + apiAcmeTF + `","to":"` + apiSubscriber + `","text":"` + tc.text + `"}`
			w := f.post("/v1/messages", apiAcmeToken, body)
			e := wantAPIError(t, w, http.StatusBadRequest, CodeInvalidMessage)
			if !strings.Contains(e.Error.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to mention %q", e.Error.Detail, tc.detail)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs, want none", n)
			}
		})
	}
}

func TestHTTPSendAcceptsTextWithLineBreaksAndPairs(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	body := `{"from":"` + apiAcmeTF + `","to":"` + apiSubscriber + `","text":"Hi\r\n\tsee you \ud83d\ude00 \\ud800"}`
	w := f.post("/v1/messages", apiAcmeToken, body)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body %s", w.Code, w.Body.String())
	}
	pdus := f.link.sent()
	if len(pdus) != 1 {
		t.Fatalf("carrier got %d PDUs, want 1", len(pdus))
	}
}

func TestHTTPDecodeIsStrictAboutKeys(t *testing.T) {
	tests := []struct {
		name, body, field, message string
	}{
		{"capitalised field", `{"From":"` + apiAcmeTF + `","to":"` + apiSubscriber + `","text":"hi"}`,
			"From", `did you mean "from"`},
		{"upper-case field", `{"from":"` + apiAcmeTF + `","TO":"` + apiSubscriber + `","text":"hi"}`,
			"TO", `did you mean "to"`},
		{"duplicate field", `{"from":"` + apiAcmeTF + `","from":"` + apiGlobexTF + `","to":"` + apiSubscriber +
			`","text":"hi"}`, "from", "more than once"},
		{"duplicate in another case", `{"text":"a","to":"` + apiSubscriber + `","from":"` + apiAcmeTF +
			`","Text":"b"}`, "Text", `did you mean "text"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			f.setState("acme", apiSubscriber, consent.StateOptedIn)
			w := f.post("/v1/messages", apiAcmeToken, tc.body)
			e := wantAPIError(t, w, http.StatusBadRequest, codeInvalidRequest)
			if e.Error.Field != tc.field {
				t.Errorf("field = %q, want %q", e.Error.Field, tc.field)
			}
			if !strings.Contains(e.Error.Message, tc.message) {
				t.Errorf("message = %q, want it to contain %q", e.Error.Message, tc.message)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs, want none", n)
			}
		})
	}
}

func TestHTTPOptInRequestRefusesDuplicateKey(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550102","to":"`+apiSubscriber+`"}`)
	e := wantAPIError(t, w, http.StatusBadRequest, codeInvalidRequest)
	if e.Error.Field != "to" {
		t.Errorf("field = %q, want to", e.Error.Field)
	}
}

func TestUnpairedSurrogate(t *testing.T) {
	tests := []struct {
		raw  string
		want int // -1 for none
	}{
		{`"plain"`, -1},
		{`"\ud83d\ude00"`, -1},
		{`"\\ud800"`, -1},
		{`"\"\ud800"`, 3},
		{`"\ud800"`, 1},
		{`"\uDC00"`, 1},
		{`"\ud800\u0041"`, 1},
		{`"\ud800\\udc00"`, 1},
		{`"x\ud800`, 2},
	}
	for _, tc := range tests {
		at, bad := unpairedSurrogate([]byte(tc.raw))
		got := -1
		if bad {
			got = at
		}
		if got != tc.want {
			t.Errorf("unpairedSurrogate(%s) = %d, want %d", tc.raw, got, tc.want)
		}
	}
}
