package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
)

// HTTPServices are the parts of the routing core the HTTP API calls. A
// configuration reload builds new ones and hands them to
// HTTPAPI.SetServices.
type HTTPServices struct {
	// Registry authenticates account tokens and lists the accounts.
	Registry *Registry
	// MT sends business texts and opt-in requests.
	MT *MTService
	// Engine serves consent reads, imports, exports and explanations.
	Engine *consent.Engine
	// Router names the carrier in explanations. Default nil: explanations
	// name no carrier and do not check the route.
	Router *Router
	// Calls sends opt-in requests to the remote party of a SIP call, for
	// POST /v1/optin-requests with call_id. Default nil: call_id is
	// rejected because optgate serves no SIP.
	Calls CallOptIn
}

// HTTPAPIConfig holds the dependencies and settings of NewHTTPAPI.
type HTTPAPIConfig struct {
	// Services are required: Registry, MT and Engine must be set.
	Services HTTPServices
	// Operator reports whether a bearer token is the operator's. The
	// operator may reload, import consent and read any account's records;
	// see OperatorToken. Default nil: no token is the operator's.
	Operator func(token string) bool
	// Ready returns the state of each part the daemon needs to serve
	// traffic, such as "consent_store" or "carrier:sim", with a nil error
	// for the parts that are up. Default nil: /readyz reports ready.
	Ready func(ctx context.Context) map[string]error
	// ReadyTimeout bounds one Ready call. Default 2s.
	ReadyTimeout time.Duration
	// Reload reloads the configuration. When it fails it must leave the
	// running configuration in place. Default nil: /v1/reload returns 501
	// Not Implemented.
	Reload func(ctx context.Context) error
	// Prometheus, when set, is served on /metrics and gets the HTTP
	// metrics (see httpMetrics). Default nil: no /metrics.
	Prometheus *prometheus.Registry
	// Pprof serves net/http/pprof under /debug/pprof/ without
	// authentication, so enable it only on a loopback listener. Default
	// false.
	Pprof bool
	// Logger gets a debug line per request and the failures. Default
	// zap.NewNop().
	Logger *zap.Logger
	// MaskNumbers masks subscriber numbers in logs. Default false.
	MaskNumbers bool
	// FailedAuthDelay is the wait of every request from an address after
	// a failed authentication from it, doubled for each further failure
	// up to MaxFailedAuthDelay. Failures older than 10 minutes are
	// forgotten, and a success clears them at once. Default 0: no wait.
	FailedAuthDelay, MaxFailedAuthDelay time.Duration
	// MaxBodyBytes bounds a JSON request body. Default 64 KiB.
	MaxBodyBytes int64
	// MaxImportBytes bounds a CSV import body. Default 32 MiB, about
	// 700,000 rows of "+12015550101,opted_in,2025-06-01T14:00:00Z,web".
	MaxImportBytes int64
	// SIP serves the voicemail and greeting endpoints (see sipRoutes)
	// once the API has authenticated the caller, which it reads with
	// APICallerFrom. Default nil: those endpoints return 501.
	SIP http.Handler
	// Console holds the daemon parts the console's operator endpoints
	// read. Default: empty binds and blocks.
	Console ConsoleSources
}

// HTTPAPI is optgate's HTTP API: business texts, opt-in requests, consent
// records and the operator endpoints. It implements http.Handler, and
// docs/api.md describes every endpoint. It is safe for concurrent use.
type HTTPAPI struct {
	cfg      HTTPAPIConfig
	services atomic.Pointer[HTTPServices]
	mux      *http.ServeMux
	log      *zap.Logger
	mask     func(string) string
	metrics  *httpMetrics
	// authGuard slows addresses that failed to authenticate; nil when
	// FailedAuthDelay is 0.
	authGuard *bindGuard
}

// Default limits of HTTPAPIConfig.
const (
	defaultMaxBodyBytes   = 64 << 10
	defaultMaxImportBytes = 32 << 20
	defaultReadyTimeout   = 2 * time.Second
)

