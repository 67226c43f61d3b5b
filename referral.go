package guardian

import (
	"context"
	"time"
)

// ReferralState is where a referral is in its lifecycle.
type ReferralState string

// Referral states, from DESIGN.md. Routing creates referrals new; delivery
// moves them on; the agency opens, acknowledges and closes them, or sends
// them back (re-routed). A referral withdrawn before delivery never reached
// the agency.
const (
	ReferralNew          ReferralState = "new"          // created; not yet delivered (maybe held for confirmation)
	ReferralDelivered    ReferralState = "delivered"    // the agency has been given it
	ReferralOpened       ReferralState = "opened"       // someone at the agency opened it
	ReferralAcknowledged ReferralState = "acknowledged" // the agency acknowledged it
	ReferralClosed       ReferralState = "closed"       // the agency closed it, with an outcome
	ReferralWithdrawn    ReferralState = "withdrawn"    // withdrawn before delivery
	ReferralRerouted     ReferralState = "re-routed"    // the agency sent it back as not theirs
)

// RoutingStatus is where an existing referral stands as far as re-routing
// cares: whether the agency has it, and whether it can still be withdrawn
// without the agency ever knowing. [ReferralState.RoutingStatus] gives it.
type RoutingStatus string

// Routing statuses.
const (
	// RoutingPending: the referral exists but the agency has not received
	// it. It can still be withdrawn without the agency ever knowing.
	RoutingPending RoutingStatus = "pending"
	// RoutingDelivered: the agency has it. Withdrawing it cannot undo the
	// disclosure, so re-routing never does; it reports it as stale.
	RoutingDelivered RoutingStatus = "delivered"
	// RoutingWithdrawn: withdrawn before delivery, by routing or by an
	// analyst.
	RoutingWithdrawn RoutingStatus = "withdrawn"
	// RoutingDeclined: the agency returned it. Only an analyst can send it
	// back.
	RoutingDeclined RoutingStatus = "declined"
)

// RoutingStatus maps the state onto what re-routing cares about:
//
//	new (including waiting for an analyst's confirmation)   → RoutingPending
//	delivered, opened, acknowledged, closed                 → RoutingDelivered
//	withdrawn                                               → RoutingWithdrawn
//	re-routed (the agency sent it back as not theirs)       → RoutingDeclined
//
// Any other state counts as delivered: when in doubt, the agency may have
// the report, and nothing is withdrawn behind its back.
func (s ReferralState) RoutingStatus() RoutingStatus {
	switch s {
	case ReferralNew:
		return RoutingPending
	case ReferralWithdrawn:
		return RoutingWithdrawn
	case ReferralRerouted:
		return RoutingDeclined
	}
	return RoutingDelivered
}

// ReferralReason says why routing chose an agency for a report.
type ReferralReason string

// Referral reasons.
const (
	ReasonPartner    ReferralReason = "partner"     // a partner's direct agreement covers the country
	ReasonLiaison    ReferralReason = "liaison"     // no partner covers it; a liaison office does
	ReasonFallback   ReferralReason = "fallback"    // no agreement covers it
	ReasonDomestic   ReferralReason = "domestic"    // the domestic agreement lists the country
	ReasonNoLocation ReferralReason = "no-location" // the report has no location at all
	ReasonAnalyst    ReferralReason = "analyst"     // an analyst added the agency
)

