package sipd

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/sip"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers of the tests.
const (
	tfAcme     = "+18885550100" // acme's ready toll-free number
	tfNotReady = "+18885550101" // acme's number without voicemail
	tfBeta     = "+18005550100" // beta's ready toll-free number
	customer   = "+12015550101"
	customer2  = "+12015550102"
	customer3  = "+12015550103"
)

// Credentials of the tests.
const (
	acmeToken     = "acme-api-token"
	operatorToken = "operator-token"
	acmeSystemID  = "acme01"
	acmePassword  = "secret1"
	betaUser      = "beta-pbx"
	betaPassword  = "s3cret-beta"
)

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// daemonYAML is the configuration of the tests. acme's PBX trunk is
// allowed by address; beta's trunk needs digest authentication. Both
// accounts get their MO texts and receipts at the test's PBX as MESSAGE
// requests. The placeholders are the simulator's
// port, the data directory, the greeting file, acme's SIP delivery URI,
// the bcrypt hashes of acme's API token and ESME password, and beta's
// H(A1).
const daemonYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0", pprof: true}
  sip: {udp_addr: "127.0.0.1:0", tcp_addr: "127.0.0.1:0"}
  simulator: {enabled: true, addr: "127.0.0.1:%[1]d", receipt_delay: 0s}
store:
  embedded: {path: "%[2]s/consent.db"}
logging: {mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: %[3]q, voicemail: {enabled: true, max_duration: 10s}}
      - {number: "+18885550101", greeting: %[3]q}
    api_tokens:
      - {name: test, hash: %[5]q}
    esme:
      - {system_id: acme01, password_hash: %[6]q}
    sip_trunks:
      - {name: office, allowed_cidrs: ["127.0.0.1/32"]}
    delivery: {type: sip, sip_uri: %[4]q}
  - id: beta
    business_name: Beta Books
    toll_free:
      - {number: "+18005550100", greeting: %[3]q, voicemail: {enabled: true}}
    sip_trunks:
      - {name: beta-pbx, username: beta-pbx, realm: optgate, password_ha1: %[7]q}
    delivery: {type: sip, sip_uri: %[4]q}
carriers:
  - name: sim
    address: "127.0.0.1:%[1]d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// fixture is a whole optgate started in-process on free loopback ports.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	dir  string
	cfg  *config.Config
	d    *gateway.Daemon
	sim  *smscsim.Simulator
	pbx  *pbx
	logs *logBuffer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*testTimeout)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, dir: t.TempDir(), logs: &logBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("optgate log:\n%s", f.logs.tail(20000))
		}
	})
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(f.logs), zapcore.DebugLevel))

	f.pbx = newPBX(t)
	greeting := filepath.Join(f.dir, "greeting.wav")
	writeWAV(t, greeting, tonePCM(300*time.Millisecond, 440, 8000))
	simPort := daemontest.FreePort(t, "tcp")
	text := fmt.Sprintf(daemonYAML, simPort, f.dir, greeting, "sip:pbx@"+f.pbx.addr,
		daemontest.Hash(t, acmeToken), daemontest.Hash(t, acmePassword), ha1(betaUser, "optgate", betaPassword))
	cfg, err := config.Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatalf("parse test configuration: %v", err)
	}
	f.cfg = cfg
	f.d = daemontest.Start(t, ctx, cfg, logger, gateway.DaemonOptions{
		OperatorToken: operatorToken,
		SIP:           sip.NewFrontEnd,
		Carrier: gateway.CarrierPoolConfig{
			ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond,
		},
		Dispatch: gateway.DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
	}, 15*time.Second)
	f.sim = f.d.Simulator()
	waitFor(t, "the carrier to bind", daemontest.CarriersBound(f.d))
	return f
}

// sipAddr returns the daemon's SIP address of network "udp" or "tcp".
func (f *fixture) sipAddr(network string) string {
	f.t.Helper()
	a := f.d.SIPAddr(network)
	if a == nil {
		f.t.Fatalf("the daemon serves no SIP over %s", network)
	}
	return a.String()
}

// apiResponse is the outcome of one HTTP API request.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// errorCode returns the code of an error response body.
func (r apiResponse) errorCode() string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error.Code
}

// api sends one request to the daemon's HTTP API.
func (f *fixture) api(method, path, token, contentType string, body []byte) apiResponse {
	f.t.Helper()
	res := daemontest.Request(f.t, f.ctx, http.DefaultClient, method, "http://"+f.d.HTTPAddr().String()+path,
		token, contentType, body)
	return apiResponse{status: res.Status, header: res.Header, body: res.Body}
}

// optIn gives a customer the opted-in state with an account through the
// operator's consent import.
func (f *fixture) optIn(account, number string) {
	f.t.Helper()
	res := f.api("POST", "/v1/consent/import?account="+account, operatorToken, "text/csv",
		[]byte(number+",opted_in\n"))
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"applied":1`) {
		f.t.Fatalf("import opt-in of %s: %d %s", number, res.status, res.body)
	}
}

// waitMessages waits until the simulator received n messages.
func (f *fixture) waitMessages(n int) []smscsim.Message {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	msgs, err := f.sim.WaitMessages(ctx, n)
	if err != nil {
		f.t.Fatalf("waiting for %d messages at the simulator, got %d: %v", n, len(msgs), err)
	}
	return msgs
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	daemontest.WaitFor(t, testTimeout, what, cond)
}

// ha1 returns the MD5 digest H(A1) of RFC 2617 section 3.2.2.2.
func ha1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// tonePCM returns 8000 Hz 16-bit little-endian samples of a sine tone;
// amplitude 0 gives silence.
func tonePCM(length time.Duration, freq, amplitude float64) []byte {
	n := int(length.Seconds() * 8000)
	buf := make([]byte, 2*n)
	for i := range n {
		v := amplitude * math.Sin(2*math.Pi*freq*float64(i)/8000)
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(int16(v)))
	}
	return buf
}

// wavFile returns pcm as a WAV file of 8000 Hz 16-bit mono PCM.
func wavFile(pcm []byte) []byte {
	h := make([]byte, 44)
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], uint32(36+len(pcm)))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], 1) // PCM
	le.PutUint16(h[22:], 1) // mono
	le.PutUint32(h[24:], 8000)
	le.PutUint32(h[28:], 16000)
	le.PutUint16(h[32:], 2)
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(len(pcm)))
	return append(h, pcm...)
}

func writeWAV(t testing.TB, path string, pcm []byte) {
	t.Helper()
	if err := os.WriteFile(path, wavFile(pcm), 0o600); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects the daemon's log for failed tests. Goroutines of
// sipgo may log after a test ends, so the log does not go to t.Log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes of the log.
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