// NewHTTPAPI builds the API handler. It starts nothing; mount it on a
// server such as NewHTTPServer returns.
func NewHTTPAPI(cfg HTTPAPIConfig) (*HTTPAPI, error) {
	if err := cfg.Services.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = defaultMaxImportBytes
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = defaultReadyTimeout
	}
	a := &HTTPAPI{cfg: cfg, log: cfg.Logger, mask: numberMasker(cfg.MaskNumbers), authGuard: newAuthGuard(cfg)}
	services := cfg.Services
	a.services.Store(&services)
	if cfg.Prometheus != nil {
		m, err := newHTTPMetrics(cfg.Prometheus)
		if err != nil {
			return nil, err
		}
		a.metrics = m
	}
	a.mux = a.routes()
	return a, nil
}

func (s HTTPServices) validate() error {
	if s.Registry == nil || s.MT == nil || s.Engine == nil {
		return errors.New("http api: registry, mt service and consent engine are required")
	}
	return nil
}

// SetServices replaces the services after a configuration reload.
// Requests already running finish with the old ones.
func (a *HTTPAPI) SetServices(s HTTPServices) error {
	if err := s.validate(); err != nil {
		return err
	}
	a.services.Store(&s)
	return nil
}

// routes registers every endpoint. Patterns use the method and wildcard
// syntax of net/http.ServeMux.
func (a *HTTPAPI) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, a.instrument(pattern, h)) }

	handle("POST /v1/messages", a.authed(accessSend, a.postMessage))
	handle("GET /v1/messages/{id}", a.authed(accessRead, a.getMessage))
	handle("POST /v1/optin-requests", a.authed(accessSend, a.postOptInRequest))
	handle("GET /v1/consent/{number}", a.authed(accessRead, a.getConsent))
	handle("GET /v1/consent/{number}/evidence", a.authed(accessRead, a.getEvidence))
	handle("POST /v1/consent/import", a.authed(accessImport, a.postImport))
	handle("GET /v1/consent/export", a.authed(accessRead, a.getExport))
	handle("GET /v1/explain", a.authed(accessRead, a.getExplain))
	handle("POST /v1/reload", a.authed(accessOperator, a.postReload))
	a.sipRoutes(handle)
	a.consoleRoutes(handle)
	handle("GET /healthz", a.getHealth)
	handle("GET /readyz", a.getReady)
	if a.cfg.Prometheus != nil {
		metrics := promhttp.HandlerFor(a.cfg.Prometheus, promhttp.HandlerOpts{})
		handle("GET /metrics", metrics.ServeHTTP)
	}
	if a.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ServeHTTP implements http.Handler. Requests that match no endpoint get
// the JSON error body of every other error, not the mux's plain text.
func (a *HTTPAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		// Only the mux's ServeHTTP sets the pattern and path values.
		a.mux.ServeHTTP(w, r)
		return
	}
	// The mux returns 404, or 405 with an Allow header when the path
	// exists for other methods. Keep its status and header, and write the
	// body here.
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		sw.Header().Set("Allow", probe.header.Get("Allow"))
		a.writeError(sw, r, apiErrorFor(codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
	} else {
		a.writeError(sw, r, apiErrorFor(codeNotFound, "no endpoint at "+r.URL.Path))
	}
	a.finish("unmatched", sw, r, time.Since(start))
}

// statusProbe records the status the mux's fallback handler sends.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }

func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }

func (p *statusProbe) WriteHeader(status int) { p.status = status }

// access is who may call an endpoint.
type access uint8

const (
	// accessSend: account tokens only, because texts leave from an
	// account's numbers.
	accessSend access = iota
	// accessRead: an account token for its own account, or the operator
	// token with ?account=.
	accessRead
	// accessImport: as accessRead, but only the operator imports consent
	// states; the handler checks the kind.
	accessImport
	// accessOperator: the operator token only.
	accessOperator
	// accessAccountOrAll: an account token for its own account, or the
	// operator token for the ?account= parameter or, without one, for
	// every account.
	accessAccountOrAll
)

// caller is the authenticated sender of a request.
type caller struct {
	// account is the account the request acts for. For the operator it
	// is the ?account= parameter, which may be empty.
	account string
	// token names the account token in logs.
	token    string
	operator bool
}

// authed authenticates the bearer token and checks the access rule before
// calling h.
func (a *HTTPAPI) authed(rule access, h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, apiErr := a.authenticateSlowed(r, rule)
		if apiErr == nil {
			apiErr = c.allow(rule, r)
		}
		if apiErr != nil {
			a.writeError(w, r, apiErr)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.account = c.account
		}
		h(w, r, c)
	}
}

