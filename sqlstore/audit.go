package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
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
	if err := successEvent(ev, tx.now, objectKind, objectID, reportID, fileID); err != nil {
		return err
	}
	return appendAuditEvent(tx, ev)
}

// queryRecorded runs change, a statement that changes at most one row and
// returns it (RETURNING), in tx, scans the row into dest, and appends ev,
// completed as the record of the change (see recordSuccess). Where the
// dialect allows ([Dialect.OneStatementWrites]) the two are one statement
// (recordedSQL), one round trip to the database instead of two. No row:
// sql.ErrNoRows, and no event.
func queryRecorded(tx *tx, ev *guardian.AuditEvent, objectKind, objectID string, reportID int64, fileID string,
	change string, args []any, dest ...any) error {
	evArgs, err := recordedArgs(tx.d, ev, tx.now, objectKind, objectID, reportID, fileID)
	if err != nil {
		return err
	}
	if !tx.d.OneStatementWrites() {
		if err := tx.queryRow(change, args, dest...); err != nil {
			return err
		}
		if err := tx.queryRow(insertAuditEvent, evArgs, &ev.ID); err != nil {
			return fmt.Errorf("insert audit event: %w", err)
		}
		return nil
	}
	return tx.queryRow(recordedSQL("", change, ""), slices.Concat(args, evArgs), append(slices.Clip(dest), &ev.ID)...)
}

// recordedArgs completes ev as the record of a change, at now, to the
// object named (see successEvent), and returns the arguments that append
// it: insertAuditEvent's, or the event's of recordedSQL.
func recordedArgs(d Dialect, ev *guardian.AuditEvent, now time.Time, objectKind, objectID string, reportID int64, fileID string) ([]any, error) {
	if err := successEvent(ev, now, objectKind, objectID, reportID, fileID); err != nil {
		return nil, err
	}
	return auditEventArgs(d, ev)
}

// recordedSQL is one statement, for dialects with
// [Dialect.OneStatementWrites], that runs change (a statement that changes
// at most one row and returns it) with the WITH queries before and after it
// ("name AS (...)" each, comma-separated; either may be empty), appends an
// audit event if change returned its row, and returns that row with the
// event's id as its last column. Its placeholders are before's, change's,
// after's, then the event's (recordedArgs).
//
// The event is appended by a sub-select of the final SELECT, which
// PostgreSQL runs only once change has returned its row: so the statement
// takes the audit barrier's lock (see the schema's version 2) only after it
// has every row lock change waits for. The other order would hold up every
// writer behind the audit integrator while this statement waited for a row.
func recordedSQL(before, change, after string) string {
	if before != "" {
		before += ",\n"
	}
	if after != "" {
		after = ",\n" + after
	}
	return `WITH ` + before + `change AS (` + change + `)` + after + `,
		event AS (INSERT INTO audit_events (` + auditColumns + `)
			SELECT ` + auditPlaceholders + ` WHERE EXISTS (SELECT 1 FROM change) RETURNING id)
		SELECT change.*, (SELECT id FROM event) FROM change`
}

// successEvent completes ev as the record of a change, at now, to the
// object named, filling the identifiers the caller left empty.
func successEvent(ev *guardian.AuditEvent, now time.Time, objectKind, objectID string, reportID int64, fileID string) error {
	if ev == nil {
		return errors.New("audit event missing: every change is recorded")
	}
	ev.Time = now
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
	return nil
}

// AppendAuditEvents appends events in one transaction, as one batch of
// AppendAuditEvent: all of them or none. It is for recording many events at
// once (an import, a bulk job), which it does several times faster than one
// call each, with one statement per auditBatch events and one fsync.
func (s *Store) AppendAuditEvents(ctx context.Context, events []*guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		pending := make([]pendingEvent, len(events))
		for i, ev := range events {
			if ev != nil && ev.Time.IsZero() {
				ev.Time = tx.now
			}
			args, err := auditEventArgs(tx.d, ev)
			if err != nil {
				return err
			}
			pending[i] = pendingEvent{ev, args}
		}
		return appendAuditEventBatch(tx, pending)
	})
	if err != nil {
		return fmt.Errorf("append audit events: %w", err)
	}
	return nil
}

