package gateway

import (
	"net/http"
	"testing"
)

func TestHTTPRefusesTollFreeRecipients(t *testing.T) {
	tests := []struct {
		name, path, body string
	}{
		{"opt-in request to the sender itself", "/v1/optin-requests",
			`{"from":"` + apiAcmeTF + `","to":"` + apiAcmeTF + `"}`},
		{"opt-in request to the account's other number", "/v1/optin-requests",
			`{"to":"` + apiAcmeNotReady + `"}`},
		{"opt-in request to another account's number", "/v1/optin-requests",
			`{"to":"` + apiGlobexTF + `"}`},
		{"opt-in request in national form", "/v1/optin-requests",
			`{"to":"(` + apiGlobexTF[2:5] + `) ` + apiGlobexTF[5:8] + `-` + apiGlobexTF[8:] + `"}`},
		{"text to the sender itself", "/v1/messages", messageBody(apiAcmeTF, apiAcmeTF, "hi")},
		{"text to another account's number", "/v1/messages", messageBody(apiAcmeTF, apiGlobexTF, "hi")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			w := f.post(tc.path, apiAcmeToken, tc.body)
			wantAPIError(t, w, http.StatusForbidden, CodeRecipientTollFree)
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs, want none", n)
			}
		})
	}
}
