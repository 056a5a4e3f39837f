package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Codes of the HTTP API's own errors, which have no SMPP or SIP
// counterpart and so are not in the status table. Like the table's codes
// they never change once released.
const (
	codeInvalidRequest       = Code("invalid_request")
	codeUnauthorized         = Code("unauthorized")
	codeForbidden            = Code("forbidden")
	codeNotFound             = Code("not_found")
	codeMessageNotFound      = Code("message_not_found")
	codeMethodNotAllowed     = Code("method_not_allowed")
	codeBodyTooLarge         = Code("body_too_large")
	codeUnsupportedMediaType = Code("unsupported_media_type")
	codeNotReady             = Code("not_ready")
	codeReloadFailed         = Code("reload_failed")
	codeNotImplemented       = Code("not_implemented")
)

// httpOnlyStatus is the HTTP status of each HTTP-only code.
var httpOnlyStatus = map[Code]int{
	codeInvalidRequest:       http.StatusBadRequest,
	codeUnauthorized:         http.StatusUnauthorized,
	codeForbidden:            http.StatusForbidden,
	codeNotFound:             http.StatusNotFound,
	codeMessageNotFound:      http.StatusNotFound,
	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	codeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	codeNotReady:             http.StatusServiceUnavailable,
	codeReloadFailed:         http.StatusInternalServerError,
	codeNotImplemented:       http.StatusNotImplemented,
}

// apiError is the body of every error response, under the key "error".
type apiError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Field names the request field or query parameter at fault.
	Field string `json:"field,omitempty"`
	// Detail is the cause of an invalid number or message.
	Detail string `json:"detail,omitempty"`
	// Temporary and RetryAfter (seconds) come from the status table.
	Temporary  bool `json:"temporary,omitempty"`
	RetryAfter int  `json:"retry_after,omitempty"`
	// MessageID, Accepted and Segments describe a message the carrier took
	// in part or in full although the request failed.
	MessageID string `json:"message_id,omitempty"`
	Accepted  int    `json:"accepted_segments,omitempty"`
	Segments  int    `json:"segments,omitempty"`
	// CarrierStatus is the carrier's command_status mnemonic.
	CarrierStatus string `json:"carrier_status,omitempty"`

	status int
	// cause is logged, never sent.
	cause error
}

// apiErrorFor returns an error with an HTTP-only code.
func apiErrorFor(code Code, message string) *apiError {
	status, ok := httpOnlyStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &apiError{Code: code, Message: message, status: status}
}

// apiErrorFromStatus returns the error of a status table row.
func apiErrorFromStatus(s Status, cause error) *apiError {
	e := &apiError{Code: s.Code, Message: s.Message, Temporary: s.Temporary, status: s.HTTP, cause: cause}
	if s.RetryAfter > 0 {
		e.RetryAfter = int((s.RetryAfter + time.Second - 1) / time.Second)
	}
	return e
}

// apiErrorFromGateway returns the error response for an error of the MT
// service or the consent engine.
func apiErrorFromGateway(err error) *apiError {
	var ge *Error
	if !errors.As(err, &ge) {
		code := requestCode(err)
		if code == CodeInternal {
			code = storeFailureCode(err)
		}
		return apiErrorFromStatus(StatusFor(code), err)
	}
	e := apiErrorFromStatus(ge.Status(), err)
	if ge.MessageID != "" {
		e.MessageID, e.Accepted, e.Segments = ge.MessageID, ge.Accepted, ge.Segments
	}
	if ge.CarrierStatus != 0 {
		e.CarrierStatus = ge.CarrierStatus.String()
	}
	if (ge.Code == CodeInvalidNumber || ge.Code == CodeInvalidMessage) && ge.Err != nil {
		e.Detail = ge.Err.Error()
	}
	return e
}

// apiErrorFromStore returns the error response for a failed store read
// that sends nothing: 503 store_unavailable when StoreTemporary holds,
// else 500 internal_error.
func apiErrorFromStore(err error) *apiError {
	e := apiErrorFromStatus(StatusFor(storeFailureCode(err)), err)
	if e.Code == CodeStoreUnavailable {
		e.Message = "the store did not answer; try again later"
	}
	return e
}

