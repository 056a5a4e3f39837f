package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// Numbers and tokens of the HTTP API tests.
const (
	apiAcmeTF        = "+18885550100" // acme's ready toll-free number
	apiAcmeNotReady  = "+18885550101" // acme's number without voicemail
	apiGlobexTF      = "+18005550100" // globex's ready toll-free number
	apiStrangerTF    = "+18005550177" // a toll-free number of no account
	apiSubscriber    = "+12015550101"
	apiSubscriber2   = "+12015550102"
	apiAcmeToken     = "tok-acme"
	apiGlobexToken   = "tok-globex"
	apiOperatorToken = "op-secret"
)

// apiLink is a fake CarrierLink that records the PDUs and fails the n-th
// submit (counted from 1) when fail returns an error.
type apiLink struct {
	mu   sync.Mutex
	pdus []*smpp.SubmitSM
	fail func(n int) error
}

func (l *apiLink) Submit(_ context.Context, pdu *smpp.SubmitSM) (string, error) {
	l.mu.Lock()
	l.pdus = append(l.pdus, pdu)
	n := len(l.pdus)
	fail := l.fail
	l.mu.Unlock()
	if fail != nil {
		if err := fail(n); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("C%04d", n), nil
}

func (l *apiLink) sent() []*smpp.SubmitSM {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*smpp.SubmitSM(nil), l.pdus...)
}

func (l *apiLink) setFail(fail func(n int) error) {
	l.mu.Lock()
	l.fail = fail
	l.mu.Unlock()
}

// apiConsentStore wraps a consent store whose every call fails while fail
// is set.
type apiConsentStore struct {
	consent.Store
	fail atomic.Bool
}

var errAPIStoreDown = errors.New("test: consent store down")

func (s *apiConsentStore) Get(ctx context.Context, account, number string) (consent.Record, error) {
	if s.fail.Load() {
		return consent.Record{}, errAPIStoreDown
	}
	return s.Store.Get(ctx, account, number)
}

func (s *apiConsentStore) GetMany(ctx context.Context, keys []consent.Key) ([]consent.Record, error) {
	if s.fail.Load() {
		return nil, errAPIStoreDown
	}
	return s.Store.GetMany(ctx, keys)
}

func (s *apiConsentStore) Apply(ctx context.Context, ev consent.Event) (consent.Applied, error) {
	if s.fail.Load() {
		return consent.Applied{}, errAPIStoreDown
	}
	return s.Store.Apply(ctx, ev)
}

func (s *apiConsentStore) History(ctx context.Context, account, number string) ([]consent.AuditEntry, error) {
	if s.fail.Load() {
		return nil, errAPIStoreDown
	}
	return s.Store.History(ctx, account, number)
}

func (s *apiConsentStore) Records(ctx context.Context, account string,
	fn func(number string, rec consent.Record) error) error {
	if s.fail.Load() {
		return errAPIStoreDown
	}
	return s.Store.Records(ctx, account, fn)
}

// apiOptions change the fixture.
type apiOptions struct {
	acme    func(a *config.Account)
	routes  []string
	now     time.Time
	config  func(c *HTTPAPIConfig)
	noReady bool
}

// apiFixture is the HTTP API over the real MT service, consent engine and
// stores in a temporary directory, with two accounts and a fake carrier.
type apiFixture struct {
	t        testing.TB
	ctx      context.Context
	api      *HTTPAPI
	engine   *consent.Engine
	consent  *apiConsentStore
	registry *Registry
	link     *apiLink
	prom     *prometheus.Registry
	store    *BoltStore
	receipts *ReceiptService

	mu       sync.Mutex
	now      time.Time
	ready    map[string]error
	reloads  int
	reloadFn func() error
}

