package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

var (
	_ guardian.DeliveryStore      = (*Store)(nil)
	_ guardian.WebhookSecretStore = (*Store)(nil)
)

// Page sizes of ListReferrals, and bounds on what a query may list.
const (
	defaultReferralPage = 50
	maxReferralPage     = 500
	// maxQueryCountries bounds EscalatedCountries: an agreement covers at
	// most every country there is.
	maxQueryCountries = 300
	// maxTargetLen bounds a notification's target (an address or a URL).
	maxTargetLen = 2048
	// maxSecretLen bounds a sealed webhook secret.
	maxSecretLen = 1024
	// maxNameLen bounds identifiers the store is given: agency ids, a
	// message's author.
	maxNameLen = 256
)

// hubSupervisors is the recipient of an escalation to the hub.
const hubSupervisors = "hub:supervisors"

// referralChanged runs the referral hook in tx. A store opened without one
// refuses the change: its work (a notification, an escalation) would never
// happen.
func (s *Store) referralChanged(tx *tx, ch guardian.ReferralChange) error {
	if s.onReferral == nil {
		return errNoReferralHook
	}
	if err := s.onReferral(tx.ctx, tx.tx, ch); err != nil {
		return fmt.Errorf("referral hook: %w", err)
	}
	return nil
}

// findReferral reads one referral in tx, locking its row for the rest of
// the transaction (PostgreSQL; SQLite's writer excludes everyone), or
// ENOTFOUND.
func findReferral(tx *tx, id int64) (*guardian.Referral, error) {
	rows, err := tx.query(`SELECT `+referralColumns+` FROM referrals WHERE id = ?`+tx.d.LockRow(), id)
	return oneReferral(id, rows, err)
}

// oneReferral scans the referral that a query by its id returned, or
// ENOTFOUND if it returned none.
func oneReferral(id int64, rows *sql.Rows, err error) (*guardian.Referral, error) {
	if err != nil {
		return nil, fmt.Errorf("find referral %d: %w", id, err)
	}
	rs, err := scanReferrals(rows)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Referral %d not found.", id)
	}
	return rs[0], nil
}

// checkDeliveryEvent sets ev's action and category to those of the change, which
// the caller may have left empty; other ones are a mistake of the caller's.
func checkDeliveryEvent(ev *guardian.AuditEvent, action string, cat guardian.AuditCategory) error {
	if ev == nil {
		return errors.New("audit event missing: every change is recorded")
	}
	if ev.Action == "" {
		ev.Action = action
	}
	if ev.Category == "" {
		ev.Category = cat
	}
	if ev.Action != action || ev.Category != cat {
		return fmt.Errorf("audit event %s (%s) given for %s (%s)", ev.Action, ev.Category, action, cat)
	}
	return nil
}

// recordReferral completes ev as the record of a change to r and appends
// it: the action and category of the change, reason, and the recipients
// of a disclosure.
func recordReferral(tx *tx, ev *guardian.AuditEvent, action string, cat guardian.AuditCategory, r *guardian.Referral, reason string, recipients ...string) error {
	if err := referralEvent(ev, action, cat, r.ID, reason, recipients...); err != nil {
		return err
	}
	return recordSuccess(tx, ev, "referral", ev.ObjectID, r.ReportID, "")
}

// referralEvent makes ev the event of change action to referral id, with
// reason and, if given, recipients.
func referralEvent(ev *guardian.AuditEvent, action string, cat guardian.AuditCategory, id int64, reason string, recipients ...string) error {
	if err := checkDeliveryEvent(ev, action, cat); err != nil {
		return err
	}
	ev.Reason = reason
	if len(recipients) > 0 {
		ev.Recipients = recipients
	}
	ev.ObjectKind, ev.ObjectID = "referral", strconv.FormatInt(id, 10)
	return nil
}

// nextEventOf returns the event of a second change made by the same
// request as ev: the same actor, justification and request.
func nextEventOf(ev *guardian.AuditEvent) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: ev.Actor, Justification: ev.Justification, RequestID: ev.RequestID, ClientAddr: ev.ClientAddr}
}

// referralConflict is the ECONFLICT of a referral whose state refuses a change.
func referralConflict(r *guardian.Referral, what string) error {
	return guardian.Errorf(guardian.ECONFLICT, "Referral %d is %s: it cannot be %s.", r.ID, r.State, what)
}

// changeReferral runs fn on the referral, read and locked in a write
// transaction, and returns the referral as fn left it.
func (s *Store) changeReferral(ctx context.Context, verb string, id int64, fn func(tx *tx, r *guardian.Referral) error) (*guardian.Referral, error) {
	var out *guardian.Referral
	err := s.update(ctx, func(tx *tx) error {
		r, err := findReferral(tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s referral %d: %w", verb, id, err)
	}
	return out, nil
}

// FindReferral implements [guardian.DeliveryStore].
func (s *Store) FindReferral(ctx context.Context, id int64) (*guardian.Referral, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+referralColumns+` FROM referrals WHERE id = ?`), id)
	return oneReferral(id, rows, s.d.FormatError(err))
}

// ConfirmReferral implements [guardian.DeliveryStore].
func (s *Store) ConfirmReferral(ctx context.Context, id int64, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	return s.changeReferral(ctx, "confirm", id, func(tx *tx, r *guardian.Referral) error {
		if r.State != guardian.ReferralNew || !r.HeldForConfirmation {
			return guardian.Errorf(guardian.ECONFLICT, "Referral %d is not waiting for confirmation.", r.ID)
		}
		if s.onReferral == nil {
			return errNoReferralHook
		}
		now := tx.now
		r.HeldForConfirmation, r.State, r.DeliveredAt, r.UpdatedAt = false, guardian.ReferralDelivered, &now, now
		if _, err := tx.exec(`UPDATE referrals SET held = ?, state = ?, delivered_at = ?, updated_at = ?, escalate_at = ? WHERE id = ?`,
			false, string(guardian.ReferralDelivered), tx.t(tx.now), tx.t(tx.now), escalateAt(tx, r), r.ID); err != nil {
			return err
		}
		deliver := nextEventOf(ev)
		if err := recordReferral(tx, ev, "referral.confirm", guardian.CategoryDisclosure, r, "", r.AgencyID); err != nil {
			return err
		}
		if err := recordReferral(tx, deliver, "referral.deliver", guardian.CategoryDisclosure, r, "", r.AgencyID); err != nil {
			return err
		}
		return s.referralChanged(tx, guardian.ReferralChange{Event: guardian.EventDelivered, Referral: r})
	})
}

