package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/cybertip"
)

// xmlContentType is what every intake answer carries. The body always declares
// UTF-8 too: one client's decoder fails on any other declared encoding.
const xmlContentType = "application/xml;charset=UTF-8"

// writeResponse answers with a reportResponse document for err (nil means
// success) and the identifiers known so far.
func (s *Server) writeResponse(w http.ResponseWriter, r *http.Request, status int, err error, reportID int64, fileID, hash string) {
	code, desc := cybertip.ResponseCode(err)
	requestInfoFrom(r.Context()).code = code
	body := cybertip.Response{Code: code, Description: desc, ReportID: reportID, FileID: fileID, Hash: hash}.Bytes()
	w.Header().Set("Content-Type", xmlContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeDoneResponse answers /finish, which always uses the reportDoneResponse
// root: several clients reject any other root there, even for errors.
func (s *Server) writeDoneResponse(w http.ResponseWriter, r *http.Request, status int, err error, reportID int64, fileIDs []string) {
	code, desc := cybertip.ResponseCode(err)
	requestInfoFrom(r.Context()).code = code
	body := cybertip.DoneResponse{Code: code, Description: desc, ReportID: reportID, FileIDs: fileIDs}.Bytes()
	w.Header().Set("Content-Type", xmlContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// httpStatus is the HTTP status for an error. Application outcomes are 200
// with a non-zero responseCode, as the real service answers; only faults of
// the hub itself are 5xx, so that clients that retry 5xx retry only what may
// succeed later.
func httpStatus(err error) int {
	switch guardian.ErrorCode(err) {
	case guardian.EINTERNAL:
		return http.StatusInternalServerError
	case guardian.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case guardian.EUNAUTHORIZED:
		return http.StatusUnauthorized
	}
	return http.StatusOK
}

// event starts an audit event for the current request, acted by its
// authenticated reporter.
func (s *Server) event(r *http.Request, action string, cat guardian.AuditCategory) *guardian.AuditEvent {
	ri := requestInfoFrom(r.Context())
	ev := &guardian.AuditEvent{
		Category:   cat,
		Action:     action,
		RequestID:  ri.id,
		ClientAddr: ri.clientAddr,
		Actor:      guardian.Actor{Kind: guardian.ActorReporter},
	}
	if ri.reporter != nil {
		ev.Actor.ID = strconv.FormatInt(ri.reporter.ID, 10)
		ev.Actor.Name = ri.reporter.Name
	}
	return ev
}

// recordFailure appends a failure event for a rejected request. Losing it
// must not hide the rejection from the client, so a store error is logged
// and the request answered anyway.
func (s *Server) recordFailure(r *http.Request, ev *guardian.AuditEvent, reason string) {
	ri := requestInfoFrom(r.Context())
	ev.Outcome = guardian.OutcomeFailure
	ev.Reason = reason
	ev.RequestID = ri.id
	ev.ClientAddr = ri.clientAddr
	// The request's context may already be cancelled (client gone); the
	// record is still owed.
	ctx := context.WithoutCancel(r.Context())
	if err := s.Store.AppendAuditEvent(ctx, ev); err != nil {
		s.Logger.ErrorContext(ctx, "cannot record rejected request", slog.String("action", ev.Action), slog.String(attrRequestID, ri.id), slog.Any(attrError, err))
	}
}

// fail records a rejected operation and answers it in the API's format.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, action string, cat guardian.AuditCategory, err error) {
	s.failReport(w, r, s.event(r, action, cat), err)
}

// failReport records a rejected operation whose event already names the
// report or file, and answers with a reportResponse.
func (s *Server) failReport(w http.ResponseWriter, r *http.Request, ev *guardian.AuditEvent, err error) {
	s.reject(r, ev, err)
	s.writeResponse(w, r, httpStatus(err), err, ev.ReportID, ev.FileID, "")
}

// failFinish is failReport for /finish, which answers with a
// reportDoneResponse whatever the outcome.
func (s *Server) failFinish(w http.ResponseWriter, r *http.Request, ev *guardian.AuditEvent, err error) {
	s.reject(r, ev, err)
	s.writeDoneResponse(w, r, httpStatus(err), err, ev.ReportID, nil)
}

// reject logs a rejected operation and records it with its response code.
func (s *Server) reject(r *http.Request, ev *guardian.AuditEvent, err error) {
	code, _ := cybertip.ResponseCode(err)
	s.logError(r, err)
	s.recordFailure(r, ev, strconv.Itoa(code))
}

// logError logs internal errors in full at ERROR; client mistakes at DEBUG.
func (s *Server) logError(r *http.Request, err error) {
	ri := requestInfoFrom(r.Context())
	if te, ok := asThrottled(err); ok {
		// A client's doing, and under attack a flood: never above DEBUG.
		s.Logger.DebugContext(r.Context(), "sign-in throttled", slog.String(attrRequestID, ri.id), slog.String("path", r.URL.Path), slog.Duration("retry_after", te.wait), slog.Bool("locked", te.locked))
		return
	}
	if guardian.ErrorCode(err) == guardian.EINTERNAL {
		s.Logger.ErrorContext(r.Context(), "request failed", slog.String(attrRequestID, ri.id), slog.String("path", r.URL.Path), slog.Any(attrError, err))
		return
	}
	s.Logger.DebugContext(r.Context(), "request rejected", slog.String(attrRequestID, ri.id), slog.String("path", r.URL.Path), slog.String("code", guardian.ErrorCode(err)), slog.String("message", guardian.ErrorMessage(err)))
}
