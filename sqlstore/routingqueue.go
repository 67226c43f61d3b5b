package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
)

var _ guardian.RoutingQueue = (*Store)(nil)

// The routing queue lives on the reports' rows (schema version 15, see its
// migration): route_order says a report is queued and where, route_after
// when it may be taken, route_attempts how often it was. The finish and a
// decline queue a report in their own transactions, the routing takes it
// out in its own (see RouteReport): the queue costs those transactions one
// small UPDATE each and no row of its own.

// routingDue is the condition of a report a claim may take, with the
// store's time as its one argument.
const routingDue = `route_order IS NOT NULL AND (route_after IS NULL OR route_after <= ?)`

// queueRouting puts report reportID in the routing queue at order, due at
// once and with its attempts counted from zero, in tx.
func queueRouting(tx *tx, reportID int64, order int) error {
	_, err := tx.exec(`UPDATE reports SET route_order = ?, route_after = NULL, route_attempts = 0, route_error = NULL WHERE id = ?`,
		order, reportID)
	if err != nil {
		return fmt.Errorf("queue report %d for routing: %w", reportID, err)
	}
	return nil
}

// unqueued is what a report's row holds out of the routing queue.
const unqueued = `route_order = NULL, route_after = NULL, route_attempts = 0, route_error = NULL`

// unqueueRouting takes a routed report out of the queue, in the routing's
// transaction. It writes the row even if the report was not queued: every
// routing run changes the report's row (see Store.lockForRouting).
func unqueueRouting(tx *tx, reportID int64) error {
	_, err := tx.exec(`UPDATE reports SET `+unqueued+` WHERE id = ?`, reportID)
	if err != nil {
		return fmt.Errorf("take report %d out of the routing queue: %w", reportID, err)
	}
	return nil
}

// routingDueQuery finds whether any report is due. Its ORDER BY, the
// queue index's order, is what makes the planner read that index: without
// it, PostgreSQL without the table's statistics (autovacuum off, or before
// its first analyze) takes a LIMIT 1 for cheapest as a sequential scan,
// which passes over every routed report before the queued ones at the
// table's end (3 ms a poll at 30 thousand reports, 50 polls a second).
const routingDueQuery = `SELECT 1 FROM reports WHERE ` + routingDue + ` ORDER BY route_order, id LIMIT 1`

// RoutingDue implements [guardian.RoutingQueue], on the read pool.
func (s *Store) RoutingDue(ctx context.Context) (bool, error) {
	var one int
	err := s.queryRow(ctx, routingDueQuery, s.d.Replanned([]any{s.d.TimeValue(s.clock())}), &one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("routing due: %w", err)
	}
	return true, nil
}

// RoutingDueStatement returns the statement RoutingDue runs, in the
// store's dialect, and its arguments now: for tests that check its plan.
func (s *Store) RoutingDueStatement() (string, []any) {
	return s.d.Rebind(routingDueQuery), []any{s.d.TimeValue(s.clock())}
}

// ClaimRouting implements [guardian.RoutingQueue]. On PostgreSQL, reports
// another process is claiming at the same moment are passed over (SKIP
// LOCKED) rather than waited for. A limit of 0 or less claims nothing.
func (s *Store) ClaimRouting(ctx context.Context, limit int, lease time.Duration) ([]guardian.RoutingClaim, error) {
	if limit <= 0 {
		return nil, nil
	}
	type claimed struct {
		guardian.RoutingClaim
		order int
	}
	var out []claimed
	err := s.update(ctx, func(tx *tx) error {
		out = out[:0]
		rows, err := tx.query(`UPDATE reports SET route_after = ?, route_attempts = route_attempts + 1
			WHERE id IN (SELECT id FROM reports WHERE `+routingDue+` ORDER BY route_order, id LIMIT ?`+tx.d.LockSkipLocked()+`)
			RETURNING id, route_order, route_attempts`,
			tx.d.Replanned([]any{tx.t(tx.now.Add(lease)), tx.t(tx.now), limit})...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.ReportID, &c.order, &c.Attempt); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim reports to route: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(out, func(a, b claimed) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.ReportID, b.ReportID))
	})
	claims := make([]guardian.RoutingClaim, len(out))
	for i, c := range out {
		claims[i] = c.RoutingClaim
	}
	return claims, nil
}

// RoutingFailed implements [guardian.RoutingQueue]. The claim's attempt
// identifies it: a report routed since (attempts reset), queued again, or
// claimed again after the lease has a different count and is left alone.
func (s *Store) RoutingFailed(ctx context.Context, c guardian.RoutingClaim, reason string, retryIn time.Duration) error {
	reason = guardian.Clip(reason, 1000)
	err := s.update(ctx, func(tx *tx) error {
		if retryIn <= 0 {
			_, err := tx.exec(`UPDATE reports SET route_order = NULL, route_after = NULL, route_error = ?
				WHERE id = ? AND route_order IS NOT NULL AND route_attempts = ?`, reason, c.ReportID, c.Attempt)
			return err
		}
		_, err := tx.exec(`UPDATE reports SET route_after = ?, route_error = ?
			WHERE id = ? AND route_order IS NOT NULL AND route_attempts = ?`, tx.t(tx.now.Add(retryIn)), reason, c.ReportID, c.Attempt)
		return err
	})
	if err != nil {
		return fmt.Errorf("record failed routing of report %d: %w", c.ReportID, err)
	}
	return nil
}

// ReleaseRouting implements [guardian.RoutingQueue].
func (s *Store) ReleaseRouting(ctx context.Context, c guardian.RoutingClaim) error {
	err := s.update(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE reports SET route_after = NULL, route_attempts = route_attempts - 1
			WHERE id = ? AND route_order IS NOT NULL AND route_attempts = ?`, c.ReportID, c.Attempt)
		return err
	})
	if err != nil {
		return fmt.Errorf("release routing claim of report %d: %w", c.ReportID, err)
	}
	return nil
}

// QueueRouting queues a finished report for routing at order, unless it is
// queued already. jobs.AdoptTriageJobs uses it for the triage jobs River
// held before schema version 15; a report not finished is left alone.
func (s *Store) QueueRouting(ctx context.Context, reportID int64, order int) error {
	if order < guardian.RoutingFirst || order > guardian.RoutingInTurn {
		order = guardian.RoutingInTurn
	}
	err := s.update(ctx, func(tx *tx) error {
		_, err := tx.exec(`UPDATE reports SET route_order = ?, route_after = NULL, route_attempts = 0, route_error = NULL
			WHERE id = ? AND state = ? AND route_order IS NULL`, order, reportID, string(guardian.ReportFinished))
		return err
	})
	if err != nil {
		return fmt.Errorf("queue report %d for routing: %w", reportID, err)
	}
	return nil
}
