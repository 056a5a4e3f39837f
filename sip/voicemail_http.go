package sip

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// AuthFunc returns the account an HTTP request acts for. An error gets a
// 401 response with the error's text.
type AuthFunc func(r *http.Request) (account string, err error)

// voicemailView is a voicemail in the HTTP API.
type voicemailView struct {
	ID       string    `json:"id"`
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

// voicemailHandler serves GET /v1/voicemails and GET /v1/voicemails/{id}.
type voicemailHandler struct {
	store VoicemailStore
	auth  AuthFunc
	log   *zap.Logger
	mux   *http.ServeMux
}

// NewVoicemailHandler returns the HTTP handler of the voicemail API,
// scoped to the account auth returns:
//
//   - GET /v1/voicemails lists the account's voicemails, newest first, as
//     {"voicemails": [...]}.
//   - GET /v1/voicemails/{id} downloads one as audio/wav, with range
//     requests.
//
// The caller mounts it on both paths. Errors are {"error": {"code",
// "message"}} with the HTTP API's codes. logger may be nil.
func NewVoicemailHandler(store VoicemailStore, auth AuthFunc, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	h := &voicemailHandler{store: store, auth: auth, log: logger.Named("voicemail"), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/voicemails", h.list)
	h.mux.HandleFunc("GET /v1/voicemails/{id}", h.download)
	h.mux.HandleFunc("/v1/voicemails", h.methodNotAllowed)
	h.mux.HandleFunc("/v1/voicemails/{id}", h.methodNotAllowed)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *voicemailHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func (h *voicemailHandler) account(w http.ResponseWriter, r *http.Request) (string, bool) {
	account, err := h.auth(r)
	if err != nil || account == "" {
		msg := "not authenticated"
		if err != nil {
			msg = err.Error()
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="optgate"`)
		writeAPIError(w, http.StatusUnauthorized, "unauthorized", msg)
		return "", false
	}
	return account, true
}

func (h *voicemailHandler) list(w http.ResponseWriter, r *http.Request) {
	account, ok := h.account(w, r)
	if !ok {
		return
	}
	vms, err := h.store.List(r.Context(), account)
	if err != nil {
		h.log.Error("list voicemails failed", zap.String("account", account), zap.Error(err))
		writeAPIError(w, http.StatusInternalServerError, "internal_error", "voicemails could not be read")
		return
	}
	out := struct {
		Voicemails []voicemailView `json:"voicemails"`
	}{Voicemails: make([]voicemailView, 0, len(vms))}
	for _, vm := range vms {
		out.Voicemails = append(out.Voicemails, voicemailView{
			ID: vm.ID, From: vm.From, To: vm.To, CallID: vm.CallID, Received: vm.Received,
			DurationSeconds: vm.Duration.Seconds(), Size: vm.Size, URL: "/v1/voicemails/" + vm.ID,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *voicemailHandler) download(w http.ResponseWriter, r *http.Request) {
	account, ok := h.account(w, r)
	if !ok {
		return
	}
	vm, file, err := h.store.Open(r.Context(), account, r.PathValue("id"))
	if errors.Is(err, ErrVoicemailNotFound) {
		writeAPIError(w, http.StatusNotFound, "not_found", "the account has no voicemail with this id")
		return
	}
	if err != nil {
		h.log.Error("open voicemail failed", zap.String("account", account), zap.Error(err))
		writeAPIError(w, http.StatusInternalServerError, "internal_error", "the voicemail could not be read")
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+vm.ID+`.wav"`)
	http.ServeContent(w, r, vm.ID+".wav", vm.Received, file)
}

func (h *voicemailHandler) methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	writeAPIError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
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
