package api

import (
	"context"
	"net/url"
	"slices"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// Services of the agencies' pages (package web) that the JSON routes do not
// need: whether the person must still say why before content is shown,
// which files are images, finding a referral by its id or its report's, the
// agency supervisors' board, and a liaison office's escalations. Each asks
// access as the JSON services do; none shows content the JSON services
// would not.

// Consulted reports whether the signed-in person has a consultation of
// referral id recorded today (guardian.ConsultationDay): whether opening
// its content needs no justification now. It says nothing of the referral
// itself (an unknown one has no consultation), and is false for a token.
func (h *Handler) Consulted(ctx context.Context, c *Call, id int64) (bool, error) {
	if c.user == nil || id <= 0 {
		return false, nil
	}
	return h.Access.HasConsultation(ctx, c.user.ID, id, guardian.ConsultationDay(c.now))
}

// ImageFiles lists a referral's files as Files does (the same access and
// records), and says which of them the intake decoded as images
// (guardian.ImageHashed), for the pages to offer a blurred preview of
// those and a download of the others. The page still checks the bytes it
// is given before it shows them as an image.
func (h *Handler) ImageFiles(ctx context.Context, c *Call, id int64, j guardian.Justification) (FileList, map[string]bool, error) {
	list, err := h.Files(ctx, c, id, j)
	if err != nil {
		return FileList{}, nil, err
	}
	images := make(map[string]bool)
	if len(list.Files) == 0 {
		return list, images, nil
	}
	ref, _, err := h.loadReferral(ctx, id)
	if err != nil || ref == nil {
		return FileList{}, nil, err
	}
	rep, err := h.findReport(ctx, ref)
	if err != nil {
		return FileList{}, nil, err
	}
	for _, f := range rep.Files {
		listed := slices.ContainsFunc(list.Files, func(v FileView) bool { return v.ID == f.ID })
		if listed && f.ImageStatus == guardian.ImageHashed {
			images[f.ID] = true
		}
	}
	return list, images, nil
}

// SearchReferrals returns the caller's referrals that an id names: the
// referral with that id, and the referrals of the report with that id,
// each only if the caller may see it. A search is not an attempt to open
// anything, so finding nothing is not recorded as a refusal.
func (h *Handler) SearchReferrals(ctx context.Context, c *Call, id int64) ([]ReferralView, error) {
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		h.recordRefusal(ctx, c, access.ListReferrals, "referrals", 0, err)
		return nil, err
	}
	out := []ReferralView{}
	if id <= 0 {
		return out, nil
	}
	ref, _, err := h.loadReferral(ctx, id)
	if err != nil {
		return nil, err
	}
	if ref != nil && c.caller.CanSee(ref, ref.Escalated()) {
		out = append(out, viewOf(c, ref))
	}
	q := (&listFilters{order: guardian.OrderUrgent, limit: maxListValues}).query(aq)
	q.ReportID = id
	rows, _, err := h.Delivery.ListReferrals(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if c.caller.CanSee(r, r.Escalated()) && !slices.ContainsFunc(out, func(v ReferralView) bool { return v.ID == r.ID }) {
			out = append(out, viewOf(c, r))
		}
	}
	return out, nil
}

// SupervisionBoard is the board of an agency's supervisors: a page of their
// own agency's referrals (never another agency's, even escalated ones a
// liaison office sees), with the counts by state, filtered by the
// parameters of GET /referrals (state, priority, deadlineBefore, limit,
// cursor). Access has no action of its own for it: it is the agency's
// list, shown to the people who hold the supervisor's role.
func (h *Handler) SupervisionBoard(ctx context.Context, c *Call, params url.Values) (BoardView, error) {
	aq, err := c.caller.ReferralQuery()
	if err == nil && (!c.caller.HasRole(guardian.RoleAgencySupervisor) || aq.AgencyID == "") {
		err = &access.Refusal{Code: guardian.EFORBIDDEN, Reason: access.ReasonRole, Message: "Only an agency's supervisors see its board."}
	}
	if err != nil {
		h.recordRefusal(ctx, c, access.ViewBoard, "board", 0, err)
		return BoardView{}, err
	}
	aq.EscalatedCountries = nil
	f, err := parseFilters(params, "agency-board", false)
	if err != nil {
		return BoardView{}, err
	}
	q := f.query(aq)
	return h.boardPage(ctx, c, f, "agency-board", q)
}

// maxEscalations bounds the escalations one answer lists.
const maxEscalations = 200

// Escalations returns the referrals of other agencies that escalated to
// the caller's liaison office (their agency did not acknowledge them by
// their deadline) and that their agency has still not acknowledged, most
// urgent first. It is empty for anyone but a liaison office.
func (h *Handler) Escalations(ctx context.Context, c *Call) ([]ReferralView, error) {
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		h.recordRefusal(ctx, c, access.ListReferrals, "referrals", 0, err)
		return nil, err
	}
	out := []ReferralView{}
	if c.caller.Agency == nil || c.caller.Agency.Kind != guardian.AgencyLiaison {
		return out, nil
	}
	f := &listFilters{states: []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened},
		minEscalation: guardian.EscalationLiaison, order: guardian.OrderUrgent, limit: maxEscalations}
	rows, _, err := h.Delivery.ListReferrals(ctx, f.query(aq))
	if err != nil {
		return nil, err
	}
	own := c.caller.Agency.ID
	for _, r := range rows {
		if r.AgencyID != own && r.LiaisonAgencyID == own && c.caller.CanSee(r, r.Escalated()) {
			out = append(out, viewOf(c, r))
		}
	}
	return out, nil
}
