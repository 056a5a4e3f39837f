package gateway

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

func TestStatusTableCoversEveryCode(t *testing.T) {
	if len(Codes) != len(statusTable) {
		t.Errorf("Codes lists %d codes, the table has %d rows", len(Codes), len(statusTable))
	}
	for _, r := range consent.Reasons {
		if _, ok := statusTable[CodeForReason(r)]; !ok {
			t.Errorf("consent reason %s has no status row", r)
		}
	}
	seen := map[smpp.CommandStatus]Code{}
	for _, c := range Codes {
		s, ok := statusTable[c]
		if !ok {
			t.Errorf("code %s has no row", c)
			continue
		}
		if s.SMPP >= 0x400 && s.SMPP <= 0x4FF {
			if other, dup := seen[s.SMPP]; dup {
				t.Errorf("codes %s and %s share command_status %#x", c, other, uint32(s.SMPP))
			}
			seen[s.SMPP] = c
			if temporary := s.SMPP >= 0x480; temporary != s.Temporary {
				t.Errorf("code %s: command_status %#x is in the wrong half of the vendor range", c, uint32(s.SMPP))
			}
		}
		if s.Temporary != (s.RetryAfter > 0) {
			t.Errorf("code %s: temporary %v but Retry-After %v", c, s.Temporary, s.RetryAfter)
		}
		if s.Message == "" || strings.ContainsAny(s.Message, `"\`) {
			t.Errorf("code %s: message %q is empty or needs quoting in a SIP Warning", c, s.Message)
		}
	}
}

func TestStatusOf(t *testing.T) {
	carrier := &Error{Code: CodeCarrierRejected, CarrierStatus: smpp.StatusInvalidDestAddr}
	tests := []struct {
		name string
		err  error
		code Code
		smpp smpp.CommandStatus
	}{
		{"block", &Error{Code: CodeOptedOut}, CodeOptedOut, 0x0401},
		{"wrapped block", fmt.Errorf("submit: %w", &Error{Code: CodeNoConsent}), CodeNoConsent, 0x0400},
		{"carrier status relayed", carrier, CodeCarrierRejected, smpp.StatusInvalidDestAddr},
		{"carrier status missing", &Error{Code: CodeCarrierRejected}, CodeCarrierRejected, smpp.StatusSubmitFailed},
		{"plain error", errors.New("boom"), CodeInternal, 0x040E},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := StatusOf(tt.err)
			if s.Code != tt.code || s.SMPP != tt.smpp {
				t.Errorf("StatusOf = %s %#x, want %s %#x", s.Code, uint32(s.SMPP), tt.code, uint32(tt.smpp))
			}
		})
	}
}

func TestStatusHeaders(t *testing.T) {
	s := StatusFor(CodeQuietHours)
	if got := s.RetryAfterSeconds(); got != "1800" {
		t.Errorf("Retry-After = %q, want 1800", got)
	}
	if got := StatusFor(CodeOptedOut).RetryAfterSeconds(); got != "" {
		t.Errorf("permanent Retry-After = %q, want none", got)
	}
	want := `399 optgate "opted_out: the recipient opted out with STOP"`
	if got := StatusFor(CodeOptedOut).SIPWarning(); got != want {
		t.Errorf("Warning = %s, want %s", got, want)
	}
}

// TestStatusTableMatchesDocs checks docs/api.md against the table, so the
// documentation cannot drift from the code.
func TestStatusTableMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[Code]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 8 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		cell := func(i int) string { return strings.TrimSpace(cells[i]) }
		code := Code(strings.Trim(cell(1), "`"))
		s, ok := statusTable[code]
		if !ok {
			t.Errorf("docs list unknown code %s", code)
			continue
		}
		documented[code] = true
		if cell(2) != "carrier's status" {
			v, err := strconv.ParseUint(strings.TrimPrefix(cell(2), "0x"), 16, 32)
			if err != nil || smpp.CommandStatus(v) != s.SMPP {
				t.Errorf("%s: docs say command_status %s, table %#x", code, cell(2), uint32(s.SMPP))
			}
		}
		if cell(3) != strconv.Itoa(s.HTTP) {
			t.Errorf("%s: docs say HTTP %s, table %d", code, cell(3), s.HTTP)
		}
		if sip := fmt.Sprintf("%d %s", s.SIP, s.SIPReason); cell(4) != sip {
			t.Errorf("%s: docs say SIP %q, table %q", code, cell(4), sip)
		}
		temporary := "no"
		if s.Temporary {
			temporary = "yes, after " + s.RetryAfterSeconds() + " s"
		}
		if cell(5) != temporary {
			t.Errorf("%s: docs say temporary %q, table %q", code, cell(5), temporary)
		}
	}
	for _, c := range Codes {
		if !documented[c] {
			t.Errorf("code %s is missing from docs/api.md", c)
		}
	}
}
