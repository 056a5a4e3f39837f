package security

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/testcert"
	"github.com/optgate/optgate/sip"
	"github.com/optgate/optgate/smpp"
)

// Accounts, credentials and numbers of the security tests.
const (
	acmeTollFree   = "+18885550100"
	globexTollFree = "+18885550111"
	subscriber     = "+12015550101"

	acmeSystemID   = "acme01"
	acmePassword   = "acmeS3c1"
	acmeToken      = "acme-token-7f3a9c"
	globexSystemID = "globex01"
	globexPassword = "glbxS3c2"
	globexToken    = "globex-token-b81e2d"
	operatorToken  = "operator-token-5d0c44"
)

// failedDelay and maxFailedDelay are the daemon's waits after failed
// binds from one address, and failedAuthDelay and maxFailedAuthDelay after
// failed API authentications. A SIP source address may fail digest
// authentication digestFailuresAllowed times; each further failure locks
// it out for digestLockout, doubled up to maxDigestLockout. The tests set
// them through the configuration keys.
const (
	failedDelay           = 30 * time.Millisecond
	maxFailedDelay        = 120 * time.Millisecond
	failedAuthDelay       = 40 * time.Millisecond
	maxFailedAuthDelay    = 160 * time.Millisecond
	digestFailuresAllowed = 3
	digestLockout         = 1500 * time.Millisecond
	maxDigestLockout      = 3 * time.Second
)

// rigYAML is the configuration of the security tests. The placeholders
// are the simulator's port, the data directory, the four secret hashes,
// the TLS and pprof settings of the listeners, the SIP listener, the SIP
// trunks of acme and globex, the waits after failed authentications, and
// the operator section.
const rigYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"%[7]s, failed_bind_delay: %[12]s, max_failed_bind_delay: %[13]s}
  http: {addr: "127.0.0.1:0", pprof: %[8]v%[7]s, failed_auth_delay: %[14]s, max_failed_auth_delay: %[15]s}
  sip: %[9]s
  simulator: {enabled: true, addr: "127.0.0.1:%[1]d", receipt_delay: 0s}
store:
  embedded: {path: "%[2]s/consent.db"}
logging: {level: debug, mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: %[3]q, max_binds: 2}
    api_tokens:
      - {name: main, hash: %[4]q}
%[10]s
  - id: globex
    business_name: Globex Supply
    toll_free:
      - {number: "+18885550111", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: globex01, password_hash: %[5]q, max_binds: 2}
    api_tokens:
      - {name: main, hash: %[6]q}
%[11]s
carriers:
  - name: sim
    address: "127.0.0.1:%[1]d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
