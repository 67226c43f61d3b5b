package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/auditlog/format"
)

// The auditors' pages: the latest signed checkpoint and the events of the
// log, newest first, and one event with its inclusion proof, checked here
// against the checkpoint's root as `guardian audit verify` checks leaves
// (the leaf encoded again with format.AppendLeaf, hashed with
// tlog.RecordHash, the proof checked with tlog.CheckRecord). Every page is
// authorized by access (api.Handler.AuthorizeAuditLog), and every read of
// the log's events is itself an audit event, recorded once per page
// before anything of the log is read (api.Handler.RecordAuditRead).

func (h *Handler) auditRoutes() []route {
	return []route{
		{"GET", "/audit-log", api.AuthPerson, h.handleAuditLog},
		{"GET", "/audit-log/{index}", api.AuthPerson, h.handleAuditEvent},
	}
}

const (
	// auditPageSize is the events one page lists.
	auditPageSize = 50
	// auditMaxScan bounds the leaves one page reads looking for events
	// of the action asked for; the next page goes on from there.
	auditMaxScan = 2000
	// auditMaxAction bounds the action filter's length.
	auditMaxAction = 64
)

// auditCheckpointView is the latest checkpoint as the pages show it: the
// stored one, whose signed note's text must say the same.
type auditCheckpointView struct {
	Origin    string
	TreeSize  int64
	RootHash  string // standard base64, as in the note
	Note      string // the signed note, as served at /audit/checkpoint
	CreatedAt time.Time
	root      tlog.Hash
}

type auditLogData struct {
	Checkpoint auditCheckpointView
	Events     []*guardian.AuditEvent
	Action     string
	// From and To are the leaves read, [From, To).
	From, To int64
	OlderURL string
	Latest   bool
}

type auditEventData struct {
	Checkpoint auditCheckpointView
	Index      int64
	Event      *guardian.AuditEvent
	LeafHash   string
	Proof      []string
	// Verified is whether the proof takes the event's leaf to the
	// checkpoint's root.
	Verified bool
	// BackURL is the page of the log that lists the event.
	BackURL string
}

// errNoAuditLog answers the audit pages of a hub without an audit log.
var errNoAuditLog = guardian.Errorf(guardian.ENOTFOUND, "This hub has no audit log.")

func (h *Handler) handleAuditLog(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	d, err := h.auditLog(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "auditlog", h.newPage(r, c, msg("audit.log.title"), d))
}

func (h *Handler) handleAuditEvent(w http.ResponseWriter, r *http.Request, c *api.Call) error {
	d, err := h.auditEvent(r.Context(), c, r.PathValue("index"))
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "auditevent", h.newPage(r, c, msg("audit.event.title"), d))
}

// auditLog reads a page of the log's events, newest first: those before
// the leaf index "before" (default: the checkpoint's size), of the action
// asked for, if any.
func (h *Handler) auditLog(ctx context.Context, c *api.Call, q url.Values) (auditLogData, error) {
	var d auditLogData
	if h.Audit == nil || h.Log == nil {
		return d, errNoAuditLog
	}
	if err := h.API.AuthorizeAuditLog(ctx, c); err != nil {
		return d, err
	}
	cp, err := h.auditCheckpoint(ctx)
	if err != nil {
		return d, err
	}
	d.Checkpoint = cp
	d.Action = q.Get("action")
	if len(d.Action) > auditMaxAction {
		return d, guardian.Errorf(guardian.EINVALID, "An action has at most %d characters.", auditMaxAction)
	}
	d.To = cp.TreeSize
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > cp.TreeSize {
			return d, guardian.Errorf(guardian.EINVALID, "before is a leaf index from 0 to %d.", cp.TreeSize)
		}
		d.To = n
	}
	d.Latest = d.To == cp.TreeSize
	scan := int64(auditPageSize)
	if d.Action != "" {
		scan = auditMaxScan
	}
	d.From = max(0, d.To-scan)
	if err := h.API.RecordAuditRead(ctx, c, "audit_leaves", fmt.Sprintf("%d-%d", d.From, d.To)); err != nil {
		return d, err
	}
	// Read back from To a page at a time until the page is full or the
	// scan ends; low is where the next older page starts.
	low := d.To
	for low > d.From && len(d.Events) < auditPageSize {
		start := max(d.From, low-auditPageSize)
		leaves, err := h.Audit.FindAuditLeaves(ctx, start, low)
		if err != nil {
			return d, fmt.Errorf("audit log: leaves %d to %d: %w", start, low, err)
		}
		next := start
		for i := len(leaves) - 1; i >= 0; i-- {
			if len(d.Events) == auditPageSize {
				next = leaves[i].Index + 1
				break
			}
			if ev := leaves[i].Event; ev != nil && (d.Action == "" || ev.Action == d.Action) {
				d.Events = append(d.Events, ev)
			}
		}
		low = next
	}
	d.From = low
	if low > 0 {
		older := url.Values{"before": {strconv.FormatInt(low, 10)}}
		if d.Action != "" {
			older.Set("action", d.Action)
		}
		d.OlderURL = "/audit-log?" + older.Encode()
	}
	return d, nil
}

