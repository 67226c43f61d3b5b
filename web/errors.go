package web

import (
	"net/http"
	"net/url"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// problemView is an error as the error page shows it.
type problemView struct {
	Status    int
	Key       string // the translated headline's key
	Message   string // the services' own sentence (English), as detail
	RequestID string
}

// sessionReasons are the errors that send the person to the sign-in page,
// with the reason shown there.
var sessionReasons = map[string]bool{
	"": true, "session-ended": true, "session-locked": true, "session-expired": true, "organisation-removed": true,
}

// writeProblem answers an error of a page: a request without a valid
// session goes to the sign-in page (saying why); anything else is an
// error page in the person's language with the services' detail, and
// htmx requests get only the message, for the page's notice area.
func (h *Handler) writeProblem(w http.ResponseWriter, r *http.Request, c *api.Call, p api.Problem) {
	if p.Status == http.StatusUnauthorized && c.User() == nil && sessionReasons[p.Reason] {
		to := "/signin"
		if p.Reason != "" {
			to += "?reason=" + url.QueryEscape(p.Reason)
		}
		redirect(w, r, to)
		return
	}
	v := problemView{Status: p.Status, Key: problemKey(p), Message: p.Message, RequestID: p.RequestID}
	pg := h.newPage(r, c, msg("error.title"), v)
	if r.Header.Get("HX-Request") == "true" {
		// htmx swaps only 2xx answers by default; the notice area is
		// told to take this one (static/guardian.js).
		w.Header().Set("HX-Retarget", "#notice")
		w.Header().Set("HX-Reswap", "innerHTML")
		if err := h.renderBlock(w, http.StatusOK, "error", "problem", pg); err == nil {
			return
		}
	}
	if err := h.render(w, r, p.Status, "error", pg); err != nil {
		h.Logger.ErrorContext(r.Context(), "cannot render the error page", "error", err)
		http.Error(w, p.Message, p.Status)
	}
}

// problemKey is the headline of an error: by its reason where the
// catalogue has one, else by its code.
func problemKey(p api.Problem) string {
	if k, ok := reasonKeys[p.Reason]; ok {
		return k
	}
	if k, ok := codeKeys[p.Code]; ok {
		return k
	}
	return msg("problem.code.internal")
}

var reasonKeys = map[string]string{
	"locked": msg("problem.reason.locked"), "disabled": msg("problem.reason.disabled"), "mfa-reset": msg("problem.reason.mfa-reset"),
	"code-used": msg("problem.reason.code-used"), "csrf": msg("problem.reason.csrf"), "throttled": msg("problem.reason.throttled"),
	"busy": msg("problem.reason.busy"), "justification": msg("problem.reason.justification"), "vetting": msg("problem.reason.vetting"),
	"training": msg("problem.reason.training"), "vetting-and-training": msg("problem.reason.vetting-and-training"),
	"scope": msg("problem.reason.scope"), "file-locked": msg("problem.reason.file-locked"), "state": msg("problem.reason.state"),
	"assignee": msg("problem.reason.assignee"),
}

var codeKeys = map[string]string{
	guardian.ENOTFOUND: msg("problem.code.notfound"), guardian.EINVALID: msg("problem.code.invalid"),
	guardian.EFORBIDDEN: msg("problem.code.forbidden"), guardian.EUNAUTHORIZED: msg("problem.code.unauthorized"),
	guardian.ECONFLICT: msg("problem.code.conflict"), guardian.EUNAVAILABLE: msg("problem.code.unavailable"),
}

// notFound is the page of a path that is no page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	return errNoPage
}

var errNoPage = guardian.Errorf(guardian.ENOTFOUND, "No such page.")
