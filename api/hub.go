package api

import (
	"context"
	"fmt"
	"net/http"
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

func (j justified) justification() (guardian.Justification, error) {
	js := guardian.Justification{CaseNumber: j.CaseNumber, Reason: j.Reason}
	return js, js.Validate()
}

type queueView struct {
	Queue []*guardian.QueueEntry `json:"queue"`
	Held  []referralView         `json:"held"`
}

// maxQueue bounds the queue entries and held referrals one answer lists.
const maxQueue = 500

func (h *Handler) handleQueue(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	// The queue is for those who act on it: whoever may override routing.
	if _, err := c.caller.Authorize(access.Request{Action: access.OverrideRouting}); err != nil {
		h.recordRefusal(ctx, c, access.OverrideRouting, "queue", 0, err)
		return err
	}
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		return err
	}
	entries, err := h.Routing.FindAnalystQueue(ctx, maxQueue)
	if err != nil {
		return err
	}
	held := true
	q := (&listFilters{states: []guardian.ReferralState{guardian.ReferralNew}, limit: maxQueue}).query(aq)
	q.Held = &held
	rows, _, err := h.Delivery.ListReferrals(ctx, q)
	if err != nil {
		return err
	}
	out := queueView{Queue: entries, Held: []referralView{}}
	if out.Queue == nil {
		out.Queue = []*guardian.QueueEntry{}
	}
	for _, ref := range rows {
		if c.caller.CanSee(ref, ref.Escalated()) {
			out.Held = append(out.Held, viewOf(c, ref))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) handleConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	var req justified
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ref, err := h.referral(ctx, r, c, access.Request{Action: access.ConfirmReferral})
	if err != nil {
		return err
	}
	j, err := req.justification()
	if err != nil {
		return err
	}
	ev := referralEvent(c, ref, guardian.CategoryDisclosure, "referral.confirm")
	ev.Justification = j.String()
	ev.Recipients = []string{ref.AgencyID}
	ref, err = h.Delivery.ConfirmReferral(ctx, ref.ID, ev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(c, ref))
	return nil
}

type priorityRequest struct {
	Priority guardian.Priority `json:"priority"`
	justified
}

type reportReferrals struct {
	ReportID  int64          `json:"reportId"`
	Referrals []referralView `json:"referrals"`
}

// reportAccess decides a hub action on a whole report. Access decides on
// referrals; the hub's roles see every referral whatever it is, so the
// report's first referral stands for it, and a report without any (in
// the analysts' queue, or unknown) by a held one of its id. An unknown
// report is then not found.
func (h *Handler) reportAccess(ctx context.Context, c *call, action access.Action, reportID int64) ([]*guardian.Referral, error) {
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

func reportEvent(c *call, reportID int64, cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	ev := c.event(cat, action)
	ev.ObjectKind, ev.ObjectID, ev.ReportID = "report", strconv.FormatInt(reportID, 10), reportID
	return ev
}

func (h *Handler) handlePriority(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	var req priorityRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := guardian.ParsePriority(string(req.Priority))
	if err != nil {
		return guardian.Errorf(guardian.EINVALID, "A priority is 1, 2, 3 or E.")
	}
	reportID := pathID(r, "id")
	if _, err := h.reportAccess(ctx, c, access.ChangePriority, reportID); err != nil {
		return err
	}
	j, err := req.justification()
	if err != nil {
		return err
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
		return err
	}
	out := reportReferrals{ReportID: reportID, Referrals: []referralView{}}
	for _, ref := range changed {
		out.Referrals = append(out.Referrals, viewOf(c, ref))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type agencyRequest struct {
	AgencyID string                  `json:"agencyId"`
	Action   guardian.OverrideAction `json:"action"`
	justified
}

func (h *Handler) handleAgencies(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	var req agencyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !req.Action.Valid() {
		return guardian.Errorf(guardian.EINVALID, "action is add, withdraw or clear.")
	}
	if _, ok := c.network.Agency(req.AgencyID); !ok {
		return guardian.Errorf(guardian.EINVALID, "Agency %q is not in the network.", guardian.Clip(req.AgencyID, 60))
	}
	reportID := pathID(r, "id")
	if _, err := h.reportAccess(ctx, c, access.OverrideRouting, reportID); err != nil {
		return err
	}
	j, err := req.justification()
	if err != nil {
		return err
	}
	ev := reportEvent(c, reportID, guardian.CategoryAlteration, "routing.override")
	ev.Reason = string(req.Action)
	ev.Justification = j.String()
	o := &guardian.RoutingOverride{ReportID: reportID, AgencyID: req.AgencyID, Action: req.Action, Actor: actorLabel(c.actor)}
	if err := h.Routing.AddRoutingOverride(ctx, o, ev); err != nil {
		return err
	}
	if err := h.Reroute(ctx, reportID, c.actor, j.String()); err != nil {
		return fmt.Errorf("route report %d again after an override: %w", reportID, err)
	}
	refs, err := h.Routing.FindReferrals(ctx, reportID)
	if err != nil {
		return err
	}
	out := reportReferrals{ReportID: reportID, Referrals: []referralView{}}
	for _, ref := range refs {
		out.Referrals = append(out.Referrals, viewOf(c, ref))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type boardView struct {
	referralList
	Counts map[guardian.ReferralState]int `json:"counts"`
}

func (h *Handler) handleBoard(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	if _, err := c.caller.Authorize(access.Request{Action: access.ViewBoard}); err != nil {
		h.recordRefusal(ctx, c, access.ViewBoard, "board", 0, err)
		return err
	}
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		return err
	}
	f, err := parseFilters(r.URL.Query(), "board", true)
	if err != nil {
		return err
	}
	q := f.query(aq)
	out, err := h.page(r, c, f, "board", q)
	if err != nil {
		return err
	}
	counts, err := h.Delivery.CountReferrals(ctx, q)
	if err != nil {
		return err
	}
	if counts == nil {
		counts = map[guardian.ReferralState]int{}
	}
	writeJSON(w, http.StatusOK, boardView{referralList: out, Counts: counts})
	return nil
}
