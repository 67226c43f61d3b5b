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
	withdrawn_at, updated_at, assignee, outcome, decline, escalation, escalated_at, liaison_agency_id`

// RouteReport implements [guardian.RoutingStore]. The report's row is
// locked first (FOR UPDATE on PostgreSQL; SQLite's single writer excludes
// everyone), so two routing runs of one report apply one after the other,
// and the second sees the first's referrals. The assessment and triage are
// stored sealed under the report's key: they hold what the report says
// (addresses, telephone codes), and the referrals' plain columns hold what
// queries need.
//
// Every run takes the report out of the routing queue, whether it was in
// it or not, so every run changes the report's row: that is what lets a
// run on PostgreSQL learn, in the statement that locks the row, whether
// there is anything of an earlier run to read (see lockForRouting).
func (s *Store) RouteReport(ctx context.Context, reportID int64, actor guardian.Actor, network string, receivedAt, triagedAt time.Time, fn guardian.RoutingFunc) error {
	if err := s.needSealer(); err != nil {
		return fmt.Errorf("route report %d: %w", reportID, err)
	}
	err := s.update(ctx, func(tx *tx) error {
		k := reportKey{reportID: reportID}
		has, err := s.lockForRouting(tx, &k)
		if err != nil {
			return err
		}
		st := guardian.RoutingState{Referrals: []*guardian.Referral{}}
		if has.referrals {
			if st.Referrals, err = findReferrals(tx, reportID); err != nil {
				return err
			}
		}
		if has.overrides {
			if st.Overrides, err = findOverrides(tx, reportID); err != nil {
				return err
			}
		}
		u, err := fn(&st)
		if err != nil {
			return err
		}
		return s.applyRouting(tx, k, has, actor, network, receivedAt.UTC().Truncate(time.Microsecond), triagedAt.UTC().Truncate(time.Microsecond), &st, u)
	})
	if err != nil {
		return fmt.Errorf("route report %d: %w", reportID, err)
	}
	return nil
}

// routingHas is what a routing run may find of earlier ones, and of
// analysts' overrides: true where it must read (or replace) what is there.
type routingHas struct {
	referrals, overrides, assessment, matches bool
}

// routingHasAll is what a run assumes when it has not asked: anything.
var routingHasAll = routingHas{referrals: true, overrides: true, assessment: true, matches: true}

// lockForRouting locks the report's row, takes it out of the routing queue
// and sets k's reporter and wrapped key; a report that is not finished is
// EREPORTNOTFOUND. It returns what the report has that the run must read.
//
// On PostgreSQL ([Dialect.OneStatementWrites]) this is one statement, which
// also tells whether the report has referrals, overrides, an assessment
// and hash matches, so that a report's first routing reads none of them
// and deletes no matches: with the queue's UPDATE, 5 round trips fewer.
// The statement sees the database as it was when it began; if it then
// waited for another transaction holding the row, what that one wrote is
// not in its view. So it changes the row only if the row
// is still the version its view holds (xmin, as the finish checks): every
// routing run changes the row, so a run that committed meanwhile changed
// it, and the statement changes nothing. Then, as when the report is not
// there, the run locks the row as SQLite does and reads everything after
// the lock, each read seeing what committed before it.
func (s *Store) lockForRouting(tx *tx, k *reportKey) (routingHas, error) {
	var state guardian.ReportState
	has, err := routingHasAll, sql.ErrNoRows
	if s.d.OneStatementWrites() {
		err = tx.queryRow(`WITH seen AS (SELECT xmin AS version FROM reports WHERE id = ?)
			UPDATE reports SET `+unqueued+`
			FROM seen WHERE reports.id = ? AND reports.xmin = seen.version
			RETURNING reports.state, reports.reporter_id, reports.wrapped_key,
				EXISTS (SELECT 1 FROM referrals WHERE referrals.report_id = reports.id),
				EXISTS (SELECT 1 FROM routing_overrides WHERE routing_overrides.report_id = reports.id),
				EXISTS (SELECT 1 FROM report_assessments WHERE report_assessments.report_id = reports.id),
				EXISTS (SELECT 1 FROM report_hash_matches WHERE report_hash_matches.report_id = reports.id)`,
			[]any{k.reportID, k.reportID}, &state, &k.reporterID, &k.wrapped, &has.referrals, &has.overrides, &has.assessment, &has.matches)
		if errors.Is(err, sql.ErrNoRows) {
			s.routingLocksRetried.Add(1)
		}
	}
	inOne := err == nil // the one statement also took it out of the queue
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.queryRow(`SELECT state, reporter_id, wrapped_key FROM reports WHERE id = ?`+tx.d.LockRow(), []any{k.reportID},
			&state, &k.reporterID, &k.wrapped)
	}
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != guardian.ReportFinished) {
		return has, guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", k.reportID)
	} else if err != nil {
		return has, fmt.Errorf("lock report %d: %w", k.reportID, err)
	}
	if !inOne {
		err = unqueueRouting(tx, k.reportID)
	}
	return has, err
}

// RoutingLocksRetried returns how many routing runs found the report's row
// changed while they waited for it (or found no report), and locked it
// again to read what changed (see lockForRouting): for tests and the
// curious.
func (s *Store) RoutingLocksRetried() int64 { return s.routingLocksRetried.Load() }

// applyRouting applies u, recording one audit event per decision: the
// triage, then each referral created, reinstated, updated and withdrawn,
// then the analysts' queue.
func (s *Store) applyRouting(tx *tx, k reportKey, has routingHas, actor guardian.Actor, network string, receivedAt, triagedAt time.Time, st *guardian.RoutingState, u *guardian.RoutingUpdate) error {
	run := &routingRun{s: s, tx: tx, key: k, has: has, reportID: k.reportID, actor: actor, network: network, receivedAt: receivedAt, triagedAt: triagedAt,
		justification: u.Justification, byAgency: make(map[string]*guardian.Referral, len(st.Referrals))}
	for _, r := range st.Referrals {
		run.byAgency[r.AgencyID] = r
	}
	if u.RecordHashMatches {
		if err := checkMatches(u.HashMatches); err != nil {
			return err
		}
		if err := replaceHashMatches(tx, k.reportID, u.HashMatches, has.matches); err != nil {
			return fmt.Errorf("record hash matches: %w", err)
		}
	}
	if err := run.storeTriage(u.Assessment, u.Triage); err != nil {
		return err
	}
	if err := each(u.Create, run.create); err != nil {
		return err
	}
	if err := each(u.Reinstate, run.reinstate); err != nil {
		return err
	}
	if err := each(u.Update, run.update); err != nil {
		return err
	}
	if err := each(u.Withdraw, run.withdraw); err != nil {
		return err
	}
	if u.Review {
		if err := run.queue(u.ReviewReason); err != nil {
			return err
		}
	}
	return appendAuditEventBatch(tx, run.events)
}

// each applies step to every item in order, stopping at the first error.
func each[T any](items []T, step func(T) error) error {
	for _, it := range items {
		if err := step(it); err != nil {
			return err
		}
	}
	return nil
}

// routingRun is one routing update being applied: its transaction, and
// what its changes and their audit events are stamped with.
type routingRun struct {
	s                     *Store
	tx                    *tx
	key                   reportKey // what the assessment is sealed under
	has                   routingHas
	reportID              int64
	actor                 guardian.Actor
	network               string
	receivedAt, triagedAt time.Time
	justification         string
	// byAgency holds the report's referrals as the run read them.
	byAgency map[string]*guardian.Referral
	// events are the audit events of the run's changes, in order, which
	// its last statement appends (one round trip, not one each).
	events []pendingEvent
}

// record records the audit event of one change by the run: it is checked
// now, and appended with the run's others at its end.
func (run *routingRun) record(cat guardian.AuditCategory, action, objectKind, objectID, reason string, recipients ...string) error {
	ev := &guardian.AuditEvent{
		Actor: run.actor, Category: cat, Action: action, Reason: reason, Recipients: recipients, Justification: run.justification,
		ObjectKind: objectKind, ObjectID: objectID,
	}
	args, err := recordedArgs(run.tx.d, ev, run.tx.now, objectKind, objectID, run.reportID, "")
	if err != nil {
		return err
	}
	run.events = append(run.events, pendingEvent{ev, args})
	return nil
}

// recordReferral records the audit event of a change to referral id, whose
// recipient is agency.
func (run *routingRun) recordReferral(cat guardian.AuditCategory, action string, id int64, reason, agency string) error {
	return run.record(cat, action, "referral", strconv.FormatInt(id, 10), reason, agency)
}

// existing returns the report's referral to agency, which the change named
// by verb needs.
func (run *routingRun) existing(verb, agency string) (*guardian.Referral, error) {
	old, ok := run.byAgency[agency]
	if !ok {
		return nil, fmt.Errorf("%s referral to %s: report %d has none", verb, agency, run.reportID)
	}
	return old, nil
}

// storeTriage stores the assessment and triage, if given, and records
// report.triage if they changed.
func (run *routingRun) storeTriage(a *guardian.Assessment, t *guardian.Triage) error {
	if a == nil || t == nil {
		return nil
	}
	changed, err := run.s.storeAssessment(run.tx, run.key, a, t, run.has.assessment)
	if err != nil || !changed {
		return err
	}
	return run.record(guardian.CategoryCombination, "report.triage", "report", strconv.FormatInt(run.reportID, 10), string(t.Label)+"/"+string(t.Priority))
}

// create inserts r, a new referral, and sets its ID, state and times. A
// referral not held for an analyst's confirmation leaves the hub at once:
// it is stored delivered, and recorded and handed to the referral hook as
// such after its referral.create event.
func (run *routingRun) create(r *guardian.Referral) error {
	tx := run.tx
	if !r.HeldForConfirmation && run.s.onReferral == nil {
		return errNoReferralHook
	}
	r.ReportID, r.Network, r.State = run.reportID, run.network, guardian.ReferralNew
	r.ReceivedAt, r.TriagedAt, r.RoutedAt, r.UpdatedAt = run.receivedAt, run.triagedAt, tx.now, tx.now
	r.Deadline = tx.now.Add(r.AcknowledgeWithin)
	r.DeliveredAt, r.OpenedAt, r.AcknowledgedAt, r.ClosedAt, r.WithdrawnAt, r.EscalatedAt = nil, nil, nil, nil, nil, nil
	r.Assignee, r.Outcome, r.Decline, r.Escalation, r.LiaisonAgencyID = "", nil, nil, guardian.EscalationNone, ""
	var deliveredAt any
	if !r.HeldForConfirmation {
		now := tx.now
		r.State, r.DeliveredAt, deliveredAt = guardian.ReferralDelivered, &now, tx.t(now)
	}
	scope, _ := r.DataScope.MarshalText()
	err := tx.queryRow(`
		INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
			received_at, triaged_at, routed_at, delivered_at, updated_at, escalate_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		[]any{run.reportID, r.AgencyID, run.network, strings.Join(r.Countries, ","), string(r.Channel), string(r.Reason),
			string(r.Priority), string(r.Label), r.HandlingCode, string(scope), r.AcknowledgeWithin.Microseconds(),
			r.RetentionDays, tx.t(r.Deadline), r.HeldForConfirmation, string(r.State),
			tx.t(run.receivedAt), tx.t(run.triagedAt), tx.t(tx.now), deliveredAt, tx.t(tx.now), escalateAt(tx, r)}, &r.ID)
	if err != nil {
		return fmt.Errorf("insert referral to %s: %w", r.AgencyID, err)
	}
	if err := run.recordReferral(guardian.CategoryDisclosure, "referral.create", r.ID, string(r.Reason), r.AgencyID); err != nil {
		return err
	}
	if r.HeldForConfirmation {
		return nil
	}
	return run.delivered(r)
}

