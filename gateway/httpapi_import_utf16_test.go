package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// TestHTTPImportUTF16IsBadRequest pins a fuzz finding: a UTF-16 import
// file got 500 internal_error. The client's file is at fault, so the
// response is 400 with the fix in the message.
func TestHTTPImportUTF16IsBadRequest(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	body := wantAPIError(t, f.do(importRequest("/v1/consent/import?account=acme", apiOperatorToken, "\xff\xfe+\x001\x00")),
		http.StatusBadRequest, codeInvalidRequest)
	if !strings.Contains(body.Error.Message, "UTF-8") {
		t.Errorf("message %q, want it to ask for UTF-8", body.Error.Message)
	}
}
