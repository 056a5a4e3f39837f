package smscsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/optgate/optgate/smpp"
)

const (
	// controlReadTimeout bounds reading a control request's headers.
	controlReadTimeout = 10 * time.Second
	// maxControlBody is the largest control request body read, in bytes.
	maxControlBody = 1 << 20
	// injectTimeout bounds an injection requested over HTTP when the
	// client sets no deadline of its own.
	injectTimeout = 30 * time.Second
)

// InjectRequest is the body of POST /inject.
type InjectRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
	// DataCoding is the data_coding to send; absent picks the smallest.
	DataCoding *uint8 `json:"data_coding,omitempty"`
	// Split is udh (the default), udh16, sar or payload.
	Split string `json:"split,omitempty"`
	// SystemID picks the bound session; absent takes any receiver.
	SystemID string `json:"system_id,omitempty"`
}

// InjectResponse is the body of a successful POST /inject: the
// command_status of the ESME's deliver_sm_resp.
type InjectResponse struct {
	Status     smpp.CommandStatus `json:"status"`
	StatusName string             `json:"status_name"`
}

// errorResponse is the body of every failed control request.
type errorResponse struct {
	Error string `json:"error"`
}

// behaviourState is the body of GET and POST /behaviour responses.
type behaviourState struct {
	behaviourJSON
	Rules []ruleJSON `json:"rules"`
}

// behaviourRequest is the body of POST /behaviour. Fields absent keep
// their value. rules, when present, replaces every rule; add_rules appends
// rules after them.
type behaviourRequest struct {
	behaviourJSON
	Rules    *[]ruleJSON `json:"rules"`
	AddRules []ruleJSON  `json:"add_rules"`
}

// Handler returns the HTTP control endpoint:
//
//	GET    /healthz    200 {"status":"ok","bound_sessions":N}
//	POST   /inject     inject an MO, body InjectRequest; 200 InjectResponse,
//	                   503 when no receiver is bound, 502 when the ESME
//	                   sent no response
//	GET    /messages   the messages submitted, a JSON array of Message
//	DELETE /messages   forget the messages and PDUs recorded (Reset)
//	GET    /behaviour  the behaviour and rules in force
//	POST   /behaviour  change them: a JSON object with any behaviour field
//	                   (response_id_format, receipt_id_format,
//	                   receipt_delay, receipt_first, receipt_state,
//	                   receipt_err, network_error_code,
//	                   receipt_copy_data_coding, receipt_no_tlvs,
//	                   throttle), "rules" to replace the rules and
//	                   "add_rules" to append some
//
// A rule in JSON has destination, text_contains, after, count, status,
// delay, drop, receipt_state and network_error_code. Errors come back as
// {"error": "..."} with status 400 for a bad request.
func (sim *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", sim.serveHealthz)
	mux.HandleFunc("POST /inject", sim.serveInject)
	mux.HandleFunc("GET /messages", sim.serveMessages)
	mux.HandleFunc("DELETE /messages", sim.serveReset)
	mux.HandleFunc("GET /behaviour", sim.serveBehaviour)
	mux.HandleFunc("POST /behaviour", sim.serveSetBehaviour)
	return mux
}

func (sim *Simulator) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "bound_sessions": len(sim.Sessions())})
}

func (sim *Simulator) serveInject(w http.ResponseWriter, r *http.Request) {
	var req InjectRequest
	if !readJSON(w, r, &req) {
		return
	}
	mo, err := req.mo()
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, injectTimeout)
		defer cancel()
	}
	status, err := sim.Inject(ctx, mo)
	switch {
	case errors.Is(err, ErrNoReceiver):
		writeError(w, http.StatusServiceUnavailable, err)
	case err != nil && isEncodeError(err):
		writeError(w, http.StatusBadRequest, err)
	case err != nil:
		writeError(w, http.StatusBadGateway, err)
	default:
		writeJSON(w, http.StatusOK, InjectResponse{Status: status, StatusName: status.String()})
	}
}

// isEncodeError reports whether an Inject error is about the text, not
// the link.
func isEncodeError(err error) bool {
	var te *smpp.TextEncodeError
	return errors.As(err, &te) || errors.Is(err, smpp.ErrTooManySegments) ||
		errors.Is(err, smpp.ErrUnsupportedCoding)
}

// mo converts the request into an MO.
func (req InjectRequest) mo() (MO, error) {
	split, err := ParseSplitMode(req.Split)
	if err != nil {
		return MO{}, err
	}
	if req.From == "" || req.To == "" {
		return MO{}, errors.New("from and to are required")
	}
	mo := MO{From: req.From, To: req.To, Text: req.Text, Split: split, SystemID: req.SystemID}
	if req.DataCoding != nil {
		mo.DataCoding = smpp.DataCoding(*req.DataCoding)
	}
	return mo, nil
}

func (sim *Simulator) serveMessages(w http.ResponseWriter, _ *http.Request) {
	msgs := sim.Messages()
	if msgs == nil {
		msgs = []Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (sim *Simulator) serveReset(w http.ResponseWriter, _ *http.Request) {
	sim.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (sim *Simulator) serveBehaviour(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, sim.behaviourState())
}

func (sim *Simulator) behaviourState() behaviourState {
	st := behaviourState{behaviourJSON: behaviourToJSON(sim.Behaviour()), Rules: []ruleJSON{}}
	for _, r := range sim.Rules() {
		st.Rules = append(st.Rules, ruleToJSON(r))
	}
	return st
}

func (sim *Simulator) serveSetBehaviour(w http.ResponseWriter, r *http.Request) {
	// The request patches the current behaviour, so no other change may
	// come between reading it and setting the result.
	sim.updateMu.Lock()
	defer sim.updateMu.Unlock()
	req := behaviourRequest{behaviourJSON: behaviourToJSON(sim.Behaviour())}
	if !readJSON(w, r, &req) {
		return
	}
	b, err := req.behaviourJSON.behaviour()
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := b.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var rules, added []Rule
	if req.Rules != nil {
		if rules, err = decodeRules("rules", *req.Rules); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	if added, err = decodeRules("add_rules", req.AddRules); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}

	// Every value was validated above, so the calls below return no error
	// and the change is never half done.
	_ = sim.setBehaviour(b)
	if req.Rules != nil {
		_ = sim.SetRules(rules)
	}
	for _, rule := range added {
		_ = sim.AddRule(rule)
	}
	writeJSON(w, http.StatusOK, sim.behaviourState())
}

func decodeRules(field string, in []ruleJSON) ([]Rule, error) {
	out := make([]Rule, 0, len(in))
	for i, j := range in {
		rule, err := j.rule()
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, rule)
	}
	return out, nil
}

// readJSON decodes the request body into v, rejecting unknown fields, and
// writes a 400 response when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("reading the body: %w", err))
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("invalid JSON body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// An encode error means the client went away after the status line was
	// sent, so the error cannot reach it.
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorResponse{Error: err.Error()})
}
