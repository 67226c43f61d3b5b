package guardian

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Delivery: what happens to a referral once it leaves the hub. The agency
// opens, acknowledges, assigns and answers it, or sends it back as not its
// jurisdiction; a referral not acknowledged by its deadline escalates to a
// liaison office and then to the hub's supervisors. This file names those
// things and states what the store keeps; package access decides who may do
// them, package jobs schedules the notifications and escalations, and
// package api serves them to the partners.

// CaseStatus is where the agency's case stands, in an outcome.
type CaseStatus string

// Case statuses, as investigators already report them.
const (
	CaseOngoing           CaseStatus = "ongoing"
	CaseArrest            CaseStatus = "arrest"
	CaseConviction        CaseStatus = "conviction"
	CaseReferredElsewhere CaseStatus = "referred-elsewhere"
	CaseClosed            CaseStatus = "closed"
)

// CaseStatuses returns every case status.
func CaseStatuses() []CaseStatus {
	return []CaseStatus{CaseOngoing, CaseArrest, CaseConviction, CaseReferredElsewhere, CaseClosed}
}

// ClosureReason is why an agency closed a case without further action.
type ClosureReason string

// Closure reasons.
const (
	ClosureSubjectNotFound      ClosureReason = "subject-not-found"
	ClosureInsufficientData     ClosureReason = "provider-data-insufficient"
	ClosureNoCrime              ClosureReason = "no-crime"
	ClosureNoProsecutorialMerit ClosureReason = "no-prosecutorial-merit"
	ClosurePersonIsAdult        ClosureReason = "person-is-adult"
	ClosureAgeUndeterminable    ClosureReason = "age-undeterminable"
	ClosureFalseReport          ClosureReason = "false-report"
	ClosureSubjectDeceased      ClosureReason = "subject-deceased"
	ClosureOther                ClosureReason = "other"
)

// ClosureReasons returns every closure reason.
func ClosureReasons() []ClosureReason {
	return []ClosureReason{ClosureSubjectNotFound, ClosureInsufficientData, ClosureNoCrime, ClosureNoProsecutorialMerit,
		ClosurePersonIsAdult, ClosureAgeUndeterminable, ClosureFalseReport, ClosureSubjectDeceased, ClosureOther}
}

// Usefulness is the agency's judgement of the information it received.
type Usefulness string

// Usefulness values.
const (
	Useful            Usefulness = "useful"
	UsefulnessStale   Usefulness = "stale"   // it came too late to act on
	UsefulnessLimited Usefulness = "limited" // it lacked what was needed to act
)

// Usefulnesses returns every usefulness value.
func Usefulnesses() []Usefulness { return []Usefulness{Useful, UsefulnessStale, UsefulnessLimited} }

// MaxNoteLen bounds free text an agency or the hub writes: an outcome's
// note and a message's body, in bytes.
const MaxNoteLen = 4000

// Outcome is what an agency reports back about a referral, in one request
// and without free text: the structured form investigators know.
type Outcome struct {
	Status CaseStatus `json:"status"`
	// VictimIdentified and MoreVictims are given for an arrest or a
	// conviction (nil: not known), and for no other status.
	VictimIdentified *bool `json:"victimIdentified,omitempty"`
	MoreVictims      *bool `json:"moreVictims,omitempty"`
	// ClosureReason is required for the status closed, and only for it.
	ClosureReason ClosureReason `json:"closureReason,omitempty"`
	Usefulness    Usefulness    `json:"usefulness"`
	// Note is optional free text, at most MaxNoteLen bytes.
	Note string `json:"note,omitempty"`

	// RecordedAt and RecordedBy are set by the store: when, and who
	// (the actor as "kind:id", or "kind:name" without an id).
	RecordedAt time.Time `json:"recordedAt"`
	RecordedBy string    `json:"recordedBy"`
}

