package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// The hub's pages: the analysts' queue, a report's evidence with the
// forms that confirm, re-prioritise and re-route it, and the
// supervisors' board. Every handler is one call of a service of package
// api (which asks access and records the events) and one render; none
// reads a store. The report page shows the evidence and the triage in
// words, never the report's content.

func (h *Handler) hubRoutes() []route {
	rs := []route{
		{"GET", "/hub/queue", api.AuthPerson, h.handleHubQueue},
		{"GET", "/hub/reports/{id}", api.AuthPerson, h.handleHubReport},
		{"POST", "/hub/referrals/{id}/confirm", api.AuthPerson, h.handleHubConfirm},
		{"POST", "/hub/reports/{id}/priority", api.AuthPerson, h.handleHubPriority},
		{"POST", "/hub/reports/{id}/agencies", api.AuthPerson, h.handleHubAgencies},
		{"POST", "/hub/reports/{id}/resolve", api.AuthPerson, h.handleHubResolve},
		{"GET", "/hub/board", api.AuthPerson, h.handleHubBoard},
	}
	return append(rs, h.auditRoutes()...)
}

func init() {
	noticeKeys["hub-confirmed"] = msg("hub.notice.confirmed")
	noticeKeys["hub-priority"] = msg("hub.notice.priority")
	noticeKeys["hub-agencies"] = msg("hub.notice.agencies")
	noticeKeys["hub-resolved"] = msg("hub.notice.resolved")
}

// hubText gives the pages' templates the words of the hub's codes: a
// referral's state, why it was made, how far it escalated.
type hubText struct{}

var hubStateKeys = map[guardian.ReferralState]string{
	guardian.ReferralNew: msg("hub.state.new"), guardian.ReferralDelivered: msg("hub.state.delivered"),
	guardian.ReferralOpened: msg("hub.state.opened"), guardian.ReferralAcknowledged: msg("hub.state.acknowledged"),
	guardian.ReferralClosed: msg("hub.state.closed"), guardian.ReferralWithdrawn: msg("hub.state.withdrawn"),
	guardian.ReferralRerouted: msg("hub.state.rerouted"),
}

var hubReasonKeys = map[guardian.ReferralReason]string{
	guardian.ReasonPartner: msg("hub.reason.partner"), guardian.ReasonLiaison: msg("hub.reason.liaison"),
	guardian.ReasonFallback: msg("hub.reason.fallback"), guardian.ReasonDomestic: msg("hub.reason.domestic"),
	guardian.ReasonNoLocation: msg("hub.reason.no-location"), guardian.ReasonAnalyst: msg("hub.reason.analyst"),
}

var hubEscalationKeys = []string{msg("hub.escalation.none"), msg("hub.escalation.liaison"), msg("hub.escalation.hub")}

// hubStates are the states in the order of a referral's life.
var hubStates = []guardian.ReferralState{
	guardian.ReferralNew, guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged,
	guardian.ReferralClosed, guardian.ReferralWithdrawn, guardian.ReferralRerouted,
}

// hubPriorities are the priorities, most urgent first.
var hubPriorities = []guardian.Priority{guardian.PriorityUnreviewed, guardian.Priority1, guardian.Priority2, guardian.Priority3}

func (hubText) StateKey(s guardian.ReferralState) string {
	if k, ok := hubStateKeys[s]; ok {
		return k
	}
	return msg("hub.state.unknown")
}

func (hubText) ReasonKey(r guardian.ReferralReason) string {
	if k, ok := hubReasonKeys[r]; ok {
		return k
	}
	return msg("hub.reason.unknown")
}

func (hubText) EscalationKey(level int) string {
	if level >= 0 && level < len(hubEscalationKeys) {
		return hubEscalationKeys[level]
	}
	return msg("hub.escalation.hub")
}

// hubJustification is a form's case number and reason.
func hubJustification(r *http.Request) guardian.Justification {
	return guardian.Justification{CaseNumber: r.PostFormValue("case_number"), Reason: r.PostFormValue("reason")}
}

func hubReportPath(id int64) string { return "/hub/reports/" + strconv.FormatInt(id, 10) }

// The analysts' queue.

type hubQueueData struct {
	hubText
	api.AnalystQueue
}

func (h *Handler) handleHubQueue(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	q, err := h.API.AnalystQueue(r.Context(), c)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "queue", h.newPage(r, c, msg("hub.queue.title"), hubQueueData{AnalystQueue: q}))
}

// The report page.

type hubReportData struct {
	hubText
	api.ReportEvidence
	Agencies   []*guardian.Agency
	Priorities []guardian.Priority
	// Confidence is the assessment's confidence in percent.
	Confidence int
}

func (h *Handler) handleHubReport(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	ev, err := h.API.ReportEvidence(r.Context(), c, api.PathID(r, "id"))
	if err != nil {
		return err
	}
	d := hubReportData{ReportEvidence: ev, Agencies: c.Network().Agencies, Priorities: hubPriorities, Confidence: int(ev.Confidence*100 + 0.5)}
	return h.render(w, r, http.StatusOK, "report", h.newPage(r, c, msg("hub.report.title"), d))
}