// MarkReferralOpened implements [guardian.DeliveryStore]. A referral the
// agency has gone further with (acknowledged, closed, or sent back) is
// opened already; one it never had (new, withdrawn) is ECONFLICT.
//
// The table of [guardian.DeliveryStore] names the category of
// referral.open "access", which the audit model does not have: the event
// is a consultation, as AccessStore's referral.open is.
func (s *Store) MarkReferralOpened(ctx context.Context, id int64, ev *guardian.AuditEvent) (bool, error) {
	changed := false
	_, err := s.changeReferral(ctx, "open", id, func(tx *tx, r *guardian.Referral) error {
		switch r.State {
		case guardian.ReferralDelivered:
		case guardian.ReferralOpened, guardian.ReferralAcknowledged, guardian.ReferralClosed, guardian.ReferralRerouted:
			return nil
		default:
			return referralConflict(r, "opened")
		}
		if _, err := tx.exec(`UPDATE referrals SET state = ?, opened_at = ?, updated_at = ? WHERE id = ?`,
			string(guardian.ReferralOpened), tx.t(tx.now), tx.t(tx.now), r.ID); err != nil {
			return err
		}
		changed = true
		return recordReferral(tx, ev, "referral.open", guardian.CategoryConsultation, r, "")
	})
	return changed, err
}

// AcknowledgeReferral implements [guardian.DeliveryStore]. Where the
// dialect allows ([Dialect.OneStatementWrites]) and ev names the
// referral's report, as the API's events do, it is one statement
// (acknowledgeStatement); a referral that statement does not change goes
// through the transaction, which says why.
func (s *Store) AcknowledgeReferral(ctx context.Context, id int64, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	if s.d.OneStatementWrites() && ev != nil && ev.ReportID > 0 {
		r, err := s.acknowledgeStatement(ctx, id, ev)
		if err == nil {
			return r, nil
		} else if !errors.Is(err, errNotChanged) {
			return nil, fmt.Errorf("acknowledge referral %d: %w", id, err)
		}
		s.acknowledgesRetried.Add(1)
	}
	return s.changeReferral(ctx, "acknowledge", id, func(tx *tx, r *guardian.Referral) error {
		if r.State != guardian.ReferralDelivered && r.State != guardian.ReferralOpened {
			return referralConflict(r, "acknowledged")
		}
		if _, err := tx.exec(`UPDATE referrals SET `+acknowledgeSet+` WHERE id = ?`, append(acknowledgeArgs(tx.d, tx.now), r.ID)...); err != nil {
			return err
		}
		now := tx.now
		r.State, r.AcknowledgedAt, r.UpdatedAt = guardian.ReferralAcknowledged, &now, now
		return recordReferral(tx, ev, "referral.acknowledge", guardian.CategoryAlteration, r, "")
	})
}

// acknowledgeSet is what an acknowledgement changes of a referral, with
// the arguments acknowledgeArgs gives: both ways of acknowledging write
// the same.
const acknowledgeSet = `state = ?, acknowledged_at = ?, updated_at = ?, escalate_at = NULL`

func acknowledgeArgs(d Dialect, now time.Time) []any {
	return []any{string(guardian.ReferralAcknowledged), d.TimeValue(now), d.TimeValue(now)}
}

// acknowledgeStatement acknowledges referral id, delivered or opened and
// of ev's report, and appends ev, in one statement through the statement
// writer, keyed by the report as the intake's statements are: on
// PostgreSQL one round trip, often in a batch with other requests', where
// the transaction takes five (BEGIN, the row locked and read, UPDATE, the
// event, COMMIT). The state is checked by the UPDATE's own WHERE, which
// PostgreSQL evaluates again on the row's newest version if it waited for
// it. A referral in another state, of another report or not there changes
// nothing: errNotChanged.
func (s *Store) acknowledgeStatement(ctx context.Context, id int64, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	if err := referralEvent(ev, "referral.acknowledge", guardian.CategoryAlteration, id, ""); err != nil {
		return nil, err
	}
	now := s.clock()
	evArgs, err := recordedArgs(s.d, ev, now, "referral", ev.ObjectID, ev.ReportID, "")
	if err != nil {
		return nil, err
	}
	var row referralRow
	err = s.writeStatement(ctx, ev.ReportID, recordedSQL("", `
		UPDATE referrals SET `+acknowledgeSet+`
		WHERE id = ? AND report_id = ? AND state IN (?, ?)
		RETURNING `+referralColumns, ""),
		slices.Concat(acknowledgeArgs(s.d, now),
			[]any{id, ev.ReportID, string(guardian.ReferralDelivered), string(guardian.ReferralOpened)}, evArgs),
		append(row.dest(), &ev.ID)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotChanged
	} else if err != nil {
		return nil, err
	}
	return row.referral()
}

// AcknowledgesRetried returns how many acknowledgements the one statement
// did not change, which then went through the transaction (a referral not
// delivered or opened, or not of the event's report): for tests and the
// curious.
func (s *Store) AcknowledgesRetried() int64 { return s.acknowledgesRetried.Load() }