// Referral is one report sent, or to be sent, to one agency. A report has
// at most one referral per agency: routing again updates, withdraws or
// reinstates it, and never creates a second one.
type Referral struct {
	ID       int64  `json:"id"`
	ReportID int64  `json:"reportId"`
	AgencyID string `json:"agencyId"`
	// Network is the digest of the network file whose agreement the
	// referral was made (or last changed) under.
	Network string `json:"network"`
	// Countries are the report's countries the agency receives it for, in
	// rank order; empty for a report without location.
	Countries []string `json:"countries"`
	Channel   Channel  `json:"channel"`
	// Reason is why routing chose the agency.
	Reason ReferralReason `json:"reason"`

	Priority          Priority      `json:"priority"`
	Label             Label         `json:"label"`
	HandlingCode      string        `json:"handlingCode"`
	DataScope         DataScope     `json:"dataScope"`
	AcknowledgeWithin time.Duration `json:"acknowledgeWithin"`
	RetentionDays     int           `json:"retentionDays"`
	// Deadline is when the agency must have acknowledged the referral:
	// RoutedAt plus the agreement's time for the report's priority.
	Deadline time.Time `json:"deadline"`
	// HeldForConfirmation keeps the referral in the hub until an analyst
	// confirms it (dispatch: confirm, or no confident location).
	HeldForConfirmation bool `json:"heldForConfirmation"`

	State ReferralState `json:"state"`
	// The time of each step. ReceivedAt is when the report was finished,
	// TriagedAt when the assessment it was routed on was made, RoutedAt
	// when the referral was created (or last reinstated).
	ReceivedAt     time.Time  `json:"receivedAt"`
	TriagedAt      time.Time  `json:"triagedAt"`
	RoutedAt       time.Time  `json:"routedAt"`
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	OpenedAt       *time.Time `json:"openedAt,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
	ClosedAt       *time.Time `json:"closedAt,omitempty"`
	WithdrawnAt    *time.Time `json:"withdrawnAt,omitempty"`
	UpdatedAt      time.Time  `json:"updatedAt"`

	// Assignee is the user id (decimal) of the person at the agency who
	// has it, or "".
	Assignee string `json:"assignee,omitempty"`
	// Outcome is the agency's last outcome; a final one closed the
	// referral.
	Outcome *Outcome `json:"outcome,omitempty"`
	// Decline is why the agency sent the referral back (re-routed).
	Decline *Decline `json:"decline,omitempty"`

	// Escalation is how far the referral has escalated (EscalationNone,
	// EscalationLiaison, EscalationHub), when it last did, and the liaison
	// office it went to ("" if none covers its countries).
	Escalation      int        `json:"escalation"`
	EscalatedAt     *time.Time `json:"escalatedAt,omitempty"`
	LiaisonAgencyID string     `json:"liaisonAgencyId,omitempty"`
}

// Escalated reports whether the referral has gone beyond its agency, which
// shows it to the liaison offices covering its countries (package access).
func (r *Referral) Escalated() bool { return r.Escalation >= EscalationLiaison }

// ReportAssessment is what triage concluded about a report, as stored: the
// full explanation behind its referrals.
type ReportAssessment struct {
	ReportID     int64      `json:"reportId"`
	Assessment   Assessment `json:"assessment"`
	Triage       Triage     `json:"triage"`
	RulesVersion string     `json:"rulesVersion"`
	CreatedAt    time.Time  `json:"createdAt"` // first assessed
	UpdatedAt    time.Time  `json:"updatedAt"` // last changed
}

// QueueEntry is a report waiting for an analyst.
type QueueEntry struct {
	ReportID   int64      `json:"reportId"`
	Reason     string     `json:"reason"` // routing's notes, joined
	Since      time.Time  `json:"since"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// OverrideAction is an analyst's decision about one agency for a report.
type OverrideAction string

// Override actions. For each agency the last override of a report counts.
const (
	// OverrideAdd: the agency receives the report whatever the evidence
	// says, without a further confirmation.
	OverrideAdd OverrideAction = "add"
	// OverrideWithdraw: the agency does not receive the report whatever
	// the evidence says.
	OverrideWithdraw OverrideAction = "withdraw"
	// OverrideClear: routing decides again for the agency, as if the
	// analyst had never overridden it.
	OverrideClear OverrideAction = "clear"
)

// Valid reports whether a is one of the override actions.
func (a OverrideAction) Valid() bool {
	switch a {
	case OverrideAdd, OverrideWithdraw, OverrideClear:
		return true
	}
	return false
}

// RoutingOverride is an analyst's decision about one agency for a report,
// kept with the report and applied by every later routing run so that
// re-routing cannot undo it.
type RoutingOverride struct {
	ID        int64          `json:"id"`
	ReportID  int64          `json:"reportId"`
	AgencyID  string         `json:"agencyId"`
	Action    OverrideAction `json:"action"`
	Actor     string         `json:"actor"`
	CreatedAt time.Time      `json:"createdAt"`
}

// RoutingState is what a routing run reads in its transaction: the
// report's referrals and its analysts' overrides, oldest first.
type RoutingState struct {
	Referrals []*Referral
	Overrides []*RoutingOverride
}

// RoutingUpdate is what a routing run asks the store to apply. Referrals
// in Create are new (their agency has none); Reinstate, Update and
// Withdraw name existing referrals by agency.
type RoutingUpdate struct {
	// Assessment and Triage are stored if they differ from what is
	// stored (an unchanged re-run records nothing).
	Assessment *Assessment
	Triage     *Triage

	Create    []*Referral
	Reinstate []*Referral // made new again, with these countries and terms
	Update    []*Referral // countries (and network) changed
	Withdraw  []string    // agency IDs of pending referrals

	// Review puts the report in the analysts' queue (if it is not there
	// already) with ReviewReason.
	Review       bool
	ReviewReason string

	// Justification is recorded on the events of a person's routing run
	// (an analyst's decision): a disclosure by a person needs one.
	Justification string

	// RecordHashMatches replaces what is recorded of the report's
	// hash-list matches with HashMatches (none: nothing recorded), in the
	// routing's transaction, as [HashListStore.SetReportHashMatches] does:
	// a routing is then never stored without the matches it was decided
	// on, and a failed one leaves what was there.
	RecordHashMatches bool
	HashMatches       []KnownMatch
}

// RoutingFunc decides, from the state read in the routing transaction,
// what to change. It must be quick and must not touch the database.
type RoutingFunc func(st *RoutingState) (*RoutingUpdate, error)

// RoutingStore keeps what triage and routing conclude about reports.
//
// Every change is recorded in the audit log in the same transaction, with
// actor as given and identifiers only:
//
//	report.triage      combination  assessment and triage stored (Reason: label/priority)
//	referral.create    disclosure   Recipients = agency; Reason = routing reason
//	referral.reinstate disclosure   Recipients = agency
//	referral.update    alteration   countries changed
//	referral.withdraw  alteration   withdrawn before delivery
//	report.queue       alteration   put in the analysts' queue
//	report.unqueue     alteration   taken out of it by an analyst
//	routing.override   alteration   an analyst's decision (Reason = action)
//	network.reload     permission   the network file loaded (ObjectID = digest)
//
// The store keeps report × agency unique: a second referral for one agency
// is ECONFLICT, whatever the caller does.
type RoutingStore interface {
	// RouteReport reads the report's referrals and overrides, calls fn,
	// and applies its update, all in one transaction that excludes other
	// routing runs of the report. receivedAt and triagedAt stamp new
	// referrals. A report that is not finished is EREPORTNOTFOUND.
	RouteReport(ctx context.Context, reportID int64, actor Actor, network string, receivedAt, triagedAt time.Time, fn RoutingFunc) error
	// FindReferrals returns the report's referrals in creation order.
	FindReferrals(ctx context.Context, reportID int64) ([]*Referral, error)
	// FindReportAssessment returns the stored assessment, or ENOTFOUND.
	FindReportAssessment(ctx context.Context, reportID int64) (*ReportAssessment, error)
	// FindQueueEntry returns the report's analyst-queue entry, or ENOTFOUND.
	FindQueueEntry(ctx context.Context, reportID int64) (*QueueEntry, error)
	// FindAnalystQueue returns the unresolved entries, oldest first.
	FindAnalystQueue(ctx context.Context, limit int) ([]*QueueEntry, error)
	// ResolveQueueEntry takes the report out of the analysts' queue.
	ResolveQueueEntry(ctx context.Context, reportID int64, ev *AuditEvent) error
	// AddRoutingOverride records an analyst's decision; the caller then
	// routes the report again.
	AddRoutingOverride(ctx context.Context, o *RoutingOverride, ev *AuditEvent) error
	// RecordNetworkVersion stores a network file's bytes under its digest
	// (once) and records ev, a network.reload event, with it.
	RecordNetworkVersion(ctx context.Context, digest string, content []byte, ev *AuditEvent) error
	// FindNetworkVersion returns the bytes of a stored network file.
	FindNetworkVersion(ctx context.Context, digest string) ([]byte, time.Time, error)
}