// Validate checks the outcome's choices fit together. It is EINVALID with
// a message for the person otherwise.
func (o *Outcome) Validate() error {
	if !oneOf(o.Status, CaseStatuses()) {
		return Errorf(EINVALID, "Choose a case status: %s.", joinValues(CaseStatuses()))
	}
	if !oneOf(o.Usefulness, Usefulnesses()) {
		return Errorf(EINVALID, "Say whether the information was %s.", joinValues(Usefulnesses()))
	}
	arrest := o.Status == CaseArrest || o.Status == CaseConviction
	if !arrest && (o.VictimIdentified != nil || o.MoreVictims != nil) {
		return Errorf(EINVALID, "Whether a victim was identified is given only for an arrest or a conviction.")
	}
	switch {
	case o.Status == CaseClosed && !oneOf(o.ClosureReason, ClosureReasons()):
		return Errorf(EINVALID, "Choose why the case was closed: %s.", joinValues(ClosureReasons()))
	case o.Status != CaseClosed && o.ClosureReason != "":
		return Errorf(EINVALID, "A closure reason is given only when the case is closed.")
	}
	return checkText(o.Note, "A note")
}

// Final reports whether the outcome ends the agency's work on the referral:
// everything but an ongoing case. An ongoing outcome may be followed by
// another; the referral closes with a final one.
func (o *Outcome) Final() bool { return o.Status != CaseOngoing }

func oneOf[T ~string](v T, all []T) bool {
	for _, a := range all {
		if v == a {
			return true
		}
	}
	return false
}

