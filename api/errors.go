package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
)

// errorBody is the one form of every error answer:
//
//	{"error": {"code": "notfound", "reason": "not-found",
//	           "message": "No such referral.", "requestId": "…"}}
//
// code is a guardian error code (error.go), reason an access.Reason or one
// of this package's (csrf, throttled, busy, session-locked,
// session-expired) when there is one, and message a sentence for the
// person. The HTTP status follows the code (see statusOf).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// apiError is an error of the API itself with its own status: throttling,
// overload, CSRF, session ends.
type apiError struct {
	status     int
	code       string
	reason     string
	msg        string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return "api: " + e.code + " (" + e.reason + "): " + e.msg }

var (
	errBusy = &apiError{status: http.StatusServiceUnavailable, code: guardian.EUNAVAILABLE, reason: "busy",
		msg: "The hub is busy; retry in a moment.", retryAfter: time.Second}
	errCallerBusy = &apiError{status: http.StatusTooManyRequests, code: guardian.EUNAVAILABLE, reason: "throttled",
		msg: "Too many of your requests at once; wait for one to finish.", retryAfter: time.Second}
)

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	switch guardian.ErrorCode(err) {
	case guardian.EINVALID, guardian.EMALFORMED, guardian.EVALIDATION:
		return http.StatusBadRequest
	case guardian.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case guardian.EFORBIDDEN:
		return http.StatusForbidden
	case guardian.ENOTFOUND, guardian.EREPORTNOTFOUND, guardian.EFILENOTFOUND:
		return http.StatusNotFound
	case guardian.ECONFLICT, guardian.EFINISHED, guardian.ERETRACTED:
		return http.StatusConflict
	case guardian.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers err in the one error form. Internal errors are logged
// in full and shown as "Internal error."
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, c *Call, err error) {
	p := h.problem(r, c, err)
	setRetryAfter(w, p)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="guardian"`)
	}
	writeJSON(w, p.Status, errorBody{Error: errorDetail{Code: p.Code, Reason: p.Reason, Message: p.Message, RequestID: p.RequestID}})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error: every value sent is a plain struct.
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"Internal error.","requestId":""}}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeJSON reads the request body, one JSON object of the documented
// fields only, into v.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return guardian.Errorf(guardian.EINVALID, "Send the request body as application/json.")
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var mbe *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return guardian.Errorf(guardian.EINVALID, "The request needs a JSON body.")
		}
		return guardian.Errorf(guardian.EINVALID, "The request body is not the JSON this endpoint takes: %s.", guardian.Clip(err.Error(), 160))
	}
	// Anything but space after the value, even a stray bracket, is refused.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errors.As(err, &mbe) {
			return err
		}
		return guardian.Errorf(guardian.EINVALID, "The request body holds more than one JSON value.")
	}
	return nil
}

// setRetryAfter tells the client when to try again, if that helps.
func setRetryAfter(w http.ResponseWriter, p Problem) {
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(p.RetryAfter.Round(time.Second)/time.Second))))
	}
}
