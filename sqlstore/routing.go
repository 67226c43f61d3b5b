package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

var _ guardian.RoutingStore = (*Store)(nil)

const referralColumns = `id, report_id, agency_id, network, countries, channel, reason, priority, label,
	handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
	received_at, triaged_at, routed_at, delivered_at, opened_at, acknowledged_at, closed_at,
	withdrawn_at, updated_at, assignee, outcome`

// RouteReport implements [guardian.RoutingStore]. The report's row is
// locked first (FOR UPDATE on PostgreSQL; SQLite's single writer excludes
// everyone), so two routing runs of one report apply one after the other,
// and the second sees the first's referrals.
func (s *Store) RouteReport(ctx context.Context, reportID int64, actor guardian.Actor, network string, receivedAt, triagedAt time.Time, fn guardian.RoutingFunc) error {
	err := s.update(ctx, func(tx *tx) error {
		var state guardian.ReportState
		err := tx.queryRow(`SELECT state FROM reports WHERE id = ?`+tx.d.LockRow(), []any{reportID}, &state)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != guardian.ReportFinished) {
			return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", reportID)
		} else if err != nil {
			return fmt.Errorf("lock report %d: %w", reportID, err)
		}
		var st guardian.RoutingState
		if st.Referrals, err = findReferrals(tx, reportID); err != nil {
			return err
		}
		if st.Overrides, err = findOverrides(tx, reportID); err != nil {
			return err
		}
		u, err := fn(&st)
		if err != nil {
			return err
		}
		return applyRouting(tx, reportID, actor, network, receivedAt.UTC().Truncate(time.Microsecond), triagedAt.UTC().Truncate(time.Microsecond), &st, u)
	})
	if err != nil {
		return fmt.Errorf("route report %d: %w", reportID, err)
	}
	return nil
}

