package sip

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/gateway"
)

// AuthFunc returns who an HTTP request acts for: an account, or the
// operator for one account or, with an empty Account, for every account.
// An error gets a 401 response with the error's text.
type AuthFunc func(r *http.Request) (gateway.APICaller, error)

// APICallerAuth is the AuthFunc of a handler that the gateway's HTTP API
// serves as HTTPAPIConfig.SIP: it returns the caller the API
// authenticated.
func APICallerAuth(r *http.Request) (gateway.APICaller, error) {
	c, ok := gateway.APICallerFrom(r.Context())
	if !ok {
		return c, errors.New("the request was not authenticated by the HTTP API")
	}
	return c, nil
}

// voicemailView is a voicemail in the HTTP API.
type voicemailView struct {
	ID       string    `json:"id"`
	Account  string    `json:"account"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	CallID   string    `json:"call_id"`
	Received time.Time `json:"received"`
	// DurationSeconds is the length of the audio in seconds.
	DurationSeconds float64 `json:"duration_seconds"`
	// Size is the size of the WAV file in bytes.
	Size int64 `json:"size"`
	// URL is the path that downloads the WAV file.
	URL string `json:"url"`
}

// apiHandler serves the voicemail and greeting endpoints.
type apiHandler struct {
	store VoicemailStore
	// greetings and number are nil in a handler without greetings.
	// number returns the toll-free number a path names, or nil.
	greetings *GreetingStore
	number    func(n string) *tollFree
	auth      AuthFunc
	log       *zap.Logger
	mux       *http.ServeMux
}

// NewVoicemailHandler returns the HTTP handler of the voicemail API,
// scoped to the caller auth returns:
//
//   - GET /v1/voicemails lists voicemails, newest first, as
//     {"voicemails": [...]}.
//   - GET /v1/voicemails/{id} downloads one as audio/wav, with range
//     requests.
//   - DELETE /v1/voicemails/{id} deletes one.
//
// The caller mounts it on these paths. Errors are {"error": {"code",
// "message"}} with the HTTP API's codes. logger may be nil.
func NewVoicemailHandler(store VoicemailStore, auth AuthFunc, logger *zap.Logger) http.Handler {
	return newAPIHandler(store, nil, nil, auth, logger)
}

// HTTPHandler implements gateway.SIPFrontEnd: the voicemail endpoints of
// NewVoicemailHandler and PUT /v1/numbers/{number}/greeting, for the
// caller the gateway's HTTP API authenticated.
func (s *Server) HTTPHandler() http.Handler {
	return newAPIHandler(s.deps.Voicemails, s.greetings, s.tollFree, APICallerAuth, s.log)
}

func newAPIHandler(store VoicemailStore, greetings *GreetingStore, number func(string) *tollFree,
	auth AuthFunc, logger *zap.Logger) *apiHandler {
	if logger == nil {
		logger = zap.NewNop()
	}
	h := &apiHandler{store: store, greetings: greetings, number: number, auth: auth,
		log: logger.Named("http"), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/voicemails", h.list)
	h.mux.HandleFunc("GET /v1/voicemails/{id}", h.download)
	h.mux.HandleFunc("DELETE /v1/voicemails/{id}", h.delete)
	h.mux.HandleFunc("PUT /v1/numbers/{number}/greeting", h.putGreeting)
	h.mux.HandleFunc("/v1/voicemails", h.methodNotAllowed("GET, HEAD"))
	h.mux.HandleFunc("/v1/voicemails/{id}", h.methodNotAllowed("GET, HEAD, DELETE"))
	h.mux.HandleFunc("/v1/numbers/{number}/greeting", h.methodNotAllowed("PUT"))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func (h *apiHandler) caller(w http.ResponseWriter, r *http.Request) (gateway.APICaller, bool) {
	c, err := h.auth(r)
	if err != nil || (c.Account == "" && !c.Operator) {
		msg := "not authenticated"
		if err != nil {
			msg = err.Error()
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="optgate"`)
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", msg)
		return c, false
	}
	return c, true
}

// accounts returns the accounts whose voicemails the caller may read.
func (h *apiHandler) accounts(r *http.Request, c gateway.APICaller) ([]string, error) {
	if c.Account != "" {
		return []string{c.Account}, nil
	}
	return h.store.Accounts(r.Context())
}

// voicemailsReadable writes the response for a handler without a store.
func (h *apiHandler) voicemailsReadable(w http.ResponseWriter) bool {
	if h.store == nil {
		writeAPIError(w, http.StatusNotImplemented, "not_implemented", "this optgate keeps no voicemails")
		return false
	}
	return true
}

