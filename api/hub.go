package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// The hub's side: the analysts' queue, confirming held referrals, a
// report's priority and agencies, and the supervisors' board. A hub
// analyst's decision that discloses a report (confirming, adding an
// agency) needs a justification, as opening content does; these take it in
// the JSON body, since they are POSTs.

type justified struct {
	CaseNumber string `json:"caseNumber,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

type QueueView struct {
	Queue []*guardian.QueueEntry `json:"queue"`
	Held  []ReferralView         `json:"held"`
}

// maxQueue bounds the queue entries and held referrals one answer lists.
const maxQueue = 500

func (h *Handler) handleQueue(w http.ResponseWriter, r *http.Request, c *Call) error {
	out, err := h.Queue(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Queue returns the analysts' queue: reports waiting on a person, and
// the referrals held for confirmation.
func (h *Handler) Queue(ctx context.Context, c *Call) (QueueView, error) {
	// The queue is for those who act on it: whoever may override routing.
	if _, err := c.caller.Authorize(access.Request{Action: access.OverrideRouting}); err != nil {
		h.recordRefusal(ctx, c, access.OverrideRouting, "queue", 0, err)
		return QueueView{}, err
	}
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		return QueueView{}, err
	}
	entries, err := h.Routing.FindAnalystQueue(ctx, maxQueue)
	if err != nil {
		return QueueView{}, err
	}
	held := true
	q := (&listFilters{states: []guardian.ReferralState{guardian.ReferralNew}, limit: maxQueue}).query(aq)
	q.Held = &held
	rows, _, err := h.Delivery.ListReferrals(ctx, q)
	if err != nil {
		return QueueView{}, err
	}
	out := QueueView{Queue: entries, Held: []ReferralView{}}
	if out.Queue == nil {
		out.Queue = []*guardian.QueueEntry{}
	}
	for _, ref := range rows {
		if c.caller.CanSee(ref, ref.Escalated()) {
			out.Held = append(out.Held, viewOf(c, ref))
		}
	}
	return out, nil
}

func (h *Handler) handleConfirm(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req justified
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := h.Confirm(r.Context(), c, PathID(r, "id"), guardian.Justification{CaseNumber: req.CaseNumber, Reason: req.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Confirm delivers a referral held for an analyst's confirmation.
func (h *Handler) Confirm(ctx context.Context, c *Call, id int64, j guardian.Justification) (ReferralView, error) {
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.ConfirmReferral})
	if err != nil {
		return ReferralView{}, err
	}
	if err := j.Validate(); err != nil {
		return ReferralView{}, err
	}
	ev := referralEvent(c, ref, guardian.CategoryDisclosure, "referral.confirm")
	ev.Justification = j.String()
	ev.Recipients = []string{ref.AgencyID}
	ref, err = h.Delivery.ConfirmReferral(ctx, ref.ID, ev)
	if err != nil {
		return ReferralView{}, err
	}
	// The analyst has decided the report's last held referral: it no
	// longer waits in the queue.
	if err := h.resolveIfDecided(ctx, c, ref.ReportID, j); err != nil {
		return ReferralView{}, err
	}
	return viewOf(c, ref), nil
}

// resolveIfDecided takes a report out of the analysts' queue when none of
// its referrals is held any more.
func (h *Handler) resolveIfDecided(ctx context.Context, c *Call, reportID int64, j guardian.Justification) error {
	refs, err := h.Routing.FindReferrals(ctx, reportID)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.HeldForConfirmation && r.State == guardian.ReferralNew {
			return nil
		}
	}
	if err := h.resolve(ctx, c, reportID, j); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return err
	}
	return nil
}

// resolve takes a report out of the analysts' queue; a report not in it
// (or no longer) is ENOTFOUND.
func (h *Handler) resolve(ctx context.Context, c *Call, reportID int64, j guardian.Justification) error {
	ev := reportEvent(c, reportID, guardian.CategoryAlteration, "queue.resolve")
	ev.Justification = j.String()
	return h.Routing.ResolveQueueEntry(ctx, reportID, ev)
}

func (h *Handler) handleResolve(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req justified
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.ResolveQueueEntry(r.Context(), c, PathID(r, "id"), guardian.Justification{CaseNumber: req.CaseNumber, Reason: req.Reason}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ResolveQueueEntry takes a report out of the analysts' queue: the
// analyst has handled it. A report not in the queue (or no longer) is
// left as it is; the act is recorded either way.
func (h *Handler) ResolveQueueEntry(ctx context.Context, c *Call, reportID int64, j guardian.Justification) error {
	if _, err := h.reportAccess(ctx, c, access.OverrideRouting, reportID); err != nil {
		return err
	}
	if err := j.Validate(); err != nil {
		return err
	}
	err := h.resolve(ctx, c, reportID, j)
	if guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return err
	}
	// A report already out of the queue stays out; the analyst's act is
	// recorded all the same, saying so.
	ev := reportEvent(c, reportID, guardian.CategoryAlteration, "queue.resolve")
	ev.Justification, ev.Reason = j.String(), "not in the queue"
	return h.Store.AppendAuditEvent(ctx, ev)
}

type priorityRequest struct {
	Priority guardian.Priority `json:"priority"`
	justified
}

type ReportReferrals struct {
	ReportID  int64          `json:"reportId"`
	Referrals []ReferralView `json:"referrals"`
}

// reportAccess decides a hub action on a whole report. Access decides on
// referrals; the hub's roles see every referral whatever it is, so the
// report's first referral stands for it, and a report without any (in
// the analysts' queue, or unknown) by a held one of its id. An unknown
// report is then not found.
func (h *Handler) reportAccess(ctx context.Context, c *Call, action access.Action, reportID int64) ([]*guardian.Referral, error) {
	var refs []*guardian.Referral
	exists := false
	if reportID > 0 {
		var err error
		if refs, err = h.Routing.FindReferrals(ctx, reportID); err != nil {
			return nil, err
		}
		exists = len(refs) > 0
		if !exists {
			if _, err := h.Routing.FindReportAssessment(ctx, reportID); err == nil {
				exists = true
			} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
				return nil, err
			}
		}
	}
	req := access.Request{Action: action}
	if action == access.ChangePriority {
		req.Referral = &guardian.Referral{ReportID: reportID, State: guardian.ReferralNew, HeldForConfirmation: true}
		if len(refs) > 0 {
			req.Referral = refs[0]
		}
	}
	if _, err := c.caller.Authorize(req); err != nil {
		h.recordRefusal(ctx, c, action, "report", reportID, err)
		return nil, err
	}
	if !exists {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "No such report.")
	}
	return refs, nil
}

func reportEvent(c *Call, reportID int64, cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	ev := c.event(cat, action)
	ev.ObjectKind, ev.ObjectID, ev.ReportID = "report", strconv.FormatInt(reportID, 10), reportID
	return ev
}

func (h *Handler) handlePriority(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req priorityRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	out, err := h.ChangePriority(r.Context(), c, PathID(r, "id"), req.Priority, guardian.Justification{CaseNumber: req.CaseNumber, Reason: req.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ChangePriority sets a report's priority, moving its referrals'
// deadlines.
func (h *Handler) ChangePriority(ctx context.Context, c *Call, reportID int64, priority guardian.Priority, j guardian.Justification) (ReportReferrals, error) {
	p, err := guardian.ParsePriority(string(priority))
	if err != nil {
		return ReportReferrals{}, guardian.Errorf(guardian.EINVALID, "A priority is 1, 2, 3 or E.")
	}
	if _, err := h.reportAccess(ctx, c, access.ChangePriority, reportID); err != nil {
		return ReportReferrals{}, err
	}
	if err := j.Validate(); err != nil {
		return ReportReferrals{}, err
	}
	ev := reportEvent(c, reportID, guardian.CategoryAlteration, "report.priority")
	ev.Justification = j.String()
	n := c.network
	ackWithin := func(agencyID string) (time.Duration, bool) {
		ag, ok := n.AgreementOf(agencyID)
		if !ok {
			return 0, false
		}
		return ag.AcknowledgeDeadline(string(p))
	}
	changed, err := h.Delivery.ChangeReportPriority(ctx, reportID, p, ackWithin, ev)
	if err != nil {
		return ReportReferrals{}, err
	}
	out := ReportReferrals{ReportID: reportID, Referrals: []ReferralView{}}
	for _, ref := range changed {
		out.Referrals = append(out.Referrals, viewOf(c, ref))
	}
	return out, nil
}

type agencyRequest struct {
	AgencyID string                  `json:"agencyId"`
	Action   guardian.OverrideAction `json:"action"`
	justified
}

func (h *Handler) handleAgencies(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req agencyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	out, err := h.OverrideAgency(r.Context(), c, PathID(r, "id"), req.AgencyID, req.Action, guardian.Justification{CaseNumber: req.CaseNumber, Reason: req.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// OverrideAgency adds an agency to a report's routing, withdraws one, or
// clears an earlier override, then routes the report again.
func (h *Handler) OverrideAgency(ctx context.Context, c *Call, reportID int64, agencyID string, action guardian.OverrideAction, j guardian.Justification) (ReportReferrals, error) {
	if !action.Valid() {
		return ReportReferrals{}, guardian.Errorf(guardian.EINVALID, "action is add, withdraw or clear.")
	}
	if _, ok := c.network.Agency(agencyID); !ok {
		return ReportReferrals{}, guardian.Errorf(guardian.EINVALID, "Agency %q is not in the network.", guardian.Clip(agencyID, 60))
	}
	if _, err := h.reportAccess(ctx, c, access.OverrideRouting, reportID); err != nil {
		return ReportReferrals{}, err
	}
	if err := j.Validate(); err != nil {
		return ReportReferrals{}, err
	}
	ev := reportEvent(c, reportID, guardian.CategoryAlteration, "routing.override")
	ev.Reason = string(action)
	ev.Justification = j.String()
	o := &guardian.RoutingOverride{ReportID: reportID, AgencyID: agencyID, Action: action, Actor: actorLabel(c.actor)}
	if err := h.Routing.AddRoutingOverride(ctx, o, ev); err != nil {
		return ReportReferrals{}, err
	}
	if err := h.Reroute(ctx, reportID, c.actor, j.String()); err != nil {
		return ReportReferrals{}, fmt.Errorf("route report %d again after an override: %w", reportID, err)
	}
	// Access was decided above; only the referrals as routed now remain.
	refs, err := h.Routing.FindReferrals(ctx, reportID)
	if err != nil {
		return ReportReferrals{}, err
	}
	return reportReferralsOf(c, reportID, refs), nil
}

// ReportReferrals returns every referral of a report, for the hub.
func (h *Handler) ReportReferrals(ctx context.Context, c *Call, reportID int64) (ReportReferrals, error) {
	refs, err := h.reportAccess(ctx, c, access.OverrideRouting, reportID)
	if err != nil {
		return ReportReferrals{}, err
	}
	return reportReferralsOf(c, reportID, refs), nil
}

func reportReferralsOf(c *Call, reportID int64, refs []*guardian.Referral) ReportReferrals {
	out := ReportReferrals{ReportID: reportID, Referrals: []ReferralView{}}
	for _, ref := range refs {
		out.Referrals = append(out.Referrals, viewOf(c, ref))
	}
	return out
}

type BoardView struct {
	ReferralList
	Counts map[guardian.ReferralState]int `json:"counts"`
}

func (h *Handler) handleBoard(w http.ResponseWriter, r *http.Request, c *Call) error {
	out, err := h.Board(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Board returns the supervisors' board: a page of every referral the
// caller may see, with the counts by state, filtered by the parameters
// of GET /hub/board.
func (h *Handler) Board(ctx context.Context, c *Call, params url.Values) (BoardView, error) {
	if _, err := c.caller.Authorize(access.Request{Action: access.ViewBoard}); err != nil {
		h.recordRefusal(ctx, c, access.ViewBoard, "board", 0, err)
		return BoardView{}, err
	}
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		return BoardView{}, err
	}
	f, err := parseFilters(params, "board", true)
	if err != nil {
		return BoardView{}, err
	}
	q := f.query(aq)
	return h.boardPage(ctx, c, f, "board", q)
}

// boardPage lists one page of a board's query and counts its referrals
// by state.
func (h *Handler) boardPage(ctx context.Context, c *Call, f *listFilters, list string, q guardian.ReferralQuery) (BoardView, error) {
	out, err := h.page(ctx, c, f, list, q)
	if err != nil {
		return BoardView{}, err
	}
	counts, err := h.Delivery.CountReferrals(ctx, q)
	if err != nil {
		return BoardView{}, err
	}
	if counts == nil {
		counts = map[guardian.ReferralState]int{}
	}
	return BoardView{ReferralList: out, Counts: counts}, nil
}
