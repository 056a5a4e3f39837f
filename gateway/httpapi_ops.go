package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// getHealth reports that the process serves HTTP. It checks nothing else,
// so a supervisor restarts optgate only when it hangs or dies.
func (a *HTTPAPI) getHealth(w http.ResponseWriter, r *http.Request) {
	a.writeJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

// readyResponse is the body of GET /readyz: "ok" or the error of each
// part.
type readyResponse struct {
	Status string            `json:"status,omitempty"`
	Error  *apiError         `json:"error,omitempty"`
	Checks map[string]string `json:"checks"`
}

// getReady reports whether optgate can serve traffic: 200 when every part
// is up, 503 naming the parts that are not.
func (a *HTTPAPI) getReady(w http.ResponseWriter, r *http.Request) {
	out := readyResponse{Status: "ready", Checks: map[string]string{}}
	if a.cfg.Ready == nil {
		a.writeJSON(w, r, http.StatusOK, out)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.ReadyTimeout)
	defer cancel()
	var failing []string
	for part, err := range a.cfg.Ready(ctx) {
		if err != nil {
			out.Checks[part] = err.Error()
			failing = append(failing, part)
		} else {
			out.Checks[part] = "ok"
		}
	}
	if len(failing) == 0 {
		a.writeJSON(w, r, http.StatusOK, out)
		return
	}
	slices.Sort(failing)
	out.Status = ""
	out.Error = apiErrorFor(codeNotReady, "not ready: "+strings.Join(failing, ", "))
	a.writeJSON(w, r, out.Error.status, out)
}

// postReload reloads the configuration. It needs the operator token: a
// reload changes every account's settings, so no account may trigger
// one.
func (a *HTTPAPI) postReload(w http.ResponseWriter, r *http.Request, _ caller) {
	if a.cfg.Reload == nil {
		a.writeError(w, r, apiErrorFor(codeNotImplemented, "this optgate was started without reload support"))
		return
	}
	a.log.Info("configuration reload requested over http")
	if err := a.cfg.Reload(r.Context()); err != nil {
		e := apiErrorFor(codeReloadFailed, "reload failed, the previous configuration stays in use: "+err.Error())
		e.cause = err
		a.writeError(w, r, e)
		return
	}
	a.log.Info("configuration reloaded over http")
	a.writeJSON(w, r, http.StatusOK, map[string]string{"status": "reloaded"})
}