func apiHash(t testing.TB, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func apiAccounts(t testing.TB) []config.Account {
	return []config.Account{{
		ID:           "acme",
		BusinessName: "Acme Dental",
		TollFree: []config.TollFreeNumber{
			{Number: apiAcmeTF, Greeting: "greeting.wav", Voicemail: config.Voicemail{Enabled: true}},
			{Number: apiAcmeNotReady, Greeting: "greeting.wav"},
		},
		// An ESME hashed at the lowest cost keeps NewRegistry from making
		// its dummy hash at the default cost, which takes a tenth of a
		// second.
		ESMEs:     []config.ESME{{SystemID: "acme01", PasswordHash: apiHash(t, "secret1"), MaxBinds: 1}},
		APITokens: []config.APIToken{{Name: "main", Hash: apiHash(t, apiAcmeToken)}},
		Delivery:  config.Delivery{Type: config.DeliverySMPP},
	}, {
		ID:           "globex",
		BusinessName: "Globex Clinic",
		TollFree: []config.TollFreeNumber{
			{Number: apiGlobexTF, Greeting: "greeting.wav", Voicemail: config.Voicemail{Enabled: true}},
		},
		APITokens: []config.APIToken{{Name: "ops", Hash: apiHash(t, apiGlobexToken)}},
		Delivery:  config.Delivery{Type: config.DeliverySMPP},
	}}
}

func newAPIFixture(t testing.TB, opts apiOptions) *apiFixture {
	t.Helper()
	dir := t.TempDir()
	f := &apiFixture{t: t, ctx: context.Background(), link: &apiLink{}, now: opts.now, ready: map[string]error{}}
	if f.now.IsZero() {
		f.now = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	}
	accounts := apiAccounts(t)
	if opts.acme != nil {
		opts.acme(&accounts[0])
	}
	routes := opts.routes
	if routes == nil {
		routes = []string{"+1"}
	}

	var err error
	if f.registry, err = NewRegistry(accounts, RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	router, err := NewRouter([]config.Carrier{{
		Name: "sim", Address: "127.0.0.1:2776", SystemID: "optgate", Routes: routes,
		DataCoding0: config.DataCodingGSM7, LongMessages: config.LongUDH, DefaultRegion: "US",
	}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenBoltStore(filepath.Join(dir, "gateway.db"), BoltStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f.store = store
	if f.receipts, err = NewReceiptService(ReceiptConfig{Router: router, Store: store, Now: f.clock}); err != nil {
		t.Fatal(err)
	}
	cs, err := consent.OpenBolt(filepath.Join(dir, "consent.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	f.consent = &apiConsentStore{Store: cs}
	if f.engine, err = consent.NewEngine(f.consent, f.registry, consent.Options{Now: f.clock}); err != nil {
		t.Fatal(err)
	}
	mt, err := NewMTService(MTConfig{Registry: f.registry, Router: router, Links: StaticLinks{"sim": f.link},
		Engine: f.engine, Store: store, Receipts: f.receipts, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}

	f.prom = prometheus.NewRegistry()
	cfg := HTTPAPIConfig{
		Services:   HTTPServices{Registry: f.registry, MT: mt, Engine: f.engine, Router: router},
		Operator:   OperatorToken(apiOperatorToken),
		Reload:     f.reload,
		Prometheus: f.prom,
	}
	if !opts.noReady {
		cfg.Ready = f.readiness
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	if f.api, err = NewHTTPAPI(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *apiFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *apiFixture) readiness(context.Context) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]error{"consent_store": nil, "carrier:sim": nil}
	for k, v := range f.ready {
		out[k] = v
	}
	return out
}

func (f *apiFixture) reload(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	if f.reloadFn != nil {
		return f.reloadFn()
	}
	return nil
}

// setState gives a subscriber a consent state with an account through an
// operator import event.
func (f *apiFixture) setState(account, number string, state consent.State) {
	f.t.Helper()
	_, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: account, Number: number,
		Import: state, Source: consent.SourceImport, Time: f.clock()})
	if err != nil {
		f.t.Fatal(err)
	}
}

// apiRequest is one request to the API under test.
type apiRequest struct {
	method, path, token string
	// contentType defaults to application/json when body is set.
	contentType string
	body        string
	header      http.Header
}

// do sends a request straight to the handler and returns the recorder.
func (f *apiFixture) do(req apiRequest) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequestWithContext(f.ctx, req.method, req.path, body)
	if req.body != "" {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, r)
	return w
}

// post sends a JSON body with a token.
func (f *apiFixture) post(path, token, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(apiRequest{method: http.MethodPost, path: path, token: token, body: body})
}

// get sends a GET with a token.
func (f *apiFixture) get(path, token string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(apiRequest{method: http.MethodGet, path: path, token: token})
}

// apiErrorBody is the error body as a client reads it.
type apiErrorBody struct {
	Error struct {
		Code             string `json:"code"`
		Message          string `json:"message"`
		Field            string `json:"field"`
		Detail           string `json:"detail"`
		Temporary        bool   `json:"temporary"`
		RetryAfter       int    `json:"retry_after"`
		MessageID        string `json:"message_id"`
		AcceptedSegments int    `json:"accepted_segments"`
		Segments         int    `json:"segments"`
		CarrierStatus    string `json:"carrier_status"`
	} `json:"error"`
}

// decodeAPIBody unmarshals a response body, failing the test on invalid JSON.
func decodeAPIBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", w.Code, err, w.Body.String())
	}
	return v
}

// wantAPIError checks the status and code of an error response and returns
// its body.
func wantAPIError(t *testing.T, w *httptest.ResponseRecorder, status int, code Code) apiErrorBody {
	t.Helper()
	if w.Code != status {
		t.Errorf("status = %d, want %d; body %s", w.Code, status, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	body := decodeAPIBody[apiErrorBody](t, w)
	if body.Error.Code != string(code) {
		t.Errorf("code = %q, want %q; body %s", body.Error.Code, code, w.Body.String())
	}
	if body.Error.Message == "" {
		t.Errorf("error has no message: %s", w.Body.String())
	}
	return body
}