// AssignReferral implements [guardian.DeliveryStore]. A referral withdrawn
// before delivery, which no agency has, cannot be assigned either.
func (s *Store) AssignReferral(ctx context.Context, id int64, assignee string, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	if assignee != "" {
		if n, err := strconv.ParseInt(assignee, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != assignee {
			return nil, guardian.Errorf(guardian.EINVALID, "An assignee is a user id, such as 42.")
		}
	}
	return s.changeReferral(ctx, "assign", id, func(tx *tx, r *guardian.Referral) error {
		switch r.State {
		case guardian.ReferralClosed, guardian.ReferralRerouted, guardian.ReferralWithdrawn:
			return referralConflict(r, "assigned")
		}
		if _, err := tx.exec(`UPDATE referrals SET assignee = ?, updated_at = ? WHERE id = ?`, assignee, tx.t(tx.now), r.ID); err != nil {
			return err
		}
		r.Assignee, r.UpdatedAt = assignee, tx.now
		return recordReferral(tx, ev, "referral.assign", guardian.CategoryAlteration, r, assignee)
	})
}

// DeclineReferral implements [guardian.DeliveryStore].
func (s *Store) DeclineReferral(ctx context.Context, id int64, d *guardian.Decline, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	if d == nil {
		return nil, guardian.Errorf(guardian.EINVALID, "Say why the report is not your jurisdiction.")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	dj, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode decline: %w", err)
	}
	return s.changeReferral(ctx, "decline", id, func(tx *tx, r *guardian.Referral) error {
		switch r.State {
		case guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged:
		default:
			return referralConflict(r, "declined")
		}
		if s.onReferral == nil {
			return errNoReferralHook
		}
		if _, err := tx.exec(`UPDATE referrals SET state = ?, decline = ?, updated_at = ?, escalate_at = NULL WHERE id = ?`,
			string(guardian.ReferralRerouted), string(dj), tx.t(tx.now), r.ID); err != nil {
			return err
		}
		dc := *d
		r.State, r.Decline, r.UpdatedAt = guardian.ReferralRerouted, &dc, tx.now
		if err := recordReferral(tx, ev, "referral.decline", guardian.CategoryAlteration, r, declineReason(d)); err != nil {
			return err
		}
		// Routed again without the agency, in the place the referral's
		// priority gives it.
		if err := queueRouting(tx, r.ReportID, guardian.RoutingOrderOf(r.Priority)); err != nil {
			return err
		}
		return s.referralChanged(tx, guardian.ReferralChange{Event: guardian.EventDeclined, Referral: r})
	})
}

// RecordOutcome implements [guardian.DeliveryStore]. RecordedBy is the
// actor's kind and id ("user:42"), or its name where it has no id.
func (s *Store) RecordOutcome(ctx context.Context, id int64, o *guardian.Outcome, ev *guardian.AuditEvent) (*guardian.Referral, error) {
	if o == nil {
		return nil, guardian.Errorf(guardian.EINVALID, "Choose a case status.")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, errors.New("record outcome: audit event missing: every change is recorded")
	}
	return s.changeReferral(ctx, "record the outcome of", id, func(tx *tx, r *guardian.Referral) error {
		switch r.State {
		case guardian.ReferralAcknowledged:
		case guardian.ReferralClosed:
			return guardian.Errorf(guardian.ECONFLICT, "Referral %d is closed: its outcome is final.", r.ID)
		default:
			return guardian.Errorf(guardian.ECONFLICT, "Referral %d is %s: acknowledge it before recording an outcome.", r.ID, r.State)
		}
		stored := *o
		stored.RecordedAt, stored.RecordedBy = tx.now, outcomeActor(ev.Actor)
		oj, err := json.Marshal(&stored)
		if err != nil {
			return fmt.Errorf("encode outcome: %w", err)
		}
		state, closedAt := guardian.ReferralAcknowledged, any(nil)
		if stored.Final() {
			state, closedAt = guardian.ReferralClosed, tx.t(tx.now)
		}
		if _, err := tx.exec(`UPDATE referrals SET state = ?, outcome = ?, closed_at = ?, updated_at = ? WHERE id = ?`,
			string(state), string(oj), closedAt, tx.t(tx.now), r.ID); err != nil {
			return err
		}
		o.RecordedAt, o.RecordedBy = stored.RecordedAt, stored.RecordedBy
		r.State, r.Outcome, r.UpdatedAt = state, &stored, tx.now
		if stored.Final() {
			now := tx.now
			r.ClosedAt = &now
		}
		return recordReferral(tx, ev, "referral.outcome", guardian.CategoryAlteration, r, string(o.Status))
	})
}

// outcomeActor names an actor in a record other than the audit log: its
// kind and id, or its kind and name where it has no id.
func outcomeActor(a guardian.Actor) string {
	if a.ID != "" {
		return string(a.Kind) + ":" + a.ID
	}
	return string(a.Kind) + ":" + a.Name
}

// EscalateReferral implements [guardian.DeliveryStore]. The referral's row
// is locked and its state, level and deadline checked in one transaction,
// and the UPDATE repeats the checks on state and level: of two escalation
// jobs that run at once, or one that runs twice, one escalates and the
// other changes nothing.
func (s *Store) EscalateReferral(ctx context.Context, id int64, level int, liaisonID string, ev *guardian.AuditEvent) (*guardian.Referral, bool, error) {
	if level != guardian.EscalationLiaison && level != guardian.EscalationHub {
		return nil, false, guardian.Errorf(guardian.EINVALID, "An escalation level is %d or %d.", guardian.EscalationLiaison, guardian.EscalationHub)
	}
	changed := false
	r, err := s.changeReferral(ctx, "escalate", id, func(tx *tx, r *guardian.Referral) error {
		due := r.Deadline.Add(r.AcknowledgeWithin * time.Duration(level-1))
		if (r.State != guardian.ReferralDelivered && r.State != guardian.ReferralOpened) || r.Escalation != level-1 || due.After(tx.now) {
			return nil
		}
		if s.onReferral == nil {
			return errNoReferralHook
		}
		liaison := r.LiaisonAgencyID
		if level == guardian.EscalationLiaison {
			liaison = liaisonID
		}
		next := *r
		next.Escalation = level
		res, err := tx.exec(`UPDATE referrals SET escalation = ?, escalated_at = ?, liaison_agency_id = ?, updated_at = ?, escalate_at = ?
			WHERE id = ? AND escalation = ? AND state IN (?, ?)`,
			level, tx.t(tx.now), liaison, tx.t(tx.now), escalateAt(tx, &next), r.ID, level-1, string(guardian.ReferralDelivered), string(guardian.ReferralOpened))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return nil
		}
		now := tx.now
		r.Escalation, r.EscalatedAt, r.LiaisonAgencyID, r.UpdatedAt = level, &now, liaison, now
		changed = true
		var recipients []string
		reason := "liaison"
		switch {
		case level == guardian.EscalationHub:
			recipients, reason = []string{hubSupervisors}, "hub"
		case liaison != "":
			recipients = []string{liaison}
		}
		if err := recordReferral(tx, ev, "referral.escalate", guardian.CategoryDisclosure, r, reason, recipients...); err != nil {
			return err
		}
		return s.referralChanged(tx, guardian.ReferralChange{Event: guardian.EventEscalated, Referral: r})
	})
	if err != nil {
		return nil, false, err
	}
	return r, changed, nil
}