// delivered records the delivery of r, which the run has just stored
// delivered, and runs the referral hook.
func (run *routingRun) delivered(r *guardian.Referral) error {
	if err := run.recordReferral(guardian.CategoryDisclosure, "referral.deliver", r.ID, "", r.AgencyID); err != nil {
		return err
	}
	return run.s.referralChanged(run.tx, guardian.ReferralChange{Event: guardian.EventDelivered, Referral: r})
}

// reinstate makes the agency's existing referral new again with r's
// countries and terms, or delivered at once if it is not held. What the
// agency did with it before (opened, acknowledged, escalated, declined,
// answered) belongs to the delivery that ended, which the audit log keeps:
// the reinstated referral starts afresh.
func (run *routingRun) reinstate(r *guardian.Referral) error {
	old, err := run.existing("reinstate", r.AgencyID)
	if err != nil {
		return err
	}
	if !r.HeldForConfirmation && run.s.onReferral == nil {
		return errNoReferralHook
	}
	tx := run.tx
	deadline := tx.now.Add(r.AcknowledgeWithin)
	state, deliveredAt, escalate := guardian.ReferralNew, any(nil), any(nil)
	if !r.HeldForConfirmation {
		// Delivered afresh, at level 0: its first escalation is at the
		// new deadline.
		state, deliveredAt, escalate = guardian.ReferralDelivered, tx.t(tx.now), tx.t(deadline)
	}
	scope, _ := r.DataScope.MarshalText()
	_, err = tx.exec(`
		UPDATE referrals SET network = ?, countries = ?, channel = ?, reason = ?, priority = ?, label = ?,
			handling_code = ?, data_scope = ?, acknowledge_within_us = ?, retention_days = ?, deadline = ?,
			held = ?, state = ?, triaged_at = ?, routed_at = ?, withdrawn_at = NULL, updated_at = ?,
			delivered_at = ?, opened_at = NULL, acknowledged_at = NULL, closed_at = NULL, assignee = '',
			outcome = '', decline = '', escalation = 0, escalated_at = NULL, liaison_agency_id = '', escalate_at = ?
		WHERE id = ?`,
		run.network, strings.Join(r.Countries, ","), string(r.Channel), string(r.Reason), string(r.Priority), string(r.Label),
		r.HandlingCode, string(scope), r.AcknowledgeWithin.Microseconds(), r.RetentionDays,
		tx.t(deadline), r.HeldForConfirmation, string(state),
		tx.t(run.triagedAt), tx.t(tx.now), tx.t(tx.now), deliveredAt, escalate, old.ID)
	if err != nil {
		return fmt.Errorf("reinstate referral %d: %w", old.ID, err)
	}
	if err := run.recordReferral(guardian.CategoryDisclosure, "referral.reinstate", old.ID, string(r.Reason), r.AgencyID); err != nil {
		return err
	}
	if r.HeldForConfirmation {
		return nil
	}
	now, err := findReferral(tx, old.ID)
	if err != nil {
		return err
	}
	return run.delivered(now)
}

