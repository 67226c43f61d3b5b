package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// PathID reads a positive decimal id from the request's path value name;
// anything else is 0, the id of nothing, which the services answer as an
// unknown id.
func PathID(r *http.Request, name string) int64 {
	s := r.PathValue(name)
	if len(s) > 19 {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// loadReferral returns the referral of the path, or nil when there is
// none: access then answers exactly as for one the caller may not see.
func (h *Handler) loadReferral(ctx context.Context, id int64) (*guardian.Referral, int64, error) {
	if id <= 0 {
		return nil, 0, nil
	}
	ref, err := h.Delivery.FindReferral(ctx, id)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return nil, id, nil
	} else if err != nil {
		return nil, id, err
	}
	return ref, id, nil
}

// authorize asks access, and records a refusal as a failure event.
func (h *Handler) authorize(ctx context.Context, c *Call, req access.Request, id int64) (access.Grant, error) {
	if req.Referral != nil {
		req.Escalated = req.Referral.Escalated()
	}
	g, err := c.caller.Authorize(req)
	if err != nil {
		h.recordRefusal(ctx, c, req.Action, "referral", id, err)
	}
	return g, err
}

// referralByID loads a referral and asks access for req on it, recording
// a refusal: the start of every service of one referral.
func (h *Handler) referralByID(ctx context.Context, c *Call, id int64, req access.Request) (*guardian.Referral, error) {
	ref, id, err := h.loadReferral(ctx, id)
	if err != nil {
		return nil, err
	}
	req.Referral = ref
	if _, err := h.authorize(ctx, c, req, id); err != nil {
		return nil, err
	}
	return ref, nil
}

// referralEvent starts the event of a change to a referral.
func referralEvent(c *Call, ref *guardian.Referral, cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	ev := c.event(cat, action)
	ev.ObjectKind, ev.ObjectID, ev.ReportID = "referral", strconv.FormatInt(ref.ID, 10), ref.ReportID
	return ev
}

func (h *Handler) handleList(w http.ResponseWriter, r *http.Request, c *Call) error {
	out, err := h.ListReferrals(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ListReferrals returns one page of the caller's inbox, most urgent
// first, filtered by the list parameters of GET /referrals (state,
// priority, deadlineBefore, updatedSince, order, limit, cursor).
func (h *Handler) ListReferrals(ctx context.Context, c *Call, params url.Values) (ReferralList, error) {
	aq, err := c.caller.ReferralQuery()
	if err != nil {
		h.recordRefusal(ctx, c, access.ListReferrals, "referrals", 0, err)
		return ReferralList{}, err
	}
	f, err := parseFilters(params, "referrals", false)
	if err != nil {
		return ReferralList{}, err
	}
	return h.page(ctx, c, f, "referrals", f.query(aq))
}

// ReferralDetail is one referral with why it was made, in words.
type ReferralDetail struct {
	ReferralView
	Triage                   *TriageView `json:"triage,omitempty"`
	Jurisdiction             []string    `json:"jurisdiction"`
	AcknowledgeWithinSeconds int64       `json:"acknowledgeWithinSeconds"`
	// Bundle are the caller's referrals of other reports whose files are
	// the same known item as one of this report's (issue 13): the same
	// picture forwarded by several accounts. Only referrals the caller may
	// see are listed, so it tells nothing of other agencies' reports.
	Bundle []BundleView `json:"bundle,omitempty"`
}

type BundleView struct {
	ReferralID int64 `json:"referralId"`
	ReportID   int64 `json:"reportId"`
}

// KnownView is a known-content match as the caller may see it: the file it
// concerns only where the data scope lists files.
type KnownView struct {
	FileID   string `json:"fileId,omitempty"`
	List     string `json:"list"`
	Category string `json:"category"`
	Distance int    `json:"distance"`
	Variant  string `json:"variant,omitempty"`
}

type TriageView struct {
	Score          float64           `json:"score"`
	Label          guardian.Label    `json:"label"`
	Priority       guardian.Priority `json:"priority"`
	ReviewPriority guardian.Priority `json:"reviewPriority"`
	Escalated      bool              `json:"escalated"`
	Reasons        []string          `json:"reasons"`
	RulesVersion   string            `json:"rulesVersion"`
	// Known are the hash-list matches triage saw, if any.
	Known []KnownView `json:"known,omitempty"`
}

func (h *Handler) detail(ctx context.Context, c *Call, ref *guardian.Referral) (ReferralDetail, error) {
	d := ReferralDetail{ReferralView: viewOf(c, ref), Jurisdiction: []string{}, AcknowledgeWithinSeconds: int64(ref.AcknowledgeWithin / time.Second)}
	ra, err := h.Routing.FindReportAssessment(ctx, ref.ReportID)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return d, nil
	} else if err != nil {
		return d, err
	}
	if j := guardian.ExplainJurisdictionAt(&ra.Assessment, ref.ReceivedAt); j != nil {
		d.Jurisdiction = j
	}
	reasons := guardian.ExplainTriage(&ra.Triage)
	if reasons == nil {
		reasons = []string{}
	}
	t := ra.Triage
	d.Triage = &TriageView{Score: t.Score, Label: t.Label, Priority: t.Priority, ReviewPriority: t.ReviewPriority,
		Escalated: t.Escalated, Reasons: reasons, RulesVersion: t.RulesVersion}
	if t.Known != nil {
		files := c.caller.Scope(ref, ref.Escalated()).Has(guardian.ScopeFiles)
		for _, m := range t.Known.Matches {
			k := KnownView{List: m.List, Category: m.Category, Distance: m.Distance, Variant: m.Variant}
			if files {
				k.FileID = m.FileID
			}
			d.Triage.Known = append(d.Triage.Known, k)
		}
	}
	if d.Bundle, err = h.bundle(ctx, c, ref); err != nil {
		return d, err
	}
	return d, nil
}

// bundle returns the caller's referrals of the other reports that share a
// known item with ref's report, most recent first; none without hash lists.
func (h *Handler) bundle(ctx context.Context, c *Call, ref *guardian.Referral) ([]BundleView, error) {
	if h.HashLists == nil {
		return nil, nil
	}
	b, err := h.HashLists.FindHashBundle(ctx, ref.ReportID, maxBundle)
	if err != nil {
		return nil, fmt.Errorf("bundle of report %d: %w", ref.ReportID, err)
	}
	var out []BundleView
	seen := make(map[int64]bool)
	for _, m := range b.Members {
		if seen[m.ReportID] {
			continue
		}
		seen[m.ReportID] = true
		refs, err := h.Routing.FindReferrals(ctx, m.ReportID)
		if err != nil {
			return nil, fmt.Errorf("bundle of report %d: %w", ref.ReportID, err)
		}
		for _, o := range refs {
			if c.caller.CanSee(o, o.Escalated()) {
				out = append(out, BundleView{ReferralID: o.ID, ReportID: o.ReportID})
			}
		}
	}
	return out, nil
}

// maxBundle bounds the other reports a referral's bundle looks at: the
// most recent ones.
const maxBundle = 200

func (h *Handler) handleGet(w http.ResponseWriter, r *http.Request, c *Call) error {
	d, err := h.Referral(r.Context(), c, PathID(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// Referral returns one referral with why it was made, in words.
func (h *Handler) Referral(ctx context.Context, c *Call, id int64) (ReferralDetail, error) {
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.ViewReferral})
	if err != nil {
		return ReferralDetail{}, err
	}
	return h.detail(ctx, c, ref)
}

func (h *Handler) handleAcknowledge(w http.ResponseWriter, r *http.Request, c *Call) error {
	v, err := h.Acknowledge(r.Context(), c, PathID(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Acknowledge records that the caller's agency has the referral in hand.
func (h *Handler) Acknowledge(ctx context.Context, c *Call, id int64) (ReferralView, error) {
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.Acknowledge})
	if err != nil {
		return ReferralView{}, err
	}
	ref, err = h.Delivery.AcknowledgeReferral(ctx, ref.ID, referralEvent(c, ref, guardian.CategoryAlteration, "referral.acknowledge"))
	if err != nil {
		return ReferralView{}, err
	}
	return viewOf(c, ref), nil
}

type assignRequest struct {
	UserID int64 `json:"userId"`
}

func (h *Handler) handleAssign(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req assignRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := h.Assign(r.Context(), c, PathID(r, "id"), req.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Assign gives the referral to a person of its agency.
func (h *Handler) Assign(ctx context.Context, c *Call, id, userID int64) (ReferralView, error) {
	var assignee *guardian.User
	if userID > 0 {
		var err error
		assignee, err = h.Users.FindUserByID(ctx, userID)
		if err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
			return ReferralView{}, err
		}
	}
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.Assign, Assignee: assignee})
	if err != nil {
		return ReferralView{}, err
	}
	ev := referralEvent(c, ref, guardian.CategoryAlteration, "referral.assign")
	ev.Reason = strconv.FormatInt(assignee.ID, 10)
	ref, err = h.Delivery.AssignReferral(ctx, ref.ID, ev.Reason, ev)
	if err != nil {
		return ReferralView{}, err
	}
	return viewOf(c, ref), nil
}

// Assignees returns the people of the caller's agency a referral can be
// assigned to, in ID order: none for the hub or a token.
func (h *Handler) Assignees(ctx context.Context, c *Call) ([]*guardian.User, error) {
	if c.caller.Agency == nil {
		return nil, nil
	}
	org := guardian.AgencyOrganisation(c.caller.Agency.ID)
	disabled := false
	return h.Users.FindUsers(ctx, guardian.UserFilter{Organisation: &org, Disabled: &disabled, Limit: 500})
}

func (h *Handler) handleDecline(w http.ResponseWriter, r *http.Request, c *Call) error {
	var d guardian.Decline
	if err := decodeJSON(r, &d); err != nil {
		return err
	}
	v, err := h.Decline(r.Context(), c, PathID(r, "id"), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Decline records that the referral is not the agency's jurisdiction and
// routes its report again.
func (h *Handler) Decline(ctx context.Context, c *Call, id int64, d guardian.Decline) (ReferralView, error) {
	d.SuggestedCountry = strings.ToUpper(strings.TrimSpace(d.SuggestedCountry))
	if err := d.Validate(); err != nil {
		return ReferralView{}, err
	}
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.Decline})
	if err != nil {
		return ReferralView{}, err
	}
	// The reason stays with the referral; the event records only that
	// the agency declined (free text never enters the audit log).
	ev := referralEvent(c, ref, guardian.CategoryAlteration, "referral.decline")
	ref, err = h.Delivery.DeclineReferral(ctx, ref.ID, &d, ev)
	if err != nil {
		return ReferralView{}, err
	}
	// The decline is committed; routing again is the hub's work from here.
	// If it fails now, the referral hook's re-routing job runs it later.
	just := fmt.Sprintf("Referral %d declined by %s as not its jurisdiction.", ref.ID, ref.AgencyID)
	if err := h.Reroute(context.WithoutCancel(ctx), ref.ReportID, c.actor, just); err != nil {
		h.Logger.ErrorContext(ctx, "cannot route a declined referral's report again", slog.Int64("referral", ref.ID), slog.Any("error", err))
	}
	return viewOf(c, ref), nil
}

// OutcomeRequest is an outcome as a caller sends it: what the store
// stamps (when and by whom) is not the caller's to say.
type OutcomeRequest struct {
	Status           guardian.CaseStatus    `json:"status"`
	VictimIdentified *bool                  `json:"victimIdentified,omitempty"`
	MoreVictims      *bool                  `json:"moreVictims,omitempty"`
	ClosureReason    guardian.ClosureReason `json:"closureReason,omitempty"`
	Usefulness       guardian.Usefulness    `json:"usefulness"`
	Note             string                 `json:"note,omitempty"`
}

func (h *Handler) handleOutcome(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req OutcomeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	v, err := h.RecordOutcome(r.Context(), c, PathID(r, "id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// RecordOutcome records what the agency did with the referral.
func (h *Handler) RecordOutcome(ctx context.Context, c *Call, id int64, req OutcomeRequest) (ReferralView, error) {
	o := &guardian.Outcome{Status: req.Status, VictimIdentified: req.VictimIdentified, MoreVictims: req.MoreVictims,
		ClosureReason: req.ClosureReason, Usefulness: req.Usefulness, Note: req.Note}
	if err := o.Validate(); err != nil {
		return ReferralView{}, err
	}
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.RecordOutcome})
	if err != nil {
		return ReferralView{}, err
	}
	ev := referralEvent(c, ref, guardian.CategoryAlteration, "referral.outcome")
	ev.Reason = string(o.Status)
	ref, err = h.Delivery.RecordOutcome(ctx, ref.ID, o, ev)
	if err != nil {
		return ReferralView{}, err
	}
	return viewOf(c, ref), nil
}

type messageList struct {
	Messages []*guardian.Message `json:"messages"`
}

type messageRequest struct {
	Kind guardian.MessageKind `json:"kind"`
	Body string               `json:"body"`
}

// threadOf is the message thread a request names: an agency's own always;
// for the hub, the one named (the referral's agency by default when
// writing, every thread when reading).
func threadOf(c *Call, named string) string {
	named = guardian.Clip(named, 100)
	if c.caller.Organisation.IsHub() || named != "" {
		return named // another agency's thread is not found
	}
	return c.caller.Agency.ID
}

func (h *Handler) handleMessages(w http.ResponseWriter, r *http.Request, c *Call) error {
	msgs, err := h.Messages(r.Context(), c, PathID(r, "id"), r.URL.Query().Get("thread"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageList{Messages: msgs})
	return nil
}

// Messages returns a referral's messages: the caller's agency's thread,
// or for the hub the thread named ("" for every thread).
func (h *Handler) Messages(ctx context.Context, c *Call, id int64, thread string) ([]*guardian.Message, error) {
	th := threadOf(c, thread)
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.ReadMessages, Thread: th})
	if err != nil {
		return nil, err
	}
	msgs, err := h.Delivery.FindMessages(ctx, ref.ID, th)
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []*guardian.Message{}
	}
	return msgs, nil
}

func (h *Handler) handleSendMessage(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req messageRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m, err := h.SendMessage(r.Context(), c, PathID(r, "id"), r.URL.Query().Get("thread"), req.Kind, req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// SendMessage adds a message to a referral's thread (see Messages).
func (h *Handler) SendMessage(ctx context.Context, c *Call, id int64, thread string, kind guardian.MessageKind, body string) (*guardian.Message, error) {
	th := threadOf(c, thread)
	ref, err := h.referralByID(ctx, c, id, access.Request{Action: access.SendMessage, Thread: th})
	if err != nil {
		return nil, err
	}
	if th == "" {
		th = ref.AgencyID
	}
	if c.caller.Organisation.IsHub() && th != ref.AgencyID && th != ref.LiaisonAgencyID {
		return nil, guardian.Errorf(guardian.EINVALID, "A thread is the referral's agency's or the liaison office's it escalated to.")
	}
	m := &guardian.Message{ReferralID: ref.ID, ThreadAgencyID: th, From: c.caller.Organisation, Author: actorLabel(c.actor),
		Kind: kind, Body: body}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	ev := referralEvent(c, ref, guardian.CategoryAlteration, "message.add")
	if err := h.Delivery.AddMessage(ctx, m, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// actorLabel names an actor in a message: "user:12 (name)", "token:3 (name)".
func actorLabel(a guardian.Actor) string {
	id := a.ID
	if a.Kind == guardian.ActorUser {
		id = "user:" + id
	}
	return id + " (" + a.Name + ")"
}
