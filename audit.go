package guardian

import "time"

// AuditCategory classifies an audit event by what happened to personal data,
// following the processing operations that EU Directive 2016/680 Art. 25 asks
// to log, plus the security events of the CJIS Security Policy.
type AuditCategory string

const (
	CategoryCollection     AuditCategory = "collection"
	CategoryAlteration     AuditCategory = "alteration"
	CategoryConsultation   AuditCategory = "consultation"
	CategoryDisclosure     AuditCategory = "disclosure"
	CategoryCombination    AuditCategory = "combination"
	CategoryErasure        AuditCategory = "erasure"
	CategoryAuthentication AuditCategory = "authentication"
	CategoryPermission     AuditCategory = "permission"
	CategoryPrivileged     AuditCategory = "privileged"
	CategoryAuditAccess    AuditCategory = "audit_access"
)

// ActorKind says what kind of party acted.
type ActorKind string

const (
	ActorReporter ActorKind = "reporter" // an online service using the intake API
	ActorUser     ActorKind = "user"     // a person
	ActorNode     ActorKind = "node"     // a partner's system
	ActorSystem   ActorKind = "system"   // the hub itself (expiry, jobs, CLI)
)

// Actor is who performed an audited action.
type Actor struct {
	Kind ActorKind `json:"kind"`
	// ID is the actor's stable identifier (a reporter's or user's id); empty
	// for anonymous requests.
	ID string `json:"id,omitempty"`
	// Name is the actor's login or service name as presented, which for a
	// failed login may not exist.
	Name         string `json:"name,omitempty"`
	Organisation string `json:"organisation,omitempty"`
}

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// AuditEvent records one action on the hub. Events carry identifiers, never
// report content or secrets.
type AuditEvent struct {
	// ID is assigned by the store when the event is appended; it is the
	// event's position in the append order.
	ID int64 `json:"id"`

	Time     time.Time     `json:"time"`
	Actor    Actor         `json:"actor"`
	Category AuditCategory `json:"category"`
	Action   string        `json:"action"` // e.g. "report.submit", "file.upload"

	ObjectKind string `json:"objectKind,omitempty"` // "report", "file", "reporter", ...
	ObjectID   string `json:"objectId,omitempty"`
	ReportID   int64  `json:"reportId,omitempty"`
	FileID     string `json:"fileId,omitempty"`

	Outcome string `json:"outcome"`
	// Reason qualifies a failure with a short code, e.g. the CyberTipline
	// response code "5102"; never free text from the request.
	Reason string `json:"reason,omitempty"`

	Justification string   `json:"justification,omitempty"`
	Recipients    []string `json:"recipients,omitempty"`

	RequestID  string `json:"requestId,omitempty"`
	ClientAddr string `json:"clientAddr,omitempty"`
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	ReportID int64
	Action   string
	AfterID  int64 // only events with a larger ID
	Limit    int   // 0 means a default page
}