func (h *apiHandler) list(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok || !h.voicemailsReadable(w) {
		return
	}
	accounts, err := h.accounts(r, c)
	var vms []Voicemail
	for _, account := range accounts {
		if err != nil {
			break
		}
		var more []Voicemail
		more, err = h.store.List(r.Context(), account)
		vms = append(vms, more...)
	}
	if err != nil {
		h.log.Error("list voicemails failed", zap.String("account", c.Account), zap.Error(err))
		writeAPIError(w, http.StatusInternalServerError, "internal_error", "voicemails could not be read")
		return
	}
	slices.SortStableFunc(vms, func(a, b Voicemail) int { return b.Received.Compare(a.Received) })
	out := struct {
		Voicemails []voicemailView `json:"voicemails"`
	}{Voicemails: make([]voicemailView, 0, len(vms))}
	for _, vm := range vms {
		out.Voicemails = append(out.Voicemails, voicemailView{
			ID: vm.ID, Account: vm.Account, From: vm.From, To: vm.To, CallID: vm.CallID, Received: vm.Received,
			DurationSeconds: vm.Duration.Seconds(), Size: vm.Size, URL: "/v1/voicemails/" + vm.ID,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// find returns the account that has voicemail id among those the caller
// may read, or ErrVoicemailNotFound.
func (h *apiHandler) find(r *http.Request, c gateway.APICaller, id string) (string, error) {
	accounts, err := h.accounts(r, c)
	if err != nil {
		return "", err
	}
	for _, account := range accounts {
		vm, file, err := h.store.Open(r.Context(), account, id)
		if errors.Is(err, ErrVoicemailNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		_ = file.Close()
		return vm.Account, nil
	}
	return "", ErrVoicemailNotFound
}

func (h *apiHandler) download(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok || !h.voicemailsReadable(w) {
		return
	}
	id := r.PathValue("id")
	account, err := h.find(r, c, id)
	var vm Voicemail
	var file io.ReadSeekCloser
	if err == nil {
		vm, file, err = h.store.Open(r.Context(), account, id)
	}
	if h.voicemailError(w, c, err) {
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+vm.ID+`.wav"`)
	http.ServeContent(w, r, vm.ID+".wav", vm.Received, file)
}

func (h *apiHandler) delete(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok || !h.voicemailsReadable(w) {
		return
	}
	id := r.PathValue("id")
	account, err := h.find(r, c, id)
	if err == nil {
		err = h.store.Delete(r.Context(), account, id)
	}
	if h.voicemailError(w, c, err) {
		return
	}
	h.log.Info("voicemail deleted", zap.String("account", account), zap.String("voicemail_id", id))
	w.WriteHeader(http.StatusNoContent)
}

// voicemailError writes the response for a store error and reports
// whether there was one.
func (h *apiHandler) voicemailError(w http.ResponseWriter, c gateway.APICaller, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrVoicemailNotFound) && c.Account != "":
		writeAPIError(w, http.StatusNotFound, "not_found", "account "+c.Account+" has no voicemail with this id")
	case errors.Is(err, ErrVoicemailNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", "no account has a voicemail with this id")
	default:
		h.log.Error("voicemail not readable", zap.String("account", c.Account), zap.Error(err))
		writeAPIError(w, http.StatusInternalServerError, "internal_error", "the voicemail could not be read")
	}
	return true
}

// putGreeting makes the request body, a WAV file, the greeting of a
// toll-free number of the caller's account.
func (h *apiHandler) putGreeting(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caller(w, r)
	if !ok {
		return
	}
	if h.greetings == nil || h.greetings.dir == "" || h.number == nil {
		writeAPIError(w, http.StatusNotImplemented, "not_implemented", "this optgate keeps no uploaded greetings")
		return
	}
	raw := r.PathValue("number")
	number := h.number(raw)
	if number == nil || (c.Account != "" && number.account != c.Account) {
		owner := "any account"
		if c.Account != "" {
			owner = "account " + c.Account
		}
		writeAPIError(w, http.StatusNotFound, "not_found", fmt.Sprintf("%q is not a toll-free number of %s", raw, owner))
		return
	}
	if media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		(media != "audio/wav" && media != "audio/x-wav") {
		writeAPIError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q is not accepted here; send audio/wav or audio/x-wav", r.Header.Get("Content-Type")))
		return
	}
	wav, ok := readGreetingBody(w, r)
	if !ok {
		return
	}

	err := h.greetings.Save(number.number, wav)
	var ge *GreetingError
	switch {
	case errors.As(err, &ge):
		writeAPIError(w, http.StatusBadRequest, "invalid_request", ge.Error())
		return
	case err != nil:
		h.log.Error("greeting not stored", zap.String("toll_free", number.number), zap.Error(err))
		writeAPIError(w, http.StatusInternalServerError, "internal_error", "the greeting could not be stored")
		return
	}
	h.log.Info("greeting uploaded",
		zap.String("account", number.account),
		zap.String("toll_free", number.number),
		zap.Int("bytes", len(wav)))
	w.WriteHeader(http.StatusNoContent)
}

// readGreetingBody reads a greeting upload of at most MaxGreetingUpload
// bytes, or writes the error response.
func readGreetingBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	tooLarge := func() {
		writeAPIError(w, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the greeting is larger than the limit of %d bytes", MaxGreetingUpload))
	}
	if r.ContentLength > MaxGreetingUpload {
		tooLarge()
		return nil, false
	}
	wav, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxGreetingUpload))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		tooLarge()
		return nil, false
	case err != nil:
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read: "+err.Error())
		return nil, false
	}
	return wav, true
}

func (h *apiHandler) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeAPIError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+allow)
	}
}

// apiError is the body of an error response, under the key "error".
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]apiError{"error": {Code: code, Message: message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
