package guardian

import (
	"context"
	"fmt"
	"time"
)

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
	// ID is assigned by the store when the event is appended. IDs increase
	// but may have gaps, and on PostgreSQL may become visible out of order.
	ID int64 `json:"id"`
	// Index is the event's sequence index: its leaf index in the audit log,
	// assigned by the integrator once the event is committed. Nil until
	// then (at most about a second).
	Index *int64 `json:"index,omitempty"`

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

// needsJustification lists the categories in which a person must say why.
var needsJustification = map[AuditCategory]bool{
	CategoryConsultation: true,
	CategoryDisclosure:   true,
}

// Validate checks that an event is complete before it is appended: who,
// what, how it ended, and, for people consulting or disclosing personal
// data, why.
func (ev *AuditEvent) Validate() error {
	switch {
	case ev.Actor.Kind == "" || ev.Category == "" || ev.Action == "":
		return fmt.Errorf("audit event %q: actor kind, category and action are required", ev.Action)
	case ev.Outcome != OutcomeSuccess && ev.Outcome != OutcomeFailure:
		return fmt.Errorf("audit event %q: outcome %q is neither success nor failure", ev.Action, ev.Outcome)
	case ev.Actor.Kind == ActorUser && needsJustification[ev.Category] && ev.Outcome == OutcomeSuccess && ev.Justification == "":
		return Errorf(EINVALID, "A justification is required to %s.", ev.Action)
	}
	return nil
}

// AuditCheckpoint is a signed statement of the audit log's size and root
// hash: a C2SP tlog-checkpoint in a C2SP signed note.
type AuditCheckpoint struct {
	TreeSize  int64     `json:"treeSize"`
	RootHash  []byte    `json:"rootHash"`
	Note      []byte    `json:"note"` // the signed checkpoint as served
	CreatedAt time.Time `json:"createdAt"`
}

// AuditHash is one stored hash of the audit log's Merkle tree, at the
// position given by golang.org/x/mod/sumdb/tlog.StoredHashIndex.
type AuditHash struct {
	Index int64
	Hash  []byte
}

// AuditIntegration is what an integration step stores: the tree's new
// stored hashes, its new size and root, and the signed checkpoint for them.
type AuditIntegration struct {
	Hashes     []AuditHash
	TreeSize   int64
	RootHash   []byte
	Checkpoint []byte
}

// AuditLeaf is one leaf of the audit log. Event is nil when the row that
// the leaf was made from is missing (which verification reports).
type AuditLeaf struct {
	Index int64
	Event *AuditEvent
}

// IntegrateFunc computes an integration step. It gets the tree size before
// the step, the events to add (their Index already set, in order), and a
// reader of the stored hashes committed so far.
type IntegrateFunc func(ctx context.Context, treeSize int64, events []*AuditEvent, readHashes func(ctx context.Context, indexes []int64) ([][]byte, error)) (*AuditIntegration, error)

// AuditLogStore keeps the audit log: which event is which leaf, the Merkle
// tree's stored hashes and the signed checkpoints. Events themselves are
// appended through [Store]; this interface orders them into the log.
type AuditLogStore interface {
	// IntegrateAuditLog adds up to limit committed events that are not yet
	// in the log, in the order they were appended, and returns how many it
	// added. It calls fn inside one transaction that excludes every other
	// integrator, in this process or another sharing the database, so the
	// log cannot fork; it stores fn's result and commits. An event whose
	// transaction is still in flight is never passed over: it is added by
	// a later call.
	IntegrateAuditLog(ctx context.Context, limit int, fn IntegrateFunc) (int, error)
	// ReadAuditHashes returns the stored hashes at the given indexes, in
	// the same order. A missing one is ENOTFOUND.
	ReadAuditHashes(ctx context.Context, indexes []int64) ([][]byte, error)
	// LatestAuditCheckpoint returns the newest checkpoint, or ENOTFOUND
	// when the log is empty.
	LatestAuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error)
	// FindAuditLeaves returns the leaves with index in [start, end), in
	// order, with their events (Index set).
	FindAuditLeaves(ctx context.Context, start, end int64) ([]AuditLeaf, error)
}