// applyRouting applies u, recording one audit event per decision.
func applyRouting(tx *tx, reportID int64, actor guardian.Actor, network string, receivedAt, triagedAt time.Time, st *guardian.RoutingState, u *guardian.RoutingUpdate) error {
	id := strconv.FormatInt(reportID, 10)
	event := func(cat guardian.AuditCategory, action, objectKind, objectID, reason string, recipients ...string) error {
		return recordSuccess(tx, &guardian.AuditEvent{
			Actor: actor, Category: cat, Action: action, Reason: reason, Recipients: recipients, Justification: u.Justification,
			ObjectKind: objectKind, ObjectID: objectID,
		}, objectKind, objectID, reportID, "")
	}
	if u.Assessment != nil && u.Triage != nil {
		changed, err := storeAssessment(tx, reportID, u.Assessment, u.Triage)
		if err != nil {
			return err
		}
		if changed {
			reason := string(u.Triage.Label) + "/" + string(u.Triage.Priority)
			if err := event(guardian.CategoryCombination, "report.triage", "report", id, reason); err != nil {
				return err
			}
		}
	}
	byAgency := make(map[string]*guardian.Referral, len(st.Referrals))
	for _, r := range st.Referrals {
		byAgency[r.AgencyID] = r
	}
	for _, r := range u.Create {
		r.ReportID, r.Network, r.State = reportID, network, guardian.ReferralNew
		r.ReceivedAt, r.TriagedAt, r.RoutedAt, r.UpdatedAt = receivedAt, triagedAt, tx.now, tx.now
		r.Deadline = tx.now.Add(r.AcknowledgeWithin)
		scope, _ := r.DataScope.MarshalText()
		err := tx.queryRow(`
			INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
				handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
				received_at, triaged_at, routed_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{reportID, r.AgencyID, network, strings.Join(r.Countries, ","), string(r.Channel), r.Reason,
				string(r.Priority), string(r.Label), r.HandlingCode, string(scope), r.AcknowledgeWithin.Microseconds(),
				r.RetentionDays, tx.t(r.Deadline), r.HeldForConfirmation, string(r.State),
				tx.t(receivedAt), tx.t(triagedAt), tx.t(tx.now), tx.t(tx.now)}, &r.ID)
		if err != nil {
			return fmt.Errorf("insert referral to %s: %w", r.AgencyID, err)
		}
		if err := event(guardian.CategoryDisclosure, "referral.create", "referral", strconv.FormatInt(r.ID, 10), r.Reason, r.AgencyID); err != nil {
			return err
		}
	}
	for _, r := range u.Reinstate {
		old, ok := byAgency[r.AgencyID]
		if !ok {
			return fmt.Errorf("reinstate referral to %s: report %d has none", r.AgencyID, reportID)
		}
		scope, _ := r.DataScope.MarshalText()
		_, err := tx.exec(`
			UPDATE referrals SET network = ?, countries = ?, channel = ?, reason = ?, priority = ?, label = ?,
				handling_code = ?, data_scope = ?, acknowledge_within_us = ?, retention_days = ?, deadline = ?,
				held = ?, state = ?, triaged_at = ?, routed_at = ?, withdrawn_at = NULL, updated_at = ?
			WHERE id = ?`,
			network, strings.Join(r.Countries, ","), string(r.Channel), r.Reason, string(r.Priority), string(r.Label),
			r.HandlingCode, string(scope), r.AcknowledgeWithin.Microseconds(), r.RetentionDays,
			tx.t(tx.now.Add(r.AcknowledgeWithin)), r.HeldForConfirmation, string(guardian.ReferralNew),
			tx.t(triagedAt), tx.t(tx.now), tx.t(tx.now), old.ID)
		if err != nil {
			return fmt.Errorf("reinstate referral %d: %w", old.ID, err)
		}
		if err := event(guardian.CategoryDisclosure, "referral.reinstate", "referral", strconv.FormatInt(old.ID, 10), r.Reason, r.AgencyID); err != nil {
			return err
		}
	}
	for _, r := range u.Update {
		old, ok := byAgency[r.AgencyID]
		if !ok {
			return fmt.Errorf("update referral to %s: report %d has none", r.AgencyID, reportID)
		}
		if _, err := tx.exec(`UPDATE referrals SET countries = ?, network = ?, updated_at = ? WHERE id = ?`,
			strings.Join(r.Countries, ","), network, tx.t(tx.now), old.ID); err != nil {
			return fmt.Errorf("update referral %d: %w", old.ID, err)
		}
		if err := event(guardian.CategoryAlteration, "referral.update", "referral", strconv.FormatInt(old.ID, 10), "countries", r.AgencyID); err != nil {
			return err
		}
	}
	for _, agency := range u.Withdraw {
		old, ok := byAgency[agency]
		if !ok {
			return fmt.Errorf("withdraw referral to %s: report %d has none", agency, reportID)
		}
		res, err := tx.exec(`UPDATE referrals SET state = ?, withdrawn_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
			string(guardian.ReferralWithdrawn), tx.t(tx.now), tx.t(tx.now), old.ID, string(guardian.ReferralNew))
		if err != nil {
			return fmt.Errorf("withdraw referral %d: %w", old.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("withdraw referral %d: it is %s, not new", old.ID, old.State)
		}
		if err := event(guardian.CategoryAlteration, "referral.withdraw", "referral", strconv.FormatInt(old.ID, 10), "", agency); err != nil {
			return err
		}
	}
	if u.Review {
		// One open entry per report: a report already waiting keeps its
		// place in the queue.
		res, err := tx.exec(`
			INSERT INTO analyst_queue (report_id, reason, since) VALUES (?, ?, ?)
			ON CONFLICT (report_id) DO UPDATE SET reason = excluded.reason, since = excluded.since, resolved_at = NULL
			WHERE analyst_queue.resolved_at IS NOT NULL`,
			reportID, u.ReviewReason, tx.t(tx.now))
		if err != nil {
			return fmt.Errorf("queue report %d: %w", reportID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("queue report %d: %w", reportID, err)
		} else if n > 0 {
			if err := event(guardian.CategoryAlteration, "report.queue", "report", id, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeAssessment stores a's and t's JSON unless the same is stored, and
// reports whether it changed anything.
func storeAssessment(tx *tx, reportID int64, a *guardian.Assessment, t *guardian.Triage) (bool, error) {
	aj, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode assessment: %w", err)
	}
	tj, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("encode triage: %w", err)
	}
	var oldA, oldT []byte
	err = tx.queryRow(`SELECT assessment, triage FROM report_assessments WHERE report_id = ?`, []any{reportID}, &oldA, &oldT)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.exec(`INSERT INTO report_assessments (report_id, assessment, triage, rules_version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, reportID, string(aj), string(tj), t.RulesVersion, tx.t(tx.now), tx.t(tx.now))
	case err != nil:
		return false, fmt.Errorf("read assessment: %w", err)
	case bytes.Equal(oldA, aj) && bytes.Equal(oldT, tj):
		return false, nil
	default:
		_, err = tx.exec(`UPDATE report_assessments SET assessment = ?, triage = ?, rules_version = ?, updated_at = ? WHERE report_id = ?`,
			string(aj), string(tj), t.RulesVersion, tx.t(tx.now), reportID)
	}
	if err != nil {
		return false, fmt.Errorf("store assessment: %w", err)
	}
	return true, nil
}

// findReferrals returns the report's referrals in creation order.
func findReferrals(tx *tx, reportID int64) ([]*guardian.Referral, error) {
	rows, err := tx.query(`SELECT `+referralColumns+` FROM referrals WHERE report_id = ? ORDER BY id`, reportID)
	if err != nil {
		return nil, fmt.Errorf("find referrals: %w", err)
	}
	defer rows.Close()
	out := []*guardian.Referral{}
	for rows.Next() {
		var r guardian.Referral
		var countries, scope string
		var ackUS int64
		err := rows.Scan(&r.ID, &r.ReportID, &r.AgencyID, &r.Network, &countries, &r.Channel, &r.Reason,
			&r.Priority, &r.Label, &r.HandlingCode, &scope, &ackUS, &r.RetentionDays, timeScanner{&r.Deadline},
			&r.HeldForConfirmation, &r.State, timeScanner{&r.ReceivedAt}, timeScanner{&r.TriagedAt},
			timeScanner{&r.RoutedAt}, nullTimeScanner{&r.DeliveredAt}, nullTimeScanner{&r.OpenedAt},
			nullTimeScanner{&r.AcknowledgedAt}, nullTimeScanner{&r.ClosedAt}, nullTimeScanner{&r.WithdrawnAt},
			timeScanner{&r.UpdatedAt}, &r.Assignee, &r.Outcome)
		if err != nil {
			return nil, fmt.Errorf("scan referral: %w", err)
		}
		r.Countries = []string{}
		if countries != "" {
			r.Countries = strings.Split(countries, ",")
		}
		if err := r.DataScope.UnmarshalText([]byte(scope)); err != nil {
			return nil, fmt.Errorf("scan referral %d: %w", r.ID, err)
		}
		r.AcknowledgeWithin = time.Duration(ackUS) * time.Microsecond
		out = append(out, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find referrals: %w", err)
	}
	return out, nil
}

func findOverrides(tx *tx, reportID int64) ([]*guardian.RoutingOverride, error) {
	rows, err := tx.query(`SELECT id, report_id, agency_id, action, actor, created_at FROM routing_overrides WHERE report_id = ? ORDER BY id`, reportID)
	if err != nil {
		return nil, fmt.Errorf("find overrides: %w", err)
	}
	defer rows.Close()
	var out []*guardian.RoutingOverride
	for rows.Next() {
		var o guardian.RoutingOverride
		if err := rows.Scan(&o.ID, &o.ReportID, &o.AgencyID, &o.Action, &o.Actor, timeScanner{&o.CreatedAt}); err != nil {
			return nil, fmt.Errorf("scan override: %w", err)
		}
		out = append(out, &o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find overrides: %w", err)
	}
	return out, nil
}

// FindReferrals implements [guardian.RoutingStore].
func (s *Store) FindReferrals(ctx context.Context, reportID int64) ([]*guardian.Referral, error) {
	var out []*guardian.Referral
	err := s.view(ctx, func(tx *tx) (err error) {
		out, err = findReferrals(tx, reportID)
		return err
	})
	return out, err
}

// FindReportAssessment implements [guardian.RoutingStore].
func (s *Store) FindReportAssessment(ctx context.Context, reportID int64) (*guardian.ReportAssessment, error) {
	ra := guardian.ReportAssessment{ReportID: reportID}
	var aj, tj []byte
	err := s.queryRow(ctx, `SELECT assessment, triage, rules_version, created_at, updated_at FROM report_assessments WHERE report_id = ?`,
		[]any{reportID}, &aj, &tj, &ra.RulesVersion, timeScanner{&ra.CreatedAt}, timeScanner{&ra.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Report %d has not been triaged.", reportID)
	} else if err != nil {
		return nil, fmt.Errorf("find assessment: %w", err)
	}
	if err := json.Unmarshal(aj, &ra.Assessment); err != nil {
		return nil, fmt.Errorf("decode assessment: %w", err)
	}
	if err := json.Unmarshal(tj, &ra.Triage); err != nil {
		return nil, fmt.Errorf("decode triage: %w", err)
	}
	return &ra, nil
}

// FindQueueEntry implements [guardian.RoutingStore].
func (s *Store) FindQueueEntry(ctx context.Context, reportID int64) (*guardian.QueueEntry, error) {
	q := guardian.QueueEntry{ReportID: reportID}
	err := s.queryRow(ctx, `SELECT reason, since, resolved_at FROM analyst_queue WHERE report_id = ?`,
		[]any{reportID}, &q.Reason, timeScanner{&q.Since}, nullTimeScanner{&q.ResolvedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Report %d is not in the analysts' queue.", reportID)
	} else if err != nil {
		return nil, fmt.Errorf("find queue entry: %w", err)
	}
	return &q, nil
}

// FindAnalystQueue implements [guardian.RoutingStore]. A limit of 0 or
// less returns up to 100 entries.
func (s *Store) FindAnalystQueue(ctx context.Context, limit int) ([]*guardian.QueueEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []*guardian.QueueEntry
	err := s.view(ctx, func(tx *tx) error {
		rows, err := tx.query(`SELECT report_id, reason, since FROM analyst_queue WHERE resolved_at IS NULL ORDER BY since, report_id LIMIT ?`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q guardian.QueueEntry
			if err := rows.Scan(&q.ReportID, &q.Reason, timeScanner{&q.Since}); err != nil {
				return err
			}
			out = append(out, &q)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find analyst queue: %w", err)
	}
	return out, nil
}

// ResolveQueueEntry implements [guardian.RoutingStore].
func (s *Store) ResolveQueueEntry(ctx context.Context, reportID int64, ev *guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		res, err := tx.exec(`UPDATE analyst_queue SET resolved_at = ? WHERE report_id = ? AND resolved_at IS NULL`, tx.t(tx.now), reportID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return guardian.Errorf(guardian.ENOTFOUND, "Report %d is not in the analysts' queue.", reportID)
		}
		return recordSuccess(tx, ev, "report", strconv.FormatInt(reportID, 10), reportID, "")
	})
	if err != nil {
		return fmt.Errorf("resolve queue entry: %w", err)
	}
	return nil
}

// AddRoutingOverride implements [guardian.RoutingStore].
func (s *Store) AddRoutingOverride(ctx context.Context, o *guardian.RoutingOverride, ev *guardian.AuditEvent) error {
	switch o.Action {
	case "add", "withdraw", "clear":
	default:
		return guardian.Errorf(guardian.EINVALID, "Unknown routing override %q.", o.Action)
	}
	err := s.update(ctx, func(tx *tx) error {
		o.CreatedAt = tx.now
		err := tx.queryRow(`INSERT INTO routing_overrides (report_id, agency_id, action, actor, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			[]any{o.ReportID, o.AgencyID, o.Action, o.Actor, tx.t(tx.now)}, &o.ID)
		if err != nil {
			return err
		}
		if ev.Reason == "" {
			ev.Reason = o.Action
		}
		if len(ev.Recipients) == 0 {
			ev.Recipients = []string{o.AgencyID}
		}
		return recordSuccess(tx, ev, "report", strconv.FormatInt(o.ReportID, 10), o.ReportID, "")
	})
	if err != nil {
		return fmt.Errorf("add routing override: %w", err)
	}
	return nil
}

// RecordNetworkVersion implements [guardian.RoutingStore].
func (s *Store) RecordNetworkVersion(ctx context.Context, digest string, content []byte, ev *guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		_, err := tx.exec(`INSERT INTO network_versions (digest, content, loaded_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
			digest, content, tx.t(tx.now))
		if err != nil {
			return err
		}
		return recordSuccess(tx, ev, "network", digest, 0, "")
	})
	if err != nil {
		return fmt.Errorf("record network version: %w", err)
	}
	return nil
}

// FindNetworkVersion implements [guardian.RoutingStore].
func (s *Store) FindNetworkVersion(ctx context.Context, digest string) ([]byte, time.Time, error) {
	var b []byte
	var t time.Time
	err := s.queryRow(ctx, `SELECT content, loaded_at FROM network_versions WHERE digest = ?`, []any{digest}, &b, timeScanner{&t})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, guardian.Errorf(guardian.ENOTFOUND, "Network version %s not found.", digest)
	} else if err != nil {
		return nil, time.Time{}, fmt.Errorf("find network version: %w", err)
	}
	return b, t, nil
}