// insertAuditEvent appends an event, with the arguments auditEventArgs
// returns, and returns its id.
const insertAuditEvent = `
	INSERT INTO audit_events (` + auditColumns + `)
	VALUES (` + auditPlaceholders + `)
	RETURNING id`

// auditPlaceholders are the placeholders of auditColumns.
const auditPlaceholders = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`

// auditColumns are the columns an event is inserted with, in the order of
// the arguments auditEventArgs returns.
const auditColumns = `time, actor_kind, actor_id, actor_name, actor_organisation,
		category, action, object_kind, object_id, report_id, file_id,
		outcome, reason, justification, recipients, request_id, client_addr`

// appendAuditEvent inserts ev and sets ev.ID. The id comes from the table's
// own key (a rowid or an identity column), never from a counter row that
// every writer would have to lock: the audit log's integrator gives events
// their dense leaf indexes later (see auditlog.go).
func appendAuditEvent(tx *tx, ev *guardian.AuditEvent) error {
	args, err := auditEventArgs(tx.d, ev)
	if err != nil {
		return err
	}
	if err := tx.queryRow(insertAuditEvent, args, &ev.ID); err != nil {
		return fmt.Errorf("insert audit event: %w", err)
	}
	return nil
}

// auditBatch bounds the events of one appendAuditEventBatch statement,
// well below both databases' limits on placeholders.
const auditBatch = 64

// pendingEvent is an event checked and ready to append: args are its
// arguments of insertAuditEvent (auditEventArgs).
type pendingEvent struct {
	ev   *guardian.AuditEvent
	args []any
}

// appendAuditEventBatch appends events in order, one statement per
// auditBatch of them, and sets their IDs, which follow their order.
func appendAuditEventBatch(tx *tx, events []pendingEvent) error {
	for len(events) > 0 {
		batch := events[:min(len(events), auditBatch)]
		events = events[len(batch):]
		var b strings.Builder
		b.WriteString(`INSERT INTO audit_events (` + auditColumns + `) VALUES `)
		args := make([]any, 0, len(batch)*len(batch[0].args))
		for i, p := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`(` + auditPlaceholders + `)`)
			args = append(args, p.args...)
		}
		b.WriteString(` RETURNING id`)
		rows, err := tx.query(b.String(), args...)
		if err != nil {
			return fmt.Errorf("insert audit events: %w", err)
		}
		var ids []int64
		err = scanAll(rows, func(rows *sql.Rows) error {
			var id int64
			err := rows.Scan(&id)
			ids = append(ids, id)
			return err
		})
		if err != nil {
			return fmt.Errorf("insert audit events: %w", tx.d.FormatError(err))
		}
		if len(ids) != len(batch) {
			return fmt.Errorf("insert audit events: %d ids for %d events", len(ids), len(batch))
		}
		// Both databases draw the ids in the order of VALUES, but
		// RETURNING may give them in any.
		slices.Sort(ids)
		for i, p := range batch {
			p.ev.ID = ids[i]
		}
	}
	return nil
}

// auditEventArgs checks ev and returns the arguments of insertAuditEvent.
func auditEventArgs(d Dialect, ev *guardian.AuditEvent) ([]any, error) {
	if ev == nil {
		return nil, errors.New("audit event missing")
	}
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	// Kept to the precision stored, so that the event reads back equal.
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	// An event that could not become a leaf would stop the audit log,
	// which integrates every event in order: refuse it now.
	if err := format.CheckEvent(ev); err != nil {
		return nil, err
	}
	var recipients any
	if len(ev.Recipients) > 0 {
		b, err := json.Marshal(ev.Recipients)
		if err != nil {
			return nil, fmt.Errorf("encode recipients: %w", err)
		}
		recipients = string(b)
	}
	return []any{d.TimeValue(ev.Time), string(ev.Actor.Kind), ev.Actor.ID, ev.Actor.Name, ev.Actor.Organisation,
		string(ev.Category), ev.Action, ev.ObjectKind, ev.ObjectID, nullInt(ev.ReportID), nullString(ev.FileID),
		ev.Outcome, ev.Reason, ev.Justification, recipients, ev.RequestID, ev.ClientAddr}, nil
}

// FindAuditEvents implements [guardian.Store]. A zero Limit returns a page
// of 100 events; larger limits are capped at 1000. Events already in the
// audit log have their Index set.
//
// On PostgreSQL, ids come from a sequence that concurrent transactions draw
// from without waiting for each other, so one that commits later may hold a
// smaller id: a reader paging with AfterID can pass over an event that was
// still uncommitted. Readers that must see every event in a final order
// read the audit log, whose integrator assigns that order.
func (s *Store) FindAuditEvents(ctx context.Context, filter guardian.AuditFilter) ([]*guardian.AuditEvent, error) {
	where, args := []string{"e.id > ?"}, []any{filter.AfterID}
	if filter.ReportID != 0 {
		where, args = append(where, "e.report_id = ?"), append(args, filter.ReportID)
	}
	if filter.Action != "" {
		where, args = append(where, "e.action = ?"), append(args, filter.Action)
	}
	limit := filter.Limit
	if limit <= 0 {
		limit = defaultAuditPage
	}
	args = append(args, min(limit, maxAuditPage))

	var events []*guardian.AuditEvent
	err := s.readOne(ctx, func(tx *tx) error {
		rows, err := tx.query(`
			SELECT `+eventColumns+`, l.leaf_index
			FROM audit_events e LEFT JOIN audit_leaves l ON l.event_id = e.id
			WHERE `+strings.Join(where, " AND ")+`
			ORDER BY e.id
			LIMIT ?`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev, err := scanEvent(rows)
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

// eventColumns are the columns of an event of audit_events e, in the order
// scanEvent reads them, before the leaf index that it reads last.
const eventColumns = `e.id, e.time, e.actor_kind, e.actor_id, e.actor_name, e.actor_organisation,
	e.category, e.action, e.object_kind, e.object_id, e.report_id, e.file_id,
	e.outcome, e.reason, e.justification, e.recipients, e.request_id, e.client_addr`

// scanEvent scans the columns of eventColumns and a leaf index, after the
// columns of dest, if any. Every column may be NULL, as an outer join
// gives them: a NULL id (the event row is missing) returns a nil event.
func scanEvent(rows *sql.Rows, dest ...any) (*guardian.AuditEvent, error) {
	var (
		ev                                            guardian.AuditEvent
		id, reportID, index                           sql.NullInt64
		t                                             *time.Time
		kind, actorID, name, org, category, action    sql.NullString
		objectKind, objectID, fileID, outcome, reason sql.NullString
		justification, requestID, clientAddr          sql.NullString
		recipients                                    []byte
	)
	dest = append(dest, &id, nullTimeScanner{&t}, &kind, &actorID, &name, &org,
		&category, &action, &objectKind, &objectID, &reportID, &fileID,
		&outcome, &reason, &justification, &recipients, &requestID, &clientAddr, &index)
	if err := rows.Scan(dest...); err != nil {
		return nil, fmt.Errorf("scan audit event: %w", err)
	}
	if !id.Valid {
		return nil, nil
	}
	ev.ID = id.Int64
	if t != nil {
		ev.Time = *t
	}
	ev.Actor = guardian.Actor{Kind: guardian.ActorKind(kind.String), ID: actorID.String, Name: name.String, Organisation: org.String}
	ev.Category, ev.Action = guardian.AuditCategory(category.String), action.String
	ev.ObjectKind, ev.ObjectID, ev.ReportID, ev.FileID = objectKind.String, objectID.String, reportID.Int64, fileID.String
	ev.Outcome, ev.Reason, ev.Justification = outcome.String, reason.String, justification.String
	ev.RequestID, ev.ClientAddr = requestID.String, clientAddr.String
	if recipients != nil {
		if err := json.Unmarshal(recipients, &ev.Recipients); err != nil {
			return nil, fmt.Errorf("audit event %d: decode recipients: %w", ev.ID, err)
		}
	}
	if index.Valid {
		ev.Index = &index.Int64
	}
	return &ev, nil
}