func (h *Handler) handleHubConfirm(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	v, err := h.API.Confirm(r.Context(), c, api.PathID(r, "id"), hubJustification(r))
	if err != nil {
		return err
	}
	redirect(w, r, hubReportPath(v.ReportID)+"?notice=hub-confirmed")
	return nil
}

func (h *Handler) handleHubPriority(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	id := api.PathID(r, "id")
	p := guardian.Priority(r.PostFormValue("priority"))
	if _, err := h.API.ChangePriority(r.Context(), c, id, p, hubJustification(r)); err != nil {
		return err
	}
	redirect(w, r, hubReportPath(id)+"?notice=hub-priority")
	return nil
}

func (h *Handler) handleHubAgencies(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	id := api.PathID(r, "id")
	action := guardian.OverrideAction(r.PostFormValue("action"))
	if _, err := h.API.OverrideAgency(r.Context(), c, id, r.PostFormValue("agency"), action, hubJustification(r)); err != nil {
		return err
	}
	redirect(w, r, hubReportPath(id)+"?notice=hub-agencies")
	return nil
}

func (h *Handler) handleHubResolve(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	id := api.PathID(r, "id")
	if err := h.API.ResolveQueueEntry(r.Context(), c, id, hubJustification(r)); err != nil {
		return err
	}
	redirect(w, r, hubReportPath(id)+"?notice=hub-resolved")
	return nil
}

// The supervisors' board.

// hubMissedLimit bounds the missed deadlines the board shows above its
// list; the link below them lists them all, page by page.
const hubMissedLimit = 50

// hubMissedStates are the states whose deadline can still be missed: the
// agency has not acknowledged the referral yet.
var hubMissedStates = []string{string(guardian.ReferralNew), string(guardian.ReferralDelivered), string(guardian.ReferralOpened)}

type hubBoardData struct {
	hubText
	api.BoardView
	Counts     []hubCount
	Missed     []api.ReferralView
	MissedMore bool
	MissedURL  string
	NextURL    string
	// The filters, as chosen.
	Agency, State, Priority, MinEscalation string
	Agencies                               []*guardian.Agency
	States                                 []guardian.ReferralState
	Priorities                             []guardian.Priority
	Paged                                  bool
	// DeadlineBefore is set when the list is of the deadlines missed.
	DeadlineBefore *time.Time
}

type hubCount struct {
	State guardian.ReferralState
	N     int
}

func (h *Handler) handleHubBoard(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	d, err := h.hubBoard(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "board", h.newPage(r, c, msg("hub.board.title"), d))
}

// hubBoard reads the board: the page of referrals the filters ask for,
// and above it, on the first page, the referrals whose deadline passed
// unacknowledged. The list itself is the API's, most urgent first (by
// priority, then deadline), paged by its cursor.
func (h *Handler) hubBoard(ctx context.Context, c *api.Call, q url.Values) (hubBoardData, error) {
	d := hubBoardData{Agency: q.Get("agency"), State: q.Get("state"), Priority: q.Get("priority"), MinEscalation: q.Get("minEscalation"),
		Agencies: c.Network().Agencies, States: hubStates, Priorities: hubPriorities, Paged: q.Get("cursor") != ""}
	params := url.Values{}
	for _, k := range []string{"state", "priority", "minEscalation", "deadlineBefore", "limit", "cursor"} {
		if vs := q[k]; len(vs) > 0 {
			params[k] = vs
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, q.Get("deadlineBefore")); err == nil {
		d.DeadlineBefore = &t
	}
	var err error
	if d.BoardView, err = h.API.HubBoard(ctx, c, params, d.Agency); err != nil {
		return d, err
	}
	for _, s := range hubStates {
		d.Counts = append(d.Counts, hubCount{State: s, N: d.BoardView.Counts[s]})
	}
	if d.NextCursor != "" {
		next := hubBoardQuery(d.Agency, params)
		next.Set("cursor", d.NextCursor)
		d.NextURL = "/hub/board?" + next.Encode()
	}
	if d.Paged {
		return d, nil
	}
	missed := url.Values{"state": hubMissedStates, "deadlineBefore": {c.Now().UTC().Format(time.RFC3339Nano)}}
	d.MissedURL = "/hub/board?" + hubBoardQuery(d.Agency, missed).Encode()
	missed.Set("limit", strconv.Itoa(hubMissedLimit))
	m, err := h.API.HubBoard(ctx, c, missed, d.Agency)
	if err != nil {
		return d, err
	}
	d.Missed, d.MissedMore = m.Referrals, m.NextCursor != ""
	return d, nil
}

// hubBoardQuery is a board link's query: the filters and the agency.
func hubBoardQuery(agency string, params url.Values) url.Values {
	out := url.Values{}
	for k, vs := range params {
		out[k] = append([]string(nil), vs...)
	}
	out.Del("cursor")
	if agency != "" {
		out.Set("agency", agency)
	}
	return out
}