// auditEvent reads one event with its inclusion proof in the latest
// checkpoint's tree, and checks the proof. An index that is not a leaf of
// that tree is not found.
func (h *Handler) auditEvent(ctx context.Context, c *api.Call, s string) (auditEventData, error) {
	var d auditEventData
	if h.Audit == nil || h.Log == nil {
		return d, errNoAuditLog
	}
	if err := h.API.AuthorizeAuditLog(ctx, c); err != nil {
		return d, err
	}
	cp, err := h.auditCheckpoint(ctx)
	if err != nil {
		return d, err
	}
	index, err := strconv.ParseInt(s, 10, 64)
	if err != nil || len(s) > 19 || index < 0 || index >= cp.TreeSize || strconv.FormatInt(index, 10) != s {
		return d, guardian.Errorf(guardian.ENOTFOUND, "No event of the audit log has this index.")
	}
	if err := h.API.RecordAuditRead(ctx, c, "audit_leaf", s); err != nil {
		return d, err
	}
	leaves, err := h.Audit.FindAuditLeaves(ctx, index, index+1)
	if err != nil {
		return d, fmt.Errorf("audit log: leaf %d: %w", index, err)
	}
	if len(leaves) != 1 || leaves[0].Index != index || leaves[0].Event == nil {
		return d, fmt.Errorf("audit log: leaf %d of a tree of %d is missing", index, cp.TreeSize)
	}
	proof, err := h.Log.InclusionProof(ctx, index, cp.TreeSize)
	if err != nil {
		return d, fmt.Errorf("audit log: proof of leaf %d: %w", index, err)
	}
	leaf, err := format.AppendLeaf(nil, leaves[0].Event, index)
	if err != nil {
		return d, fmt.Errorf("audit log: leaf %d: %w", index, err)
	}
	lh := tlog.RecordHash(leaf)
	d = auditEventData{Checkpoint: cp, Index: index, Event: leaves[0].Event, LeafHash: auditB64(lh[:]),
		Verified: tlog.CheckRecord(proof, cp.TreeSize, cp.root, index, lh) == nil,
		BackURL:  "/audit-log?before=" + strconv.FormatInt(index+1, 10)}
	for _, p := range proof {
		d.Proof = append(d.Proof, auditB64(p[:]))
	}
	return d, nil
}

// auditCheckpoint returns the latest checkpoint, its size and root read
// from its signed note, whose signature is checked with the hub's
// verifier key, and which must agree with what the store says of it (as
// auditlog.Verify requires). A log without a checkpoint yet is an empty
// one.
func (h *Handler) auditCheckpoint(ctx context.Context) (auditCheckpointView, error) {
	cp, err := h.Log.Checkpoint(ctx)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return auditCheckpointView{}, nil
	} else if err != nil {
		return auditCheckpointView{}, fmt.Errorf("audit log: checkpoint: %w", err)
	}
	body, err := format.OpenCheckpoint(cp.Note, h.AuditVerifierKey)
	if err != nil {
		return auditCheckpointView{}, fmt.Errorf("audit log: checkpoint note: %w", err)
	}
	if body.TreeSize != cp.TreeSize || string(body.RootHash[:]) != string(cp.RootHash) {
		return auditCheckpointView{}, fmt.Errorf("audit log: the stored checkpoint of size %d differs from its signed note", cp.TreeSize)
	}
	return auditCheckpointView{Origin: body.Origin, TreeSize: body.TreeSize, RootHash: auditB64(body.RootHash[:]), Note: string(cp.Note),
		CreatedAt: cp.CreatedAt, root: body.RootHash}, nil
}

func auditB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