// escalateAt is the value of r's escalate_at column: when its next
// escalation is due ([guardian.Referral.NextEscalation]), or NULL. Every
// statement that changes a referral's state, escalation level or deadline
// sets it.
func escalateAt(tx *tx, r *guardian.Referral) any {
	if _, at, ok := r.NextEscalation(); ok {
		return tx.t(at)
	}
	return nil
}

// DueEscalations implements [guardian.DeliveryStore], on the read pool.
func (s *Store) DueEscalations(ctx context.Context, now time.Time, limit int) ([]guardian.DueEscalation, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT id, escalation FROM referrals
		WHERE escalate_at IS NOT NULL AND escalate_at <= ? ORDER BY escalate_at, id LIMIT ?`), s.d.TimeValue(now.UTC().Truncate(time.Microsecond)), limit)
	if err != nil {
		return nil, fmt.Errorf("find due escalations: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var out []guardian.DueEscalation
	for rows.Next() {
		var d guardian.DueEscalation
		if err := rows.Scan(&d.ReferralID, &d.Level); err != nil {
			return nil, fmt.Errorf("find due escalations: %w", err)
		}
		d.Level++
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find due escalations: %w", s.d.FormatError(err))
	}
	return out, nil
}

// RescheduleEscalation implements [guardian.DeliveryStore].
func (s *Store) RescheduleEscalation(ctx context.Context, id int64) error {
	_, err := s.changeReferral(ctx, "reschedule the escalation of", id, func(tx *tx, r *guardian.Referral) error {
		_, err := tx.exec(`UPDATE referrals SET escalate_at = ? WHERE id = ?`, escalateAt(tx, r), r.ID)
		return err
	})
	return err
}

// DigestAgencies implements [guardian.DeliveryStore], on the read pool,
// from the index referrals_digest.
func (s *Store) DigestAgencies(ctx context.Context, start, end time.Time) ([]string, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT DISTINCT agency_id FROM referrals
		WHERE delivered_at IS NOT NULL AND priority IN ('2', '3') AND delivered_at >= ? AND delivered_at < ?
		ORDER BY agency_id`), s.d.TimeValue(start.UTC()), s.d.TimeValue(end.UTC()))
	if err != nil {
		return nil, fmt.Errorf("find the agencies of a digest window: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("find the agencies of a digest window: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find the agencies of a digest window: %w", s.d.FormatError(err))
	}
	return out, nil
}