// authenticate reads "Authorization: Bearer TOKEN" (RFC 6750 section
// 2.1) and finds whose token it is. A token checked for the first time
// costs a bcrypt run per candidate, all of them in the shared
// bcryptSlots. The operator's token is tried first on operator and import
// endpoints, and after the account tokens elsewhere, so an account token
// on a send or read endpoint never runs the operator's bcrypt. There the
// operator's token is still recognised, to answer that the endpoint is
// not the operator's rather than that the token is unknown.
func (a *HTTPAPI) authenticate(r *http.Request, rule access) (caller, *apiError) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return caller{}, apiErrorFor(codeUnauthorized, "missing Authorization header; send Authorization: Bearer TOKEN")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, apiErrorFor(codeUnauthorized, "the Authorization header is not of the form Bearer TOKEN")
	}
	isOperator := func() bool { return a.cfg.Operator != nil && a.cfg.Operator(token) }
	operator := caller{operator: true, account: r.URL.Query().Get("account")}
	operatorFirst := rule == accessOperator || rule == accessImport
	if operatorFirst && isOperator() {
		return operator, nil
	}
	if id, err := a.services.Load().Registry.AuthenticateToken(token); err == nil {
		return caller{account: id.Account, token: id.Name}, nil
	}
	if !operatorFirst && isOperator() {
		return operator, nil
	}
	return caller{}, apiErrorFor(codeUnauthorized, "the bearer token is not valid")
}

// accountIDPattern is the form of configured account ids: lowercase
// letters, digits, '-' and '_', at most 64 characters.
var accountIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// allow checks the access rule and the ?account= parameter.
func (c caller) allow(rule access, r *http.Request) *apiError {
	requested := r.URL.Query().Get("account")
	switch {
	case requested != "" && !accountIDPattern.MatchString(requested):
		return fieldError("account", fmt.Sprintf("invalid account id %q: use lowercase letters, digits, '-' and '_'", requested))
	case rule == accessOperator && !c.operator:
		return apiErrorFor(codeForbidden, "this endpoint needs the operator token")
	case rule == accessSend && c.operator:
		return apiErrorFor(codeForbidden, "texts are sent with an account token, not the operator token")
	case c.operator && rule == accessRead && c.account == "":
		return fieldError("account", "the operator token needs the account query parameter, e.g. ?account=acme")
	case !c.operator && requested != "" && requested != c.account:
		return apiErrorFor(codeForbidden, "an account token reaches only its own account")
	}
	return nil
}

// OperatorToken returns an Operator function that accepts secret. It
// compares SHA-256 digests in constant time, so neither the timing nor
// the length of a wrong token reveals anything about secret. An empty
// secret accepts nothing.
func OperatorToken(secret string) func(token string) bool {
	if secret == "" {
		return func(string) bool { return false }
	}
	want := sha256.Sum256([]byte(secret))
	return func(token string) bool {
		got := sha256.Sum256([]byte(token))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
}

// NewHTTPServer returns a server for the API with timeouts that bound
// slow or stalled clients:
//
//   - ReadHeaderTimeout 5s for the request line and headers.
//   - ReadTimeout 60s for the whole request, body included. The import
//     endpoint extends its own read deadline to 10 minutes.
//   - WriteTimeout 2m from the end of the headers to the end of the
//     response. A text waits for the carrier to accept every segment,
//     each bounded by the MT service's segment timeout (default 30s). The
//     import and export endpoints extend their write deadline to 10
//     minutes.
//   - IdleTimeout 2m between requests on a kept-alive connection.
//   - MaxHeaderBytes 64 KiB.
//
// The server's own errors, such as TLS handshake failures, go to logger
// at warn level.
func NewHTTPServer(addr string, h http.Handler, logger *zap.Logger) *http.Server {
	if logger == nil {
		logger = zap.NewNop()
	}
	// NewStdLogAt fails only for an unknown level.
	errorLog, _ := zap.NewStdLogAt(logger, zap.WarnLevel)
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
}

// longTransfer is the read and write deadline of imports and exports,
// which move whole files.
const longTransfer = 10 * time.Minute

// extendDeadlines gives an import or export the time of longTransfer.
// Servers that do not support deadlines, such as httptest recorders, keep
// theirs.
func extendDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	deadline := time.Now().Add(longTransfer)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline)
}
