package api

import (
	"context"
	"net/url"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// Services of the hub's web pages (package web) that the JSON routes do
// not need: the analysts' queue with what makes each report urgent, a
// report's evidence with its referrals, and the board of one agency. They
// authorize as the JSON services do and read nothing else.

// QueueItem is one report of the analysts' queue with the triage that put
// it there.
type QueueItem struct {
	guardian.QueueEntry
	// Priority is the report's priority; "" when it was never triaged.
	Priority guardian.Priority `json:"priority"`
	// NoLocation: no evidence names a country.
	NoLocation bool `json:"noLocation"`
	// Provisional: the service asked for high priority, and the priority
	// is a provisional 1 until an analyst confirms or lowers it.
	Provisional bool `json:"provisional"`
}

// AnalystQueue is the analysts' queue, most urgent first.
type AnalystQueue struct {
	Reports []QueueItem    `json:"reports"`
	Held    []ReferralView `json:"held"`
}

// AnalystQueue returns the analysts' queue (Queue) with each report's
// priority and why it waits, most urgent first: by priority, then the
// longest waiting. It reads each report's assessment, at most maxQueue.
func (h *Handler) AnalystQueue(ctx context.Context, c *Call) (AnalystQueue, error) {
	q, err := h.Queue(ctx, c)
	if err != nil {
		return AnalystQueue{}, err
	}
	out := AnalystQueue{Held: q.Held, Reports: make([]QueueItem, 0, len(q.Queue))}
	for _, e := range q.Queue {
		it := QueueItem{QueueEntry: *e}
		ra, err := h.Routing.FindReportAssessment(ctx, e.ReportID)
		switch {
		case err == nil:
			it.Priority, it.NoLocation = ra.Triage.Priority, ra.Assessment.NoLocation
			it.Provisional = ra.Triage.Escalated && ra.Triage.Priority == guardian.Priority1
		case guardian.ErrorCode(err) != guardian.ENOTFOUND:
			return AnalystQueue{}, err
		}
		out.Reports = append(out.Reports, it)
	}
	// Held referrals come from the store most urgent first already.
	slices.SortStableFunc(out.Reports, func(a, b QueueItem) int {
		if d := a.Priority.Rank() - b.Priority.Rank(); d != 0 {
			return d
		}
		return a.Since.Compare(b.Since)
	})
	return out, nil
}

// ReportEvidence is what the hub knows of a report without its content:
// where it belongs and why, how urgent it is and why, its known-content
// matches, its place in the analysts' queue, and its referrals.
type ReportEvidence struct {
	ReportID int64 `json:"reportId"`
	// ReceivedAt is when the report was finished (its referrals'
	// ReceivedAt); zero for a report without referrals.
	ReceivedAt   time.Time   `json:"receivedAt"`
	Jurisdiction []string    `json:"jurisdiction"`
	NoLocation   bool        `json:"noLocation"`
	Confidence   float64     `json:"confidence"`
	Triage       *TriageView `json:"triage,omitempty"`
	// Queue is the report's entry in the analysts' queue; nil if it never
	// was in it.
	Queue     *guardian.QueueEntry `json:"queue,omitempty"`
	Referrals []ReferralView       `json:"referrals"`
}

// ReportEvidence returns a report's evidence and referrals for the hub's
// analysts and supervisors (access.OverrideRouting, as ReportReferrals),
// recording a refusal. It never reads the report's documents.
func (h *Handler) ReportEvidence(ctx context.Context, c *Call, reportID int64) (ReportEvidence, error) {
	refs, err := h.reportAccess(ctx, c, access.OverrideRouting, reportID)
	if err != nil {
		return ReportEvidence{}, err
	}
	out := ReportEvidence{ReportID: reportID, Jurisdiction: []string{}, Referrals: []ReferralView{}}
	for _, ref := range refs {
		out.Referrals = append(out.Referrals, viewOf(c, ref))
	}
	if len(refs) > 0 {
		out.ReceivedAt = refs[0].ReceivedAt
	}
	ra, err := h.Routing.FindReportAssessment(ctx, reportID)
	if err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return ReportEvidence{}, err
	}
	if err == nil {
		out.NoLocation, out.Confidence = ra.Assessment.NoLocation, ra.Assessment.Confidence
		if j := guardian.ExplainJurisdictionAt(&ra.Assessment, out.ReceivedAt); j != nil {
			out.Jurisdiction = j
		}
		out.Triage = hubTriageView(&ra.Triage)
	}
	q, err := h.Routing.FindQueueEntry(ctx, reportID)
	if err == nil {
		out.Queue = q
	} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return ReportEvidence{}, err
	}
	return out, nil
}

// hubTriageView is a triage as the hub sees it: every known-content match
// with its file, since the hub sees every section.
func hubTriageView(t *guardian.Triage) *TriageView {
	reasons := guardian.ExplainTriage(t)
	if reasons == nil {
		reasons = []string{}
	}
	v := &TriageView{Score: t.Score, Label: t.Label, Priority: t.Priority, ReviewPriority: t.ReviewPriority,
		Escalated: t.Escalated, Reasons: reasons, RulesVersion: t.RulesVersion}
	if t.Known != nil {
		for _, m := range t.Known.Matches {
			v.Known = append(v.Known, KnownView{FileID: m.FileID, List: m.List, Category: m.Category, Distance: m.Distance, Variant: m.Variant})
		}
	}
	return v
}

// HubBoard is the hub's Board narrowed to one agency's referrals (agencyID in
// the network), held ones included, or Board itself for "". A cursor is
// bound to the agency as to the other filters.
func (h *Handler) HubBoard(ctx context.Context, c *Call, params url.Values, agencyID string) (BoardView, error) {
	if agencyID == "" {
		return h.Board(ctx, c, params)
	}
	if _, err := c.caller.Authorize(access.Request{Action: access.ViewBoard}); err != nil {
		h.recordRefusal(ctx, c, access.ViewBoard, "board", 0, err)
		return BoardView{}, err
	}
	if _, ok := c.network.Agency(agencyID); !ok {
		return BoardView{}, guardian.Errorf(guardian.EINVALID, "Agency %q is not in the network.", guardian.Clip(agencyID, 60))
	}
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		return BoardView{}, err
	}
	if !aq.All {
		// Only the hub sees every agency's referrals.
		return BoardView{}, guardian.Errorf(guardian.EFORBIDDEN, "Only the hub's supervisors see other agencies' referrals.")
	}
	list := "board:" + agencyID
	f, err := parseFilters(params, list, true)
	if err != nil {
		return BoardView{}, err
	}
	q := f.query(aq)
	q.AgencyID = agencyID
	return h.boardPage(ctx, c, f, list, q)
}