// DigestsSwept implements [guardian.DeliveryStore]. The first delivery is
// the first entry of the index referrals_digest.
func (s *Store) DigestsSwept(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := s.queryRow(ctx, `SELECT COALESCE((SELECT swept_until FROM digest_sweep WHERE id = 1),
		(SELECT min(delivered_at) FROM referrals WHERE delivered_at IS NOT NULL AND priority IN ('2', '3')))`,
		nil, nullTimeScanner{&t})
	if err != nil {
		return time.Time{}, fmt.Errorf("read how far digests are swept: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

// MarkDigestsSwept implements [guardian.DeliveryStore]: the time only moves
// forward, so that hub processes sweeping side by side agree.
func (s *Store) MarkDigestsSwept(ctx context.Context, until time.Time) error {
	return s.update(ctx, func(tx *tx) error {
		v := tx.t(until.UTC())
		res, err := tx.exec(`UPDATE digest_sweep SET swept_until = ? WHERE id = 1 AND swept_until < ?`, v, v)
		if err != nil {
			return fmt.Errorf("mark digests swept: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if _, err := tx.exec(`INSERT INTO digest_sweep (id, swept_until) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, v); err != nil {
			return fmt.Errorf("mark digests swept: %w", err)
		}
		return nil
	})
}

// ChangeReportPriority implements [guardian.DeliveryStore]. The report's
// row is locked first, as RouteReport locks it, so that a routing run and a
// change of priority apply one after the other. The event is recorded
// whenever the report exists: confirming a provisional priority is a
// decision too, even if it changes nothing.
func (s *Store) ChangeReportPriority(ctx context.Context, reportID int64, p guardian.Priority, ackWithin func(agencyID string) (time.Duration, bool), ev *guardian.AuditEvent) ([]*guardian.Referral, error) {
	if _, err := guardian.ParsePriority(string(p)); err != nil {
		return nil, guardian.Errorf(guardian.EINVALID, "A priority is 1, 2, 3 or E.")
	}
	if err := s.needSealer(); err != nil {
		return nil, fmt.Errorf("change priority of report %d: %w", reportID, err)
	}
	known := func(string) (time.Duration, bool) { return 0, false }
	if ackWithin != nil {
		known = ackWithin
	}
	var changed []*guardian.Referral
	err := s.update(ctx, func(tx *tx) error {
		changed = nil
		k := reportKey{reportID: reportID}
		var state guardian.ReportState
		err := tx.queryRow(`SELECT state, reporter_id, wrapped_key FROM reports WHERE id = ?`+tx.d.LockRow(), []any{reportID},
			&state, &k.reporterID, &k.wrapped)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != guardian.ReportFinished) {
			return guardian.Errorf(guardian.ENOTFOUND, "Report %d not found.", reportID)
		} else if err != nil {
			return fmt.Errorf("lock report: %w", err)
		}
		old, err := s.setTriagePriority(tx, k, p)
		if err != nil {
			return err
		}
		refs, err := findReferrals(tx, reportID)
		if err != nil {
			return err
		}
		for _, r := range refs {
			switch r.State {
			case guardian.ReferralClosed, guardian.ReferralWithdrawn, guardian.ReferralRerouted:
				continue
			}
			if r.Priority == p {
				continue
			}
			if old == "" {
				old = r.Priority
			}
			r.Priority = p
			if d, ok := known(r.AgencyID); ok {
				r.AcknowledgeWithin = d.Truncate(time.Microsecond)
				r.Deadline = r.RoutedAt.Add(r.AcknowledgeWithin)
			}
			r.UpdatedAt = tx.now
			if _, err := tx.exec(`UPDATE referrals SET priority = ?, acknowledge_within_us = ?, deadline = ?, updated_at = ?, escalate_at = ? WHERE id = ?`,
				string(p), r.AcknowledgeWithin.Microseconds(), tx.t(r.Deadline), tx.t(tx.now), escalateAt(tx, r), r.ID); err != nil {
				return fmt.Errorf("change priority of referral %d: %w", r.ID, err)
			}
			if err := s.referralChanged(tx, guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: r}); err != nil {
				return err
			}
			changed = append(changed, r)
		}
		if old == "" {
			old = p
		}
		if err := checkDeliveryEvent(ev, "report.priority", guardian.CategoryAlteration); err != nil {
			return err
		}
		ev.Reason = string(old) + "→" + string(p)
		return recordSuccess(tx, ev, "report", strconv.FormatInt(reportID, 10), reportID, "")
	})
	if err != nil {
		return nil, fmt.Errorf("change priority of report %d: %w", reportID, err)
	}
	if changed == nil {
		changed = []*guardian.Referral{}
	}
	return changed, nil
}

// setTriagePriority records p in the report's stored triage and returns
// the priority it had; "" if the report has no triage (or its key, and so
// its triage, is destroyed).
func (s *Store) setTriagePriority(tx *tx, k reportKey, p guardian.Priority) (guardian.Priority, error) {
	var tj []byte
	var sealed bool
	err := tx.queryRow(`SELECT triage, sealed FROM report_assessments WHERE report_id = ?`, []any{k.reportID}, &tj, &sealed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && k.wrapped == nil) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("read triage: %w", err)
	}
	if tj, err = s.open(k, labelTriage, tj, sealed); err != nil {
		return "", err
	}
	// The triage is decoded as JSON fields so that none that this binary
	// does not know is lost in the rewrite.
	var t map[string]json.RawMessage
	if err := json.Unmarshal(tj, &t); err != nil {
		return "", fmt.Errorf("decode triage: %w", err)
	}
	var old guardian.Priority
	if raw, ok := t["priority"]; ok {
		if err := json.Unmarshal(raw, &old); err != nil {
			return "", fmt.Errorf("decode triage priority: %w", err)
		}
	}
	if old == p {
		return old, nil
	}
	t["priority"], _ = json.Marshal(p)
	if tj, err = json.Marshal(t); err != nil {
		return "", fmt.Errorf("encode triage: %w", err)
	}
	st, err := s.seal(k, labelTriage, tj)
	if err != nil {
		return "", err
	}
	if _, err := tx.exec(`UPDATE report_assessments SET triage = ?, sealed = TRUE, updated_at = ? WHERE report_id = ?`,
		st, tx.t(tx.now), k.reportID); err != nil {
		return "", fmt.Errorf("store triage: %w", err)
	}
	return old, nil
}

// messageLabel is the label a message's body is sealed under: bound to
// the message, so that a body moved to another message does not open.
func messageLabel(id int64) string { return "message/" + strconv.FormatInt(id, 10) + "/body" }

// AddMessage implements [guardian.DeliveryStore]. The hook is given the
// message without its body: what follows from a message (telling the
// other side there is one) never needs what it says, and a job's
// arguments are not sealed.
func (s *Store) AddMessage(ctx context.Context, m *guardian.Message, ev *guardian.AuditEvent) error {
	if m == nil {
		return guardian.Errorf(guardian.EINVALID, "A message needs a body.")
	}
	if err := m.Validate(); err != nil {
		return err
	}
	switch {
	case m.ThreadAgencyID == "":
		return guardian.Errorf(guardian.EINVALID, "A message belongs to the thread of an agency.")
	case m.From.IsZero():
		return guardian.Errorf(guardian.EINVALID, "A message needs a sender.")
	case len(m.ThreadAgencyID) > maxNameLen || len(m.Author) > maxNameLen:
		return guardian.Errorf(guardian.EINVALID, "A message's thread and author are at most %d characters.", maxNameLen)
	}
	if err := s.needSealer(); err != nil {
		return fmt.Errorf("add message: %w", err)
	}
	err := s.update(ctx, func(tx *tx) error {
		r, err := findReferral(tx, m.ReferralID)
		if err != nil {
			return err
		}
		k := reportKey{reportID: r.ReportID}
		if err := tx.queryRow(`SELECT reporter_id, wrapped_key FROM reports WHERE id = ?`, []any{r.ReportID}, &k.reporterID, &k.wrapped); err != nil {
			return fmt.Errorf("read report key: %w", err)
		}
		if k.wrapped == nil {
			return guardian.Errorf(guardian.ECONFLICT, "Report %d has been erased: its referral takes no more messages.", r.ReportID)
		}
		var id int64
		err = tx.queryRow(`INSERT INTO referral_messages (referral_id, thread_agency_id, sender, author, kind, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{r.ID, m.ThreadAgencyID, m.From.String(), m.Author, string(m.Kind), []byte{}, tx.t(tx.now)}, &id)
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		body, err := s.seal(k, messageLabel(id), []byte(m.Body))
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE referral_messages SET body = ? WHERE id = ?`, body, id); err != nil {
			return fmt.Errorf("store message: %w", err)
		}
		m.ID, m.CreatedAt = id, tx.now
		if err := recordReferral(tx, ev, "message.add", guardian.CategoryAlteration, r, string(m.Kind)); err != nil {
			return err
		}
		told := *m
		told.Body = ""
		return s.referralChanged(tx, guardian.ReferralChange{Event: guardian.EventMessage, Referral: r, Message: &told})
	})
	if err != nil {
		return fmt.Errorf("add message to referral %d: %w", m.ReferralID, err)
	}
	return nil
}

// FindMessages implements [guardian.DeliveryStore]. The bodies of a
// report whose key is destroyed went with it, and read empty.
func (s *Store) FindMessages(ctx context.Context, referralID int64, threadAgencyID string) ([]*guardian.Message, error) {
	if err := s.needSealer(); err != nil {
		return nil, fmt.Errorf("find messages: %w", err)
	}
	q := `SELECT m.id, m.referral_id, m.thread_agency_id, m.sender, m.author, m.kind, m.body, m.created_at,
			r.report_id, p.reporter_id, p.wrapped_key
		FROM referral_messages m JOIN referrals r ON r.id = m.referral_id JOIN reports p ON p.id = r.report_id
		WHERE m.referral_id = ?`
	args := []any{referralID}
	if threadAgencyID != "" {
		q, args = q+` AND m.thread_agency_id = ?`, append(args, threadAgencyID)
	}
	out := []*guardian.Message{}
	err := s.readOne(ctx, func(tx *tx) error {
		rows, err := tx.query(q+` ORDER BY m.id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m guardian.Message
			var from string
			var body []byte
			var k reportKey
			if err := rows.Scan(&m.ID, &m.ReferralID, &m.ThreadAgencyID, &from, &m.Author, &m.Kind, &body, timeScanner{&m.CreatedAt},
				&k.reportID, &k.reporterID, &k.wrapped); err != nil {
				return fmt.Errorf("scan message: %w", err)
			}
			if err := m.From.UnmarshalText([]byte(from)); err != nil {
				return fmt.Errorf("message %d: %w", m.ID, err)
			}
			if body, err = s.open(k, messageLabel(m.ID), body, true); err != nil {
				return err
			}
			m.Body = string(body)
			out = append(out, &m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find messages of referral %d: %w", referralID, err)
	}
	return out, nil
}

// RecordNotification implements [guardian.DeliveryStore]. A notification
// sent is a disclosure to its agency (or the hub's supervisors) that it
// succeeded; one given up on is the same disclosure failed. (The table of
// [guardian.DeliveryStore] names the category "failure", which the audit
// model has as an outcome, not a category.) The error text stays in the
// notification's row: it may quote a remote server, and audit events hold
// no free text.
func (s *Store) RecordNotification(ctx context.Context, n *guardian.Notification, ev *guardian.AuditEvent) error {
	switch {
	case n == nil:
		return guardian.Errorf(guardian.EINVALID, "A notification is missing.")
	case n.Channel != guardian.ChannelEmail && n.Channel != guardian.ChannelWebhook:
		return guardian.Errorf(guardian.EINVALID, "A notification is sent by email or webhook.")
	case n.Event == "":
		return guardian.Errorf(guardian.EINVALID, "A notification names the event it is about.")
	case n.Target == "" || len(n.Target) > maxTargetLen:
		return guardian.Errorf(guardian.EINVALID, "A notification's target is an address or URL of at most %d characters.", maxTargetLen)
	case len(n.AgencyID) > maxNameLen:
		return guardian.Errorf(guardian.EINVALID, "An agency id is at most %d characters.", maxNameLen)
	case n.Attempts < 0:
		return guardian.Errorf(guardian.EINVALID, "A notification's attempts cannot be negative.")
	}
	action := "notification.sent"
	if !n.Sent {
		action = "notification.failed"
	}
	if err := checkDeliveryEvent(ev, action, guardian.CategoryDisclosure); err != nil {
		return err
	}
	recipient := n.AgencyID
	if recipient == "" {
		recipient = hubSupervisors
	}
	n.Error = guardian.Clip(n.Error, guardian.MaxNoteLen)
	err := s.update(ctx, func(tx *tx) error {
		var reportID int64
		if n.ReferralID != 0 {
			var err error
			if reportID, err = referralReport(tx, n.ReferralID); err != nil {
				return err
			}
		}
		err := tx.queryRow(`INSERT INTO notifications (referral_id, agency_id, event, channel, target, attempts, error, sent, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{nullInt(n.ReferralID), n.AgencyID, string(n.Event), string(n.Channel), n.Target, n.Attempts, n.Error, n.Sent, tx.t(tx.now)}, &n.ID)
		if err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
		n.CreatedAt = tx.now
		ev.Reason, ev.Recipients = string(n.Channel), []string{recipient}
		kind, id := "referral", strconv.FormatInt(n.ReferralID, 10)
		if n.ReferralID == 0 {
			kind, id = "notification", strconv.FormatInt(n.ID, 10)
		}
		ev.ObjectKind, ev.ObjectID = kind, id
		if err := successEvent(ev, tx.now, kind, id, reportID, ""); err != nil {
			return err
		}
		if !n.Sent {
			ev.Outcome = guardian.OutcomeFailure
		}
		return appendAuditEvent(tx, ev)
	})
	if err != nil {
		return fmt.Errorf("record notification: %w", err)
	}
	return nil
}

// FindNotifications implements [guardian.DeliveryStore]. Digests, which
// name no referral, are found with referralID 0.
func (s *Store) FindNotifications(ctx context.Context, referralID int64) ([]*guardian.Notification, error) {
	q, args := `WHERE referral_id = ?`, []any{referralID}
	if referralID == 0 {
		q, args = `WHERE referral_id IS NULL`, nil
	}
	out := []*guardian.Notification{}
	err := s.readOne(ctx, func(tx *tx) error {
		rows, err := tx.query(`SELECT id, referral_id, agency_id, event, channel, target, attempts, error, sent, created_at
			FROM notifications `+q+` ORDER BY id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n guardian.Notification
			var rid sql.NullInt64
			if err := rows.Scan(&n.ID, &rid, &n.AgencyID, &n.Event, &n.Channel, &n.Target, &n.Attempts, &n.Error, &n.Sent,
				timeScanner{&n.CreatedAt}); err != nil {
				return fmt.Errorf("scan notification: %w", err)
			}
			n.ReferralID = rid.Int64
			out = append(out, &n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find notifications: %w", err)
	}
	return out, nil
}

// SetWebhookSecret implements [guardian.WebhookSecretStore].
func (s *Store) SetWebhookSecret(ctx context.Context, agencyID string, sealed []byte, ev *guardian.AuditEvent) error {
	switch {
	case agencyID == "" || len(agencyID) > maxNameLen:
		return guardian.Errorf(guardian.EINVALID, "Name the agency whose webhook secret this is.")
	case len(sealed) == 0 || len(sealed) > maxSecretLen:
		return guardian.Errorf(guardian.EINVALID, "A sealed webhook secret is 1 to %d bytes.", maxSecretLen)
	}
	if err := checkDeliveryEvent(ev, "webhook.secret", guardian.CategoryPermission); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *tx) error {
		if _, err := tx.exec(`INSERT INTO webhook_secrets (agency_id, secret, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (agency_id) DO UPDATE SET secret = excluded.secret, updated_at = excluded.updated_at`,
			agencyID, sealed, tx.t(tx.now)); err != nil {
			return err
		}
		ev.ObjectKind, ev.ObjectID = "agency", agencyID
		return recordSuccess(tx, ev, "agency", agencyID, 0, "")
	})
	if err != nil {
		return fmt.Errorf("set webhook secret of %s: %w", agencyID, err)
	}
	return nil
}

// FindWebhookSecret implements [guardian.WebhookSecretStore].
func (s *Store) FindWebhookSecret(ctx context.Context, agencyID string) ([]byte, error) {
	var b []byte
	err := s.queryRow(ctx, `SELECT secret FROM webhook_secrets WHERE agency_id = ?`, []any{agencyID}, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Agency %s has no webhook secret.", guardian.Clip(agencyID, 64))
	} else if err != nil {
		return nil, fmt.Errorf("find webhook secret: %w", err)
	}
	return b, nil
}

// listPart is one indexed query of a referral list: its conditions and
// their arguments.
type listPart struct {
	where []string
	args  []any
}

func (p *listPart) add(cond string, args ...any) {
	p.where = append(p.where, cond)
	p.args = append(p.args, args...)
}

// whereClause returns " WHERE" and the conditions, or "" for none.
func (p *listPart) whereClause() string {
	if len(p.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(p.where, " AND ")
}

// addIn adds "column IN (?, ...)" for values, unless there are none.
func addIn[T any](p *listPart, column string, values []T) {
	if len(values) == 0 {
		return
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	p.add(column+" IN ("+marks+")", args...)
}

// referralParts turns q into the queries whose rows together are what q
// selects, with the filters, cursor, order and limit of each. The own
// agency's referrals and the escalated ones a liaison office sees are two
// queries, merged by the caller: one OR would keep either off its index.
func (s *Store) referralParts(q *guardian.ReferralQuery, withCursor bool) ([]*listPart, error) {
	if err := checkReferralQuery(q); err != nil {
		return nil, err
	}
	var parts []*listPart
	switch {
	case q.All:
		// The hub sees every referral; an agency named narrows it to
		// that agency's, held ones included (the board's agency filter).
		p := &listPart{}
		if q.AgencyID != "" {
			p.add("agency_id = ?", q.AgencyID)
		}
		parts = append(parts, p)
	default:
		if q.AgencyID != "" {
			p := &listPart{}
			p.add("agency_id = ?", q.AgencyID)
			addIn(p, "state", stateStrings(q.VisibleStates))
			p.add("held = ?", false)
			parts = append(parts, p)
		}
		if len(q.EscalatedCountries) > 0 {
			p := &listPart{}
			// Written as the partial indexes' condition, so that the
			// planners see they apply.
			p.add("escalation >= 1")
			addIn(p, "state", stateStrings(q.VisibleStates))
			p.add("held = ?", false)
			if q.AgencyID != "" {
				p.add("agency_id <> ?", q.AgencyID)
			}
			likes := make([]string, len(q.EscalatedCountries))
			args := make([]any, len(q.EscalatedCountries))
			for i, c := range q.EscalatedCountries {
				// countries is comma-separated; wrapped in commas, a code
				// matches only whole. Codes are checked to be two capital
				// letters, so hold no LIKE wildcard.
				likes[i], args[i] = "',' || countries || ',' LIKE ?", "%,"+c+",%"
			}
			p.add("("+strings.Join(likes, " OR ")+")", args...)
			parts = append(parts, p)
		}
	}
	for _, p := range parts {
		addIn(p, "state", stateStrings(q.States))
		ranks := make([]int, len(q.Priorities))
		for i, pr := range q.Priorities {
			ranks[i] = pr.Rank()
		}
		addIn(p, "priority_rank", ranks)
		if !q.DeadlineBefore.IsZero() {
			p.add("deadline < ?", s.d.TimeValue(q.DeadlineBefore.UTC()))
		}
		if !q.UpdatedSince.IsZero() {
			p.add("updated_at >= ?", s.d.TimeValue(q.UpdatedSince.UTC()))
		}
		if q.Held != nil {
			p.add("held = ?", *q.Held)
		}
		if q.MinEscalation > 0 {
			p.add("escalation >= ?", q.MinEscalation)
		}
		if q.ReportID != 0 {
			p.add("report_id = ?", q.ReportID)
		}
		if withCursor && q.After != nil {
			c := q.After
			if q.Order == guardian.OrderUpdated {
				p.add("(updated_at, id) > (?, ?)", s.d.TimeValue(c.UpdatedAt.UTC()), c.ID)
			} else {
				p.add("(priority_rank, deadline, id) > (?, ?, ?)", c.PriorityRank, s.d.TimeValue(c.Deadline.UTC()), c.ID)
			}
		}
	}
	return parts, nil
}

func stateStrings(states []guardian.ReferralState) []string {
	out := make([]string, len(states))
	for i, st := range states {
		out[i] = string(st)
	}
	return out
}

var allReferralStates = []guardian.ReferralState{guardian.ReferralNew, guardian.ReferralDelivered, guardian.ReferralOpened,
	guardian.ReferralAcknowledged, guardian.ReferralClosed, guardian.ReferralWithdrawn, guardian.ReferralRerouted}

// checkReferralQuery refuses a query that selects nothing clearly, or
// more values than there are.
func checkReferralQuery(q *guardian.ReferralQuery) error {
	if !q.All && q.AgencyID == "" && len(q.EscalatedCountries) == 0 {
		return guardian.Errorf(guardian.EINVALID, "A referral list needs the referrals the caller may see.")
	}
	if !q.All && len(q.VisibleStates) == 0 {
		return guardian.Errorf(guardian.EINVALID, "A referral list for an agency needs the states it may see.")
	}
	for _, sts := range [][]guardian.ReferralState{q.VisibleStates, q.States} {
		if len(sts) > len(allReferralStates) {
			return guardian.Errorf(guardian.EINVALID, "Name each referral state once.")
		}
		for _, st := range sts {
			if !slices.Contains(allReferralStates, st) {
				return guardian.Errorf(guardian.EINVALID, "Unknown referral state %q.", guardian.Clip(string(st), 20))
			}
		}
	}
	if len(q.Priorities) > 4 {
		return guardian.Errorf(guardian.EINVALID, "Name each priority once.")
	}
	for _, p := range q.Priorities {
		if p.Rank() > 3 {
			return guardian.Errorf(guardian.EINVALID, "A priority is 1, 2, 3 or E.")
		}
	}
	if len(q.EscalatedCountries) > maxQueryCountries {
		return guardian.Errorf(guardian.EINVALID, "At most %d countries.", maxQueryCountries)
	}
	for _, c := range q.EscalatedCountries {
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return guardian.Errorf(guardian.EINVALID, "A country is a two-letter ISO 3166-1 code, such as PY.")
		}
	}
	if q.MinEscalation < 0 || q.MinEscalation > guardian.EscalationHub {
		return guardian.Errorf(guardian.EINVALID, "An escalation level is 0 to %d.", guardian.EscalationHub)
	}
	switch q.Order {
	case "", guardian.OrderUrgent, guardian.OrderUpdated:
	default:
		return guardian.Errorf(guardian.EINVALID, "A referral list is ordered by urgent or updated.")
	}
	if q.Limit < 0 || q.Limit > maxReferralPage {
		return guardian.Errorf(guardian.EINVALID, "A page holds 1 to %d referrals.", maxReferralPage)
	}
	return nil
}

// listStatement is the statement that lists part p in order: a page of
// limit and one more row.
func (p *listPart) listStatement(order guardian.ReferralOrder, limit int) (string, []any) {
	by := "priority_rank, deadline, id"
	if order == guardian.OrderUpdated {
		by = "updated_at, id"
	}
	return `SELECT ` + referralColumns + ` FROM referrals` + p.whereClause() + ` ORDER BY ` + by + ` LIMIT ?`,
		append(slices.Clip(p.args), limit+1)
}

// ListReferralsStatements returns the statements ListReferrals runs for q,
// in the store's dialect, and their arguments: for tests that check their
// plans.
func (s *Store) ListReferralsStatements(q guardian.ReferralQuery) ([]string, [][]any, error) {
	parts, err := s.referralParts(&q, true)
	if err != nil {
		return nil, nil, err
	}
	var queries []string
	var args [][]any
	for _, p := range parts {
		query, a := p.listStatement(q.Order, cmp.Or(q.Limit, defaultReferralPage))
		queries, args = append(queries, s.d.Rebind(query)), append(args, a)
	}
	return queries, args, nil
}

// ListReferrals implements [guardian.DeliveryStore]. Each part of the
// query reads at most one page and one more row off its index, in the
// list's order after the cursor; the parts are merged here, so the first
// page-plus-one rows of the merge are the list's.
func (s *Store) ListReferrals(ctx context.Context, q guardian.ReferralQuery) ([]*guardian.Referral, bool, error) {
	parts, err := s.referralParts(&q, true)
	if err != nil {
		return nil, false, err
	}
	limit := cmp.Or(q.Limit, defaultReferralPage)
	var all []*guardian.Referral
	err = s.readParts(parts)(ctx, func(tx *tx) error {
		for _, p := range parts {
			query, args := p.listStatement(q.Order, limit)
			rows, err := tx.query(query, tx.d.Replanned(args)...)
			if err != nil {
				return err
			}
			rs, err := scanReferrals(rows)
			if err != nil {
				return err
			}
			all = append(all, rs...)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list referrals: %w", err)
	}
	if len(parts) > 1 {
		slices.SortFunc(all, func(a, b *guardian.Referral) int { return compareReferrals(q.Order, a, b) })
		all = slices.CompactFunc(all, func(a, b *guardian.Referral) bool { return a.ID == b.ID })
	}
	if len(all) > limit {
		return all[:limit], true, nil
	}
	return all, false, nil
}

// readParts returns how a list of parts is read: one statement each, so
// one part needs no transaction, and several must see one snapshot.
func (s *Store) readParts(parts []*listPart) func(context.Context, func(*tx) error) error {
	if len(parts) == 1 {
		return s.readOne
	}
	return s.view
}

// compareReferrals orders a and b as the list's ORDER BY does.
func compareReferrals(o guardian.ReferralOrder, a, b *guardian.Referral) int {
	if o == guardian.OrderUpdated {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
	} else {
		if c := a.Priority.Rank() - b.Priority.Rank(); c != 0 {
			return c
		}
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// CountReferrals implements [guardian.DeliveryStore].
func (s *Store) CountReferrals(ctx context.Context, q guardian.ReferralQuery) (map[guardian.ReferralState]int, error) {
	q.Limit = 0
	parts, err := s.referralParts(&q, false)
	if err != nil {
		return nil, err
	}
	out := map[guardian.ReferralState]int{}
	err = s.readParts(parts)(ctx, func(tx *tx) error {
		for _, p := range parts {
			rows, err := tx.query(`SELECT state, COUNT(*) FROM referrals`+p.whereClause()+` GROUP BY state`, tx.d.Replanned(p.args)...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var st guardian.ReferralState
				var n int
				if err := rows.Scan(&st, &n); err != nil {
					rows.Close()
					return err
				}
				out[st] += n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count referrals: %w", err)
	}
	return out, nil
}

// declineReason is what the audit log keeps of a decline: the suggested
// country, never the agency's words, which stay with the referral. The log
// is permanent and public in its hashes; free text there could hold
// personal data that no retention rule could ever remove.
func declineReason(d *guardian.Decline) string {
	if d.SuggestedCountry == "" {
		return "not our jurisdiction"
	}
	return "not our jurisdiction; suggested " + d.SuggestedCountry
}