func joinValues[T ~string](all []T) string {
	s := make([]string, len(all))
	for i, a := range all {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// checkText checks optional free text: valid UTF-8, at most MaxNoteLen
// bytes, no control characters but newlines and tabs.
func checkText(s, what string) error {
	switch {
	case len(s) > MaxNoteLen:
		return Errorf(EINVALID, "%s may be at most %d characters.", what, MaxNoteLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }):
		return Errorf(EINVALID, "%s must be plain text.", what)
	}
	return nil
}

// MessageKind says what a message on a referral is for.
type MessageKind string

// Message kinds.
const (
	MessageRequestInfo MessageKind = "request-info" // the agency asks the hub for more information
	MessageReply       MessageKind = "reply"        // an answer
	MessageNote        MessageKind = "note"         // anything else
)

// Message is one message in the thread between an agency and the hub about
// a referral. Each agency that sees a referral (its own agency, a liaison
// office it escalated to) has its own thread with the hub, named by
// ThreadAgencyID; no agency reads another's.
type Message struct {
	ID             int64        `json:"id"`
	ReferralID     int64        `json:"referralId"`
	ThreadAgencyID string       `json:"thread"`
	From           Organisation `json:"from"`
	// Author is the person or token that wrote it, as "kind:id".
	Author    string      `json:"author"`
	Kind      MessageKind `json:"kind"`
	Body      string      `json:"body"`
	CreatedAt time.Time   `json:"createdAt"`
}

// Validate checks the kind and the body (1 to MaxNoteLen bytes of text).
func (m *Message) Validate() error {
	if !oneOf(m.Kind, []MessageKind{MessageRequestInfo, MessageReply, MessageNote}) {
		return Errorf(EINVALID, "A message's kind is request-info, reply or note.")
	}
	if strings.TrimSpace(m.Body) == "" {
		return Errorf(EINVALID, "A message needs a body.")
	}
	return checkText(m.Body, "A message")
}

// Escalation levels: how far a referral not acknowledged by its deadline
// has gone beyond its agency.
const (
	EscalationNone    = 0 // with its agency only
	EscalationLiaison = 1 // also with the liaison office covering one of its countries
	EscalationHub     = 2 // also on the hub supervisors' board
)

// Decline is an agency's "not our jurisdiction": why, and where it
// believes the report belongs.
type Decline struct {
	// SuggestedCountry is an ISO 3166-1 alpha-2 code, or "".
	SuggestedCountry string `json:"suggestedCountry,omitempty"`
	Reason           string `json:"reason"`
}

// Validate checks the reason is given and the country, if any, is a code.
func (d *Decline) Validate() error {
	if strings.TrimSpace(d.Reason) == "" {
		return Errorf(EINVALID, "Say why the report is not your jurisdiction.")
	}
	if d.SuggestedCountry != "" && !validCountryCode(d.SuggestedCountry) {
		return Errorf(EINVALID, "A suggested country is a two-letter ISO 3166-1 code, such as PY.")
	}
	return checkText(d.Reason, "A reason")
}

func validCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// ReferralEvent names a change of a referral that work follows from:
// notifications, escalation, re-routing.
type ReferralEvent string

// Referral events, as given to the store's referral hook.
const (
	// EventDelivered: the referral has left the hub (routing created or
	// reinstated it undelayed, or an analyst confirmed it). Its agency is
	// notified and its escalation scheduled for its deadline.
	EventDelivered ReferralEvent = "delivered"
	// EventEscalated: the referral reached a new escalation level; the
	// liaison office or the hub's supervisors are notified, and the next
	// level scheduled.
	EventEscalated ReferralEvent = "escalated"
	// EventReprioritised: the priority, and so the deadline, changed; the
	// escalation is rescheduled.
	EventReprioritised ReferralEvent = "reprioritised"
	// EventDeclined: the agency sent the referral back; the report is
	// routed again, without that agency.
	EventDeclined ReferralEvent = "declined"
	// EventMessage: a message was added to a thread; the other side is
	// told there is one (never what it says).
	EventMessage ReferralEvent = "message"
)

// ReferralChange is what the store's referral hook is given, in the
// transaction that made the change.
type ReferralChange struct {
	Event    ReferralEvent
	Referral *Referral // as changed
	Message  *Message  // for EventMessage
}

// ReferralOrder is the order of a referral list.
type ReferralOrder string

// Referral orders.
const (
	// OrderUrgent: priority (E, 1, 2, 3), then the earliest deadline, then
	// id. The inbox's default.
	OrderUrgent ReferralOrder = "urgent"
	// OrderUpdated: oldest change first, then id, so that a client
	// polling with UpdatedSince and the cursor sees every change once.
	OrderUpdated ReferralOrder = "updated"
)

// Rank orders priorities for lists: E 0, 1 1, 2 2, 3 3, anything
// else 4.
func (p Priority) Rank() int {
	switch p {
	case "E":
		return 0
	case "1":
		return 1
	case "2":
		return 2
	case "3":
		return 3
	}
	return 4
}

// ReferralCursor is where a page of a referral list starts: just after the
// referral with these sort keys. An API encodes it opaquely.
type ReferralCursor struct {
	PriorityRank int       `json:"p,omitempty"`
	Deadline     time.Time `json:"d,omitempty"`
	UpdatedAt    time.Time `json:"u,omitempty"`
	ID           int64     `json:"i"`
}

// ReferralQuery selects referrals for a list. The first group of fields
// says what the caller may see (package access fills it in from
// access.Query); the second filters within that.
type ReferralQuery struct {
	// All: every referral in every state, held ones too (the hub).
	All bool
	// AgencyID: that agency's referrals in VisibleStates, not held.
	AgencyID      string
	VisibleStates []ReferralState
	// EscalatedCountries: also other agencies' referrals in VisibleStates,
	// not held, at EscalationLiaison or beyond, for any of these countries
	// (a liaison office).
	EscalatedCountries []string

	// Filters; zero values match everything.
	States         []ReferralState
	Priorities     []Priority
	DeadlineBefore time.Time
	UpdatedSince   time.Time // updated at or after
	Held           *bool     // only held (true) or only not held (false)
	MinEscalation  int       // only referrals escalated at least this far
	ReportID       int64

	Order ReferralOrder // "" is OrderUrgent
	After *ReferralCursor
	// Limit is the page size: 1 to 500; 0 means 50.
	Limit int
}

// Cursor returns the cursor just after r in order o.
func (r *Referral) Cursor(o ReferralOrder) ReferralCursor {
	if o == OrderUpdated {
		return ReferralCursor{UpdatedAt: r.UpdatedAt, ID: r.ID}
	}
	return ReferralCursor{PriorityRank: r.Priority.Rank(), Deadline: r.Deadline, ID: r.ID}
}

// NotificationChannel is how a notification is sent.
type NotificationChannel string

// Notification channels.
const (
	ChannelEmail   NotificationChannel = "email"
	ChannelWebhook NotificationChannel = "webhook"
)

// Notification records one notification the hub sent, or finally failed to
// send, about a referral: to whom, how and when. It carries no content.
type Notification struct {
	ID         int64               `json:"id"`
	ReferralID int64               `json:"referralId"` // 0 for a digest
	AgencyID   string              `json:"agencyId"`   // "" for the hub's supervisors
	Event      ReferralEvent       `json:"event"`
	Channel    NotificationChannel `json:"channel"`
	// Target is the e-mail address or the webhook URL.
	Target   string `json:"target"`
	Attempts int    `json:"attempts"`
	// Error is the last attempt's error, "" if it was sent.
	Error     string    `json:"error,omitempty"`
	Sent      bool      `json:"sent"`
	CreatedAt time.Time `json:"createdAt"`
}

// DeliveryStore keeps what happens to referrals after routing. Every change
// appends its audit event in the same transaction, as [Store] does, the
// store filling in ObjectKind "referral" and ObjectID, Recipients (the
// agency, for a disclosure) and Time; and every change that work follows
// from runs the store's referral hook in that transaction with a
// [ReferralChange], so a crash neither loses nor doubles a notification or
// an escalation. The actions:
//
//	referral.deliver      disclosure   Recipients = agency (RouteReport too, for
//	                                   referrals it creates or reinstates undelayed)
//	referral.confirm      disclosure   ConfirmReferral (then referral.deliver)
//	referral.open         consultation MarkReferralOpened, first time only
//	referral.acknowledge  alteration   AcknowledgeReferral
//	referral.assign       alteration   AssignReferral (Reason = assignee's user id)
//	referral.decline      alteration   DeclineReferral (Reason = the suggested country;
//	                                   never the agency's words, kept on the referral)
//	referral.outcome      alteration   RecordOutcome (Reason = status)
//	referral.escalate     disclosure   EscalateReferral (Recipients = the liaison
//	                                   office, or "hub:supervisors")
//	report.priority       alteration   ChangeReportPriority (Reason = old→new)
//	message.add           alteration   AddMessage (never the body)
//	notification.sent     disclosure   RecordNotification, sent
//	notification.failed   disclosure   RecordNotification, given up (Outcome failure)
//
// A referral in a state that does not allow the change is ECONFLICT; an
// unknown one ENOTFOUND. Who may ask is package access's question, asked
// before.
type DeliveryStore interface {
	// FindReferral returns one referral, or ENOTFOUND.
	FindReferral(ctx context.Context, id int64) (*Referral, error)
	// ListReferrals returns a page of referrals that q selects, in its
	// order, and whether there are more.
	ListReferrals(ctx context.Context, q ReferralQuery) ([]*Referral, bool, error)
	// CountReferrals returns, for the referrals q selects (its order,
	// cursor and limit ignored), how many there are in each state: for the
	// supervisors' board.
	CountReferrals(ctx context.Context, q ReferralQuery) (map[ReferralState]int, error)

	// ConfirmReferral releases a held referral (new, held) to its agency:
	// it is delivered, as routing would have done.
	ConfirmReferral(ctx context.Context, id int64, ev *AuditEvent) (*Referral, error)
	// MarkReferralOpened moves a delivered referral to opened, stamping
	// OpenedAt, and appends ev; a referral already opened (or further on)
	// changes nothing and appends nothing. It reports whether it changed.
	MarkReferralOpened(ctx context.Context, id int64, ev *AuditEvent) (bool, error)
	// AcknowledgeReferral moves a delivered or opened referral to
	// acknowledged. Acknowledging stops the escalation chain.
	AcknowledgeReferral(ctx context.Context, id int64, ev *AuditEvent) (*Referral, error)
	// AssignReferral sets the assignee (a user id of the agency, as a
	// decimal string; "" unassigns) of a referral not closed or re-routed.
	AssignReferral(ctx context.Context, id int64, assignee string, ev *AuditEvent) (*Referral, error)
	// DeclineReferral moves a delivered, opened or acknowledged referral
	// to re-routed, keeping d with it, and runs the hook with
	// EventDeclined (the report is then routed again without the agency).
	DeclineReferral(ctx context.Context, id int64, d *Decline, ev *AuditEvent) (*Referral, error)
	// RecordOutcome stores o on an acknowledged referral (setting its
	// RecordedAt and RecordedBy from ev's actor); a final outcome closes
	// it. A closed referral is ECONFLICT.
	RecordOutcome(ctx context.Context, id int64, o *Outcome, ev *AuditEvent) (*Referral, error)
	// EscalateReferral raises a delivered or opened referral, whose
	// deadline has passed by the store's clock, to level (one more than
	// it has), recording liaisonID (for EscalationLiaison; "" if no
	// liaison office covers it). Anything else (acknowledged, a level it
	// has reached, a deadline moved later) changes nothing and returns
	// false.
	EscalateReferral(ctx context.Context, id int64, level int, liaisonID string, ev *AuditEvent) (*Referral, bool, error)
	// DueEscalations returns up to limit referrals whose next escalation
	// ([Referral.NextEscalation]) was due at or before now, the earliest
	// first. It is a read: a hub with nothing due does not write.
	DueEscalations(ctx context.Context, now time.Time, limit int) ([]DueEscalation, error)
	// DigestAgencies returns the agencies, in order, with a referral of
	// priority 2 or 3 delivered at or after start and before end: those
	// a digest of the window [start, end) may have something to tell. It
	// is a read of an index.
	DigestAgencies(ctx context.Context, start, end time.Time) ([]string, error)
	// DigestsSwept returns from when the digest windows are still to be
	// swept (their jobs inserted): up to where they have been, or, before
	// the first window is, the first delivery of a referral of priority 2
	// or 3; the zero time if there is none yet.
	DigestsSwept(ctx context.Context) (time.Time, error)
	// MarkDigestsSwept records that the windows before until have been
	// swept; an earlier time than the one recorded changes nothing.
	MarkDigestsSwept(ctx context.Context, until time.Time) error
	// RescheduleEscalation stores the referral's next escalation time
	// again, from its row: for a step DueEscalations gave that
	// EscalateReferral did not take, so that it is not given again.
	RescheduleEscalation(ctx context.Context, id int64) error
	// ChangeReportPriority sets the priority of the report's referrals
	// that are not closed, withdrawn or re-routed, and their deadlines to
	// RoutedAt plus ackWithin of the referral's agency for the new
	// priority (an agency ackWithin does not know keeps its deadline), and
	// records p in the stored triage. It returns the referrals changed.
	ChangeReportPriority(ctx context.Context, reportID int64, p Priority, ackWithin func(agencyID string) (time.Duration, bool), ev *AuditEvent) ([]*Referral, error)

	// AddMessage stores m (setting ID and CreatedAt), sealed under the
	// report's key, and runs the hook with EventMessage.
	AddMessage(ctx context.Context, m *Message, ev *AuditEvent) error
	// FindMessages returns a referral's messages in one thread (or every
	// thread, for threadAgencyID ""), oldest first.
	FindMessages(ctx context.Context, referralID int64, threadAgencyID string) ([]*Message, error)

	// RecordNotification stores n (setting ID and CreatedAt) and appends
	// ev.
	RecordNotification(ctx context.Context, n *Notification, ev *AuditEvent) error
	// FindNotifications returns a referral's notifications, oldest first.
	FindNotifications(ctx context.Context, referralID int64) ([]*Notification, error)
}

// WebhookSecretStore keeps the secret each agency's webhook deliveries are
// signed with (Standard Webhooks, "whsec_" and base64). It lives in the
// store, not in the network file, because the file is shared with every
// agency. The caller seals the secret under the hub's master key
// (crypto.SealUserSecret); the store keeps the bytes as given.
//
//	webhook.secret  permission  SetWebhookSecret (ObjectID = agency id)
type WebhookSecretStore interface {
	// SetWebhookSecret stores or replaces the agency's sealed secret.
	SetWebhookSecret(ctx context.Context, agencyID string, sealed []byte, ev *AuditEvent) error
	// FindWebhookSecret returns the agency's sealed secret, or ENOTFOUND.
	FindWebhookSecret(ctx context.Context, agencyID string) ([]byte, error)
}

// Urgent reports whether a referral of priority p is notified at once
// (E and 1) rather than in a digest, and a report expected to be so is
// routed first ([RoutingOrderOf]).
func (p Priority) Urgent() bool { return p == PriorityUnreviewed || p == Priority1 }