// writeError sends e as {"error": e} with its HTTP status, and logs it:
// internal errors at error level, other server-side errors at warn level
// and client errors at debug level.
func (a *HTTPAPI) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	if e.status == http.StatusUnauthorized {
		// RFC 6750 section 3: invalid_token only when a token was sent.
		challenge := `Bearer realm="optgate"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		h.Set("WWW-Authenticate", challenge)
	}
	a.writeJSON(w, r, e.status, struct {
		Error *apiError `json:"error"`
	}{e})

	switch {
	case e.Code == CodeInternal || e.Code == codeReloadFailed:
		a.log.Error("http request failed",
			zap.String("route", routeOf(r)),
			zap.String("code", string(e.Code)),
			zap.String("message_id", e.MessageID),
			zap.Error(e.cause))
	case e.status >= 500:
		a.log.Warn("http request not served",
			zap.String("route", routeOf(r)),
			zap.String("code", string(e.Code)),
			zap.Error(e.cause))
	default:
		if ce := a.log.Check(zap.DebugLevel, "http request rejected"); ce != nil {
			ce.Write(zap.String("route", routeOf(r)), zap.String("code", string(e.Code)),
				zap.String("message", e.Message))
		}
	}
}

// writeJSON sends v as the JSON body with the status. Every JSON response
// is marked not to be stored by any cache (RFC 9111 section 5.2.2.5),
// because consent records, evidence and account data are subscriber data.
func (a *HTTPAPI) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.log.Error("encode http response failed", zap.String("route", routeOf(r)), zap.Error(err))
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal_error","message":"the response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// routeOf returns the matched pattern, or the path when none matched.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method + " " + r.URL.Path
}

// decodeJSON reads a request body of one JSON object into dst, strictly:
// unknown fields, field names in another case, repeated fields, unpaired
// surrogate escapes, trailing data and bodies over the size limit are
// errors that name the problem.
func (a *HTTPAPI) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) *apiError {
	if e := checkContentType(r, "application/json"); e != nil {
		return e
	}
	if r.ContentLength > a.cfg.MaxBodyBytes {
		return bodyTooLarge(a.cfg.MaxBodyBytes)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		return a.jsonError(err)
	}
	if e := checkJSONBody(data, dst); e != nil {
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return a.jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return a.jsonError(err)
		}
		return apiErrorFor(codeInvalidRequest, "the body must contain exactly one JSON object")
	}
	return nil
}

// jsonError turns a decoding error into the response that names the
// problem.
func (a *HTTPAPI) jsonError(err error) *apiError {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return bodyTooLarge(tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return apiErrorFor(codeInvalidRequest, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apiErrorFor(codeInvalidRequest, "the JSON body ends before the object is complete")
	case errors.As(err, &syntax):
		return apiErrorFor(codeInvalidRequest, fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, err))
	case errors.As(err, &wrongType) && wrongType.Field != "":
		return fieldError(wrongType.Field, fmt.Sprintf("field %s must be %s, not a JSON %s", wrongType.Field,
			jsonKind(wrongType.Type.Kind().String()), wrongType.Value))
	case errors.As(err, &wrongType):
		return apiErrorFor(codeInvalidRequest, "the body must be a JSON object, not a JSON "+wrongType.Value)
	}
	// encoding/json (Go 1.26) reports an unknown field only in its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return fieldError(name, fmt.Sprintf("unknown field %q", name))
	}
	return apiErrorFor(codeInvalidRequest, "invalid JSON body: "+err.Error())
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case kind == "uint8":
		return "a whole number from 0 to 255"
	case strings.HasPrefix(kind, "uint"):
		return "a whole number of 0 or more"
	case strings.HasPrefix(kind, "int"):
		return "a whole number"
	case kind == "bool":
		return "true or false"
	}
	return "a " + kind
}

func bodyTooLarge(limit int64) *apiError {
	return apiErrorFor(codeBodyTooLarge, fmt.Sprintf("the request body is larger than the limit of %d bytes", limit))
}

// checkContentType accepts a request whose Content-Type is want or is
// missing.
func checkContentType(r *http.Request, want ...string) *apiError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	media, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, w := range want {
			if media == w {
				return nil
			}
		}
	}
	return apiErrorFor(codeUnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not accepted here; send %s", ct, strings.Join(want, " or ")))
}
