package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

// Page sizes of FindAuditEvents.
const (
	defaultAuditPage = 100
	maxAuditPage     = 1000
)

// AppendAuditEvent implements [guardian.Store].
func (s *Store) AppendAuditEvent(ctx context.Context, ev *guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		if ev != nil && ev.Time.IsZero() {
			ev.Time = tx.now
		}
		return appendAuditEvent(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	return nil
}

// recordSuccess completes ev as the record of a change made in tx and
// appends it. Identifiers the caller left empty are filled from the object
// the change acted on.
func recordSuccess(tx *tx, ev *guardian.AuditEvent, objectKind, objectID string, reportID int64, fileID string) error {
	if ev == nil {
		return errors.New("audit event missing: every change is recorded")
	}
	ev.Time = tx.now
	ev.Outcome = guardian.OutcomeSuccess
	if ev.ObjectKind == "" {
		ev.ObjectKind, ev.ObjectID = objectKind, objectID
	}
	if ev.ReportID == 0 {
		ev.ReportID = reportID
	}
	if ev.FileID == "" {
		ev.FileID = fileID
	}
	return appendAuditEvent(tx, ev)
}

// appendAuditEvent inserts ev and sets ev.ID. The id comes from the table's
// own key (a rowid or an identity column), never from a counter row that
// every writer would have to lock.
func appendAuditEvent(tx *tx, ev *guardian.AuditEvent) error {
	switch {
	case ev == nil:
		return errors.New("audit event missing")
	case ev.Actor.Kind == "" || ev.Category == "" || ev.Action == "":
		return fmt.Errorf("audit event %q: actor kind, category and action are required", ev.Action)
	case ev.Outcome != guardian.OutcomeSuccess && ev.Outcome != guardian.OutcomeFailure:
		return fmt.Errorf("audit event %q: outcome %q is neither success nor failure", ev.Action, ev.Outcome)
	}
	// Kept to the precision stored, so that the event reads back equal.
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	var recipients any
	if len(ev.Recipients) > 0 {
		b, err := json.Marshal(ev.Recipients)
		if err != nil {
			return fmt.Errorf("encode recipients: %w", err)
		}
		recipients = string(b)
	}
	err := tx.queryRow(`
		INSERT INTO audit_events (time, actor_kind, actor_id, actor_name, actor_organisation,
			category, action, object_kind, object_id, report_id, file_id,
			outcome, reason, justification, recipients, request_id, client_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		[]any{tx.t(ev.Time), string(ev.Actor.Kind), ev.Actor.ID, ev.Actor.Name, ev.Actor.Organisation,
			string(ev.Category), ev.Action, ev.ObjectKind, ev.ObjectID, nullInt(ev.ReportID), nullString(ev.FileID),
			ev.Outcome, ev.Reason, ev.Justification, recipients, ev.RequestID, ev.ClientAddr},
		&ev.ID)
	if err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// FindAuditEvents implements [guardian.Store]. A zero Limit returns a page
// of 100 events; larger limits are capped at 1000.
//
// On PostgreSQL, ids come from a sequence that concurrent transactions draw
// from without waiting for each other, so one that commits later may hold a
// smaller id: a reader paging with AfterID can pass over an event that was
// still uncommitted. Readers that must see every event in a final order
// belong to the audit log's integrator, which assigns that order.
func (s *Store) FindAuditEvents(ctx context.Context, filter guardian.AuditFilter) ([]*guardian.AuditEvent, error) {
	where, args := []string{"id > ?"}, []any{filter.AfterID}
	if filter.ReportID != 0 {
		where, args = append(where, "report_id = ?"), append(args, filter.ReportID)
	}
	if filter.Action != "" {
		where, args = append(where, "action = ?"), append(args, filter.Action)
	}
	limit := filter.Limit
	if limit <= 0 {
		limit = defaultAuditPage
	}
	args = append(args, min(limit, maxAuditPage))

	var events []*guardian.AuditEvent
	err := s.view(ctx, func(tx *tx) error {
		rows, err := tx.query(`
			SELECT id, time, actor_kind, actor_id, actor_name, actor_organisation,
				category, action, object_kind, object_id, report_id, file_id,
				outcome, reason, justification, recipients, request_id, client_addr
			FROM audit_events
			WHERE `+strings.Join(where, " AND ")+`
			ORDER BY id
			LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev, err := scanAuditEvent(rows)
			if err != nil {
				return err
			}
			events = append(events, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find audit events: %w", err)
	}
	return events, nil
}

func scanAuditEvent(rows *sql.Rows) (*guardian.AuditEvent, error) {
	var (
		ev         guardian.AuditEvent
		reportID   sql.NullInt64
		fileID     sql.NullString
		recipients []byte
	)
	err := rows.Scan(&ev.ID, timeScanner{&ev.Time}, &ev.Actor.Kind, &ev.Actor.ID, &ev.Actor.Name, &ev.Actor.Organisation,
		&ev.Category, &ev.Action, &ev.ObjectKind, &ev.ObjectID, &reportID, &fileID,
		&ev.Outcome, &ev.Reason, &ev.Justification, &recipients, &ev.RequestID, &ev.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("scan audit event: %w", err)
	}
	ev.ReportID, ev.FileID = reportID.Int64, fileID.String
	if recipients != nil {
		if err := json.Unmarshal(recipients, &ev.Recipients); err != nil {
			return nil, fmt.Errorf("audit event %d: decode recipients: %w", ev.ID, err)
		}
	}
	return &ev, nil
}