%[16]s
`

// rigOptions change a rig before it starts.
type rigOptions struct {
	// tls serves SMPP and HTTP over TLS with this certificate.
	tls *testcert.Cert
	// pprof turns on the HTTP listener's pprof handlers.
	pprof bool
	// maxUnbound is the business server's limit of unbound connections.
	maxUnbound int
	// sip serves SIP over TCP, and over TLS too when tls is set. acme's
	// PBX trunk then needs digest authentication and globex's is allowed
	// by its address, 127.0.0.1.
	sip bool
	// operatorHash gives the operator token as operator.token_hash in the
	// configuration instead of in the daemon's options.
	operatorHash bool
}

// rig is an in-process optgate whose every log entry is kept.
type rig struct {
	t    *testing.T
	ctx  context.Context
	d    *gateway.Daemon
	logs *observer.ObservedLogs
	// httpBase is http://ADDR or https://ADDR.
	httpBase string
	client   *http.Client
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	simPort := daemontest.FreePort(t, "tcp")

	tlsYAML := ""
	if o.tls != nil {
		tlsYAML = fmt.Sprintf(", tls: {cert_file: %q, key_file: %q}", o.tls.CertFile, o.tls.KeyFile)
	}
	operatorYAML, optionToken := "", operatorToken
	if o.operatorHash {
		operatorYAML = fmt.Sprintf("operator: {token_hash: %q}", daemontest.Hash(t, operatorToken))
		optionToken = ""
	}
	sipYAML, acmeTrunk, globexTrunk := "{enabled: false}", "", ""
	if o.sip {
		sipYAML = fmt.Sprintf(`{udp_addr: "", tcp_addr: "127.0.0.1:0", tls_addr: "127.0.0.1:0"%s, `+
			`digest_failures_allowed: %d, digest_lockout: %s, max_digest_lockout: %s}`,
			tlsYAML, digestFailuresAllowed, digestLockout, maxDigestLockout)
		acmeTrunk = fmt.Sprintf("    sip_trunks:\n      - {name: pbx, username: %s, realm: %s, password_ha1: %q}",
			acmeSIPUser, sipRealm, ha1(acmeSIPUser, sipRealm, acmeSIPPassword))
		globexTrunk = `    sip_trunks:
      - {name: office, allowed_cidrs: ["127.0.0.1/32"]}`
	}
	text := fmt.Sprintf(rigYAML, simPort, dir,
		daemontest.Hash(t, acmePassword), daemontest.Hash(t, acmeToken), daemontest.Hash(t, globexPassword), daemontest.Hash(t, globexToken),
		tlsYAML, o.pprof, sipYAML, acmeTrunk, globexTrunk,
		failedDelay, maxFailedDelay, failedAuthDelay, maxFailedAuthDelay, operatorYAML)
	cfg, err := config.Parse([]byte(text), "security.yaml")
	if err != nil {
		t.Fatalf("parse the test configuration: %v", err)
	}

	core, logs := observer.New(zap.DebugLevel)
	var sipFactory func(gateway.SIPDeps) (gateway.SIPFrontEnd, error)
	if o.sip {
		sipFactory = sip.NewFrontEnd
	}
	d := daemontest.Start(t, ctx, cfg, zap.New(core), gateway.DaemonOptions{
		SIP:           sipFactory,
		ESME:          gateway.ESMEServerConfig{MaxUnbound: o.maxUnbound},
		Carrier:       gateway.CarrierPoolConfig{ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond},
		OperatorToken: optionToken,
		// 10:00 in New Jersey, outside quiet hours.
		Now: func() time.Time { return time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC) },
	}, 10*time.Second)
	r := &rig{t: t, ctx: ctx, d: d, logs: logs, client: &http.Client{Timeout: 10 * time.Second},
		httpBase: "http://" + d.HTTPAddr().String()}
	if o.tls != nil {
		r.httpBase = "https://" + d.HTTPAddr().String()
		r.client.Transport = &http.Transport{TLSClientConfig: o.tls.ClientConfig()}
	}
	waitFor(t, "the carrier to bind", daemontest.CarriersBound(d))
	return r
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	daemontest.WaitFor(t, 10*time.Second, what, cond)
}

// optIn imports an opt-in of number with account through the operator's
// CSV import.
func (r *rig) optIn(account, number string) {
	r.t.Helper()
	res := daemontest.Request(r.t, r.ctx, r.client, http.MethodPost, r.httpBase+"/v1/consent/import?account="+account,
		operatorToken, "text/csv", []byte(number+",opted_in\n"))
	if res.Status != http.StatusOK {
		r.t.Fatalf("import an opt-in: status %d, want 200", res.Status)
	}
}

// do sends an HTTP request with a bearer token, when set, and returns the
// status and body.
func (r *rig) do(method, path, token, contentType string, body []byte) (int, string) {
	r.t.Helper()
	res := daemontest.Request(r.t, r.ctx, r.client, method, r.httpBase+path, token, contentType, body)
	return res.Status, string(res.Body)
}

// bind binds an ESME and returns the client, or the bind error.
func (r *rig) bind(systemID, password string, tlsConfig *tls.Config) (*smpp.Client, error) {
	// A bind that gets no response, as on a TLS listener without TLS,
	// ends after 3 seconds.
	ctx, cancel := context.WithTimeout(r.ctx, 3*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: r.d.SMPPAddr().String(), TLS: tlsConfig, SystemID: systemID, Password: password,
		BindType: smpp.BindTypeTransceiver, ReconnectDelay: time.Hour,
		// A rejected bind ends the wait at once instead of at the
		// timeout. The client reports the rejection first as the
		// session's close, then with the error Dial returns.
		Hooks: smpp.Hooks{BindStateChanged: func(_ string, state smpp.SessionState, err error) {
			var st *smpp.StatusError
			if state == smpp.SessionClosed && errors.As(err, &st) && !errors.Is(err, smpp.ErrClosed) {
				cancel()
			}
		}},
	})
	if err != nil {
		return nil, err
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, nil
}

// mustBind binds an ESME and fails the test when the bind fails.
func (r *rig) mustBind(systemID, password string) *smpp.Client {
	r.t.Helper()
	c, err := r.bind(systemID, password, nil)
	if err != nil {
		r.t.Fatalf("bind %s: %v", systemID, err)
	}
	return c
}

// bindStatus returns the command_status of a bind_transceiver_resp, or
// fails the test when the bind ended without one.
func bindStatus(t testing.TB, err error) smpp.CommandStatus {
	t.Helper()
	if err == nil {
		return smpp.StatusOK
	}
	var st *smpp.StatusError
	if !errors.As(err, &st) {
		t.Fatalf("bind ended without a bind response: %v", err)
	}
	return st.Status
}

// submit sends a GSM text and returns the command_status of the
// submit_sm_resp, failing the test when there is none.
func submit(ctx context.Context, t testing.TB, c *smpp.Client, from, to, text string) smpp.CommandStatus {
	t.Helper()
	status, err := trySubmit(ctx, c, from, to, text)
	if err != nil {
		t.Fatalf("submit_sm %q: %v", text, err)
	}
	return status
}

// trySubmit sends a GSM text and returns the command_status of the
// submit_sm_resp, or an error when there is none.
func trySubmit(ctx context.Context, c *smpp.Client, from, to, text string) (smpp.CommandStatus, error) {
	sm, err := daemontest.NewSubmit(from, to, text)
	if err != nil {
		return 0, err
	}
	return daemontest.SubmitStatus(ctx, c, sm, 10*time.Second)
}

// statusOf returns the SMPP command_status of a gateway code.
func statusOf(code gateway.Code) smpp.CommandStatus { return gateway.StatusFor(code).SMPP }