// update records r's countries (and the run's network) on the agency's
// existing referral.
func (run *routingRun) update(r *guardian.Referral) error {
	old, err := run.existing("update", r.AgencyID)
	if err != nil {
		return err
	}
	if _, err := run.tx.exec(`UPDATE referrals SET countries = ?, network = ?, updated_at = ? WHERE id = ?`,
		strings.Join(r.Countries, ","), run.network, run.tx.t(run.tx.now), old.ID); err != nil {
		return fmt.Errorf("update referral %d: %w", old.ID, err)
	}
	return run.recordReferral(guardian.CategoryAlteration, "referral.update", old.ID, "countries", r.AgencyID)
}

// withdraw withdraws the agency's referral, which must still be new: one
// delivered meanwhile is an error, and the run rolls back.
func (run *routingRun) withdraw(agency string) error {
	old, err := run.existing("withdraw", agency)
	if err != nil {
		return err
	}
	tx := run.tx
	res, err := tx.exec(`UPDATE referrals SET state = ?, withdrawn_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
		string(guardian.ReferralWithdrawn), tx.t(tx.now), tx.t(tx.now), old.ID, string(guardian.ReferralNew))
	if err != nil {
		return fmt.Errorf("withdraw referral %d: %w", old.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("withdraw referral %d: %w", old.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("withdraw referral %d: it is %s, not new", old.ID, old.State)
	}
	return run.recordReferral(guardian.CategoryAlteration, "referral.withdraw", old.ID, "", agency)
}

// queue puts the report in the analysts' queue with reason, and records
// report.queue, unless it is waiting there already: a report already
// waiting keeps its place.
func (run *routingRun) queue(reason string) error {
	res, err := run.tx.exec(`
		INSERT INTO analyst_queue (report_id, reason, since) VALUES (?, ?, ?)
		ON CONFLICT (report_id) DO UPDATE SET reason = excluded.reason, since = excluded.since, resolved_at = NULL
		WHERE analyst_queue.resolved_at IS NOT NULL`,
		run.reportID, reason, run.tx.t(run.tx.now))
	if err != nil {
		return fmt.Errorf("queue report %d: %w", run.reportID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("queue report %d: %w", run.reportID, err)
	}
	if n == 0 {
		return nil
	}
	return run.record(guardian.CategoryAlteration, "report.queue", "report", strconv.FormatInt(run.reportID, 10), "")
}

// storeAssessment stores a's and t's JSON, sealed under the report's key,
// unless the same is stored, and reports whether it changed anything.
// Unless mayExist, the report is known to have none stored yet.
func (s *Store) storeAssessment(tx *tx, k reportKey, a *guardian.Assessment, t *guardian.Triage, mayExist bool) (bool, error) {
	aj, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("encode assessment: %w", err)
	}
	tj, err := json.Marshal(t)
	if err != nil {
		return false, fmt.Errorf("encode triage: %w", err)
	}
	var oldA, oldT []byte
	var sealed bool
	err = sql.ErrNoRows
	if mayExist {
		err = tx.queryRow(`SELECT assessment, triage, sealed FROM report_assessments WHERE report_id = ?`, []any{k.reportID}, &oldA, &oldT, &sealed)
	}
	exists := err == nil
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, fmt.Errorf("read assessment: %w", err)
	default:
		if oldA, err = s.open(k, labelAssessment, oldA, sealed); err != nil {
			return false, err
		}
		if oldT, err = s.open(k, labelTriage, oldT, sealed); err != nil {
			return false, err
		}
		if bytes.Equal(oldA, aj) && bytes.Equal(oldT, tj) {
			return false, nil
		}
	}
	sa, err := s.seal(k, labelAssessment, aj)
	if err != nil {
		return false, err
	}
	st, err := s.seal(k, labelTriage, tj)
	if err != nil {
		return false, err
	}
	if exists {
		_, err = tx.exec(`UPDATE report_assessments SET assessment = ?, triage = ?, sealed = TRUE, rules_version = ?, updated_at = ? WHERE report_id = ?`,
			sa, st, t.RulesVersion, tx.t(tx.now), k.reportID)
	} else {
		_, err = tx.exec(`INSERT INTO report_assessments (report_id, assessment, triage, sealed, rules_version, created_at, updated_at)
			VALUES (?, ?, ?, TRUE, ?, ?, ?)`, k.reportID, sa, st, t.RulesVersion, tx.t(tx.now), tx.t(tx.now))
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
	return scanReferrals(rows)
}

// scanReferrals scans rows of referralColumns and closes rows.
func scanReferrals(rows *sql.Rows) ([]*guardian.Referral, error) {
	defer rows.Close()
	out := []*guardian.Referral{}
	for rows.Next() {
		r, err := scanReferral(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find referrals: %w", err)
	}
	return out, nil
}

// scanReferral scans one row of referralColumns.
func scanReferral(rows *sql.Rows) (*guardian.Referral, error) {
	var row referralRow
	if err := rows.Scan(row.dest()...); err != nil {
		return nil, fmt.Errorf("scan referral: %w", err)
	}
	return row.referral()
}

// referralRow receives one row of referralColumns, from a query or from a
// statement that returns it with more columns (see acknowledgeStatement).
type referralRow struct {
	r                                  guardian.Referral
	countries, scope, outcome, decline string
	ackUS                              int64
}

// dest returns the destinations of referralColumns, in order.
func (row *referralRow) dest() []any {
	r := &row.r
	return []any{&r.ID, &r.ReportID, &r.AgencyID, &r.Network, &row.countries, &r.Channel, &r.Reason,
		&r.Priority, &r.Label, &r.HandlingCode, &row.scope, &row.ackUS, &r.RetentionDays, timeScanner{&r.Deadline},
		&r.HeldForConfirmation, &r.State, timeScanner{&r.ReceivedAt}, timeScanner{&r.TriagedAt},
		timeScanner{&r.RoutedAt}, nullTimeScanner{&r.DeliveredAt}, nullTimeScanner{&r.OpenedAt},
		nullTimeScanner{&r.AcknowledgedAt}, nullTimeScanner{&r.ClosedAt}, nullTimeScanner{&r.WithdrawnAt},
		timeScanner{&r.UpdatedAt}, &r.Assignee, &row.outcome, &row.decline, &r.Escalation, nullTimeScanner{&r.EscalatedAt},
		&r.LiaisonAgencyID}
}

// referral makes the referral of the row scanned.
func (row *referralRow) referral() (*guardian.Referral, error) {
	r := row.r
	r.Countries = []string{}
	if row.countries != "" {
		r.Countries = strings.Split(row.countries, ",")
	}
	if err := r.DataScope.UnmarshalText([]byte(row.scope)); err != nil {
		return nil, fmt.Errorf("scan referral %d: %w", r.ID, err)
	}
	r.AcknowledgeWithin = time.Duration(row.ackUS) * time.Microsecond
	if row.outcome != "" {
		r.Outcome = new(guardian.Outcome)
		if err := json.Unmarshal([]byte(row.outcome), r.Outcome); err != nil {
			return nil, fmt.Errorf("scan referral %d: outcome: %w", r.ID, err)
		}
	}
	if row.decline != "" {
		r.Decline = new(guardian.Decline)
		if err := json.Unmarshal([]byte(row.decline), r.Decline); err != nil {
			return nil, fmt.Errorf("scan referral %d: decline: %w", r.ID, err)
		}
	}
	return &r, nil
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
	err := s.readOne(ctx, func(tx *tx) (err error) {
		out, err = findReferrals(tx, reportID)
		return err
	})
	return out, err
}

// FindReportAssessment implements [guardian.RoutingStore]. It opens the
// sealed assessment and triage; those of a report whose key is destroyed
// went with it, and come back empty (zero Assessment and Triage) beside
// the rules version and times.
func (s *Store) FindReportAssessment(ctx context.Context, reportID int64) (*guardian.ReportAssessment, error) {
	if err := s.needSealer(); err != nil {
		return nil, fmt.Errorf("find assessment: %w", err)
	}
	ra := guardian.ReportAssessment{ReportID: reportID}
	var aj, tj []byte
	var sealed bool
	k := reportKey{reportID: reportID}
	err := s.queryRow(ctx, `
		SELECT a.assessment, a.triage, a.sealed, a.rules_version, a.created_at, a.updated_at, r.reporter_id, r.wrapped_key
		FROM report_assessments a JOIN reports r ON r.id = a.report_id
		WHERE a.report_id = ?`,
		[]any{reportID}, &aj, &tj, &sealed, &ra.RulesVersion, timeScanner{&ra.CreatedAt}, timeScanner{&ra.UpdatedAt},
		&k.reporterID, &k.wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Report %d has not been triaged.", reportID)
	} else if err != nil {
		return nil, fmt.Errorf("find assessment: %w", err)
	}
	if k.wrapped == nil {
		return &ra, nil
	}
	if aj, err = s.open(k, labelAssessment, aj, sealed); err != nil {
		return nil, fmt.Errorf("find assessment: %w", err)
	}
	if tj, err = s.open(k, labelTriage, tj, sealed); err != nil {
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
	err := s.readOne(ctx, func(tx *tx) error {
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
	if !o.Action.Valid() {
		return guardian.Errorf(guardian.EINVALID, "Unknown routing override %q.", o.Action)
	}
	err := s.update(ctx, func(tx *tx) error {
		o.CreatedAt = tx.now
		err := tx.queryRow(`INSERT INTO routing_overrides (report_id, agency_id, action, actor, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			[]any{o.ReportID, o.AgencyID, string(o.Action), o.Actor, tx.t(tx.now)}, &o.ID)
		if err != nil {
			return err
		}
		if ev.Reason == "" {
			ev.Reason = string(o.Action)
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
