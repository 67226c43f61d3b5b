package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/notify"
)

// The jobs of a referral's delivery. The store's referral hook
// ([Enqueuer.OnReferral]) inserts them in the transaction of the change
// they follow from. The policy is not theirs (when and to whom a referral
// escalates is the root package's, what a notification says is package
// notify's): they schedule, send and record.
//
//	fanout    a notification of one event to one recipient (an agency, or
//	          the hub's supervisors): finds the recipient's addresses and
//	          inserts one notify job per address or webhook
//	notify    sends one notification to one target, retried with backoff;
//	          records it sent, or failed after the last attempt
//	digest    gathers an agency's priority 2 and 3 referrals delivered in a
//	          15-minute window into one notification, at the window's end:
//	          inserted by the pipeline's sweep of the windows that ended
//	          (sweepDigests), one per agency with something to tell
//	escalate  raises a referral not acknowledged in time one level: only
//	          the jobs a guardian before schema version 16 scheduled; the
//	          pipeline now sweeps the due steps from the referrals' rows
//	          (sweepEscalations)
//
// River's scheduling runs on real time; what the jobs decide runs on the
// injected clock, so tests drive the decisions with a fake one.

// DigestWindow is how long priority 2 and 3 referrals of one agency are
// gathered before they are notified together.
const DigestWindow = 15 * time.Minute

// digestGrace is how long after its window a digest runs, so that a
// delivery stamped just before the window's end has committed.
const digestGrace = time.Minute

// NotifyAttempts is how many times a notification is tried before it is
// recorded as failed: with River's backoff (attempt⁴ seconds), over about
// four and a quarter hours.
const NotifyAttempts = 10

// hubSupervisors is the recipient of a notification to the hub's
// supervisors, in logs.
const hubSupervisors = "hub:supervisors"

// FanoutArgs is a notification of one event to one recipient, before its
// addresses are known: they are read when it runs, from the network in
// force and the store's users.
type FanoutArgs struct {
	// EventID identifies the event (the webhook-id): the same for every
	// target and attempt.
	EventID string                 `json:"event_id" river:"unique"`
	Event   guardian.ReferralEvent `json:"event"`
	Reason  notify.Reason          `json:"reason"`
	Level   int                    `json:"level,omitempty"`
	// AgencyID is the recipient agency; "" is the hub's supervisors.
	AgencyID string        `json:"agency_id" river:"unique"`
	Items    []notify.Item `json:"items"`
	At       time.Time     `json:"at"`
}

// Kind implements river.JobArgs.
func (FanoutArgs) Kind() string { return "fanout" }

// InsertOpts implements river.JobArgsWithInsertOpts: one fanout per event
// and recipient.
func (FanoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDelivery, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// QueueDelivery is the River queue of the delivery jobs (fanout, notify,
// digest, escalate), with workers of its own: a notification must not wait
// behind the triage backlog of a busy hub, nor a slow SMTP relay or webhook
// hold a worker that triage needs.
const QueueDelivery = "delivery"

// NotifyArgs is one notification to one target.
type NotifyArgs struct {
	EventID  string                       `json:"event_id" river:"unique"`
	Event    guardian.ReferralEvent       `json:"event"`
	Reason   notify.Reason                `json:"reason"`
	Level    int                          `json:"level,omitempty"`
	AgencyID string                       `json:"agency_id" river:"unique"`
	Items    []notify.Item                `json:"items"`
	More     int                          `json:"more,omitempty"`
	At       time.Time                    `json:"at"`
	Channel  guardian.NotificationChannel `json:"channel" river:"unique"`
	Target   string                       `json:"target" river:"unique"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return "notify" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (NotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDelivery, MaxAttempts: NotifyAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// notice is what the notification says.
func (a *NotifyArgs) notice() notify.Notice {
	return notify.Notice{ID: a.EventID, Reason: a.Reason, Level: a.Level, Items: a.Items, More: a.More, At: a.At}
}

// referralID is the referral the notification is about, 0 for a digest.
func (a *NotifyArgs) referralID() int64 {
	if a.Reason == notify.ReasonDigest || len(a.Items) != 1 {
		return 0
	}
	return a.Items[0].ReferralID
}

// DigestArgs gathers an agency's referrals delivered in the window that
// starts at Window.
type DigestArgs struct {
	AgencyID string    `json:"agency_id"`
	Window   time.Time `json:"window"`
}

// Kind implements river.JobArgs.
func (DigestArgs) Kind() string { return "digest" }

// InsertOpts implements river.JobArgsWithInsertOpts: one digest per agency
// and window, however many referrals are delivered in it.
func (DigestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDelivery, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EscalateArgs raises a referral to Level if it is still not acknowledged.
// The hub no longer inserts such jobs (see sweepEscalations); its worker
// runs those an older guardian left.
type EscalateArgs struct {
	ReferralID int64 `json:"referral_id"`
	Level      int   `json:"level"`
}

// Kind implements river.JobArgs.
func (EscalateArgs) Kind() string { return "escalate" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (EscalateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDelivery, MaxAttempts: 25}
}

// DigestWindowOf returns the start of the digest window holding t: windows
// are DigestWindow long and aligned on the hour, in UTC.
func DigestWindowOf(t time.Time) time.Time { return t.UTC().Truncate(DigestWindow) }

// ReferralJobs returns the jobs a referral change makes necessary. It is
// pure: [Enqueuer.OnReferral] inserts what it returns in the change's
// transaction.
//
//	delivered      priority E and 1: the agency is notified at once;
//	               2 and 3: nothing here, the window's digest is swept
//	escalated      the liaison office (level 1) or the hub's supervisors
//	               (level 2, or level 1 without a liaison office) are
//	               notified
//	reprioritised  nothing here
//	declined       nothing here: the store queues the report for routing
//	message        from the hub: the thread's agency is told there is one;
//	               from an agency: nothing (the hub's queue shows it)
//
// Escalations and digests are swept, not inserted with each delivery: the
// store keeps each referral's next escalation's time on its row, in the
// change's own statement, and the pipeline sweeps the due steps
// (sweepEscalations) and the digest windows that ended (sweepDigests). A
// job or two per referral, inserted in the routing's transaction, were the
// larger part of River's work on the hot path, and all but the first of a
// window's digest inserts did nothing.
func ReferralJobs(ch guardian.ReferralChange) ([]river.InsertManyParams, error) {
	r := ch.Referral
	if r == nil {
		return nil, errors.New("referral change without a referral")
	}
	var out []river.InsertManyParams
	add := func(args river.JobArgs, at time.Time) {
		p := river.InsertManyParams{Args: args}
		if !at.IsZero() {
			opts := args.(river.JobArgsWithInsertOpts).InsertOpts()
			opts.ScheduledAt = at
			p.InsertOpts = &opts
		}
		out = append(out, p)
	}
	item := []notify.Item{notify.ItemOf(r)}
	switch ch.Event {
	case guardian.EventDelivered:
		at := r.UpdatedAt
		if r.DeliveredAt != nil {
			at = *r.DeliveredAt
		}
		if r.Priority.Urgent() {
			add(FanoutArgs{EventID: fmt.Sprintf("referral-%d-delivered-%d", r.ID, at.Unix()), Event: ch.Event,
				Reason: notify.ReasonNewReferral, AgencyID: r.AgencyID, Items: item, At: at.UTC()}, time.Time{})
		}
	case guardian.EventEscalated:
		at := r.UpdatedAt
		if r.EscalatedAt != nil {
			at = *r.EscalatedAt
		}
		recipient := ""
		if r.Escalation == guardian.EscalationLiaison {
			recipient = r.LiaisonAgencyID
		}
		add(FanoutArgs{EventID: fmt.Sprintf("referral-%d-escalated-%d", r.ID, r.Escalation), Event: ch.Event,
			Reason: notify.ReasonEscalated, Level: r.Escalation, AgencyID: recipient, Items: item, At: at.UTC()}, time.Time{})
	case guardian.EventReprioritised:
		// Nothing: the store moved the next escalation with the deadline.
	case guardian.EventDeclined:
		// Nothing: the store queues the report for routing again in the
		// decline's transaction (guardian.RoutingQueue).
	case guardian.EventMessage:
		m := ch.Message
		if m == nil {
			return nil, errors.New("message event without a message")
		}
		if !m.From.IsHub() {
			return nil, nil
		}
		agency := m.ThreadAgencyID
		if agency == "" {
			agency = r.AgencyID
		}
		at := m.CreatedAt
		if at.IsZero() {
			at = r.UpdatedAt
		}
		add(FanoutArgs{EventID: "message-" + strconv.FormatInt(m.ID, 10), Event: ch.Event,
			Reason: notify.ReasonNewMessage, AgencyID: agency, Items: item, At: at.UTC()}, time.Time{})
	default:
		return nil, fmt.Errorf("unknown referral event %q", ch.Event)
	}
	return out, nil
}

// OnReferral inserts the jobs of a referral change in tx, the change's
// transaction. Its signature is sqlstore.ReferralHook: give it to the store
// as Options.OnReferral.
func (e *Enqueuer) OnReferral(ctx context.Context, tx *sql.Tx, ch guardian.ReferralChange) error {
	params, err := ReferralJobs(ch)
	if err != nil {
		return fmt.Errorf("jobs of referral change: %w", err)
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := e.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("enqueue jobs of referral %d %s: %w", ch.Referral.ID, ch.Event, err)
	}
	return nil
}

// DeliveryConfig is what the notification, digest and escalation workers
// need.
type DeliveryConfig struct {
	Deliveries guardian.DeliveryStore
	Secrets    guardian.WebhookSecretStore
	// Users finds the hub's supervisors (FindUsers only).
	Users guardian.UserStore
	// Network is the network in force.
	Network func() *guardian.Network
	// Mailer sends e-mail; nil records every e-mail notification as failed
	// ("no SMTP relay configured").
	Mailer *notify.Mailer
	// Webhooks posts webhooks; nil uses notify.NewWebhookClient's
	// defaults.
	Webhooks *notify.WebhookClient
	// Links makes the links notifications carry.
	Links notify.Links
	// MasterKey opens the webhook secrets.
	MasterKey *crypto.MasterKey
	// Clock decides when an escalation is due; default
	// guardian.SystemClock.
	Clock  guardian.Clock
	Logger *slog.Logger
}

// delivery runs the delivery jobs' work. Its methods are the workers'
// logic without River, for tests.
type delivery struct {
	DeliveryConfig
}

func newDelivery(cfg DeliveryConfig) (*delivery, error) {
	switch {
	case cfg.Deliveries == nil || cfg.Secrets == nil || cfg.Users == nil:
		return nil, errors.New("delivery jobs need the delivery, webhook secret and user stores")
	case cfg.Network == nil:
		return nil, errors.New("delivery jobs need the network")
	case cfg.Links.Base == nil:
		return nil, errors.New("delivery jobs need the hub's public URL for links")
	case cfg.MasterKey == nil:
		return nil, errors.New("delivery jobs need the master key to open webhook secrets")
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = notify.NewWebhookClient(notify.WebhookConfig{})
	}
	if cfg.Clock == nil {
		cfg.Clock = guardian.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &delivery{cfg}, nil
}

var systemActor = guardian.Actor{Kind: guardian.ActorSystem, Name: "delivery"}

// target is one address or webhook a notification goes to.
type target struct {
	channel guardian.NotificationChannel
	addr    string
}

// targets returns where a notification to agencyID ("" for the hub's
// supervisors) goes: the agency's duty addresses and webhook, or the
// e-mail addresses of the hub's enabled supervisors.
func (d *delivery) targets(ctx context.Context, agencyID string) ([]target, error) {
	n := d.Network()
	if agencyID != "" {
		a, ok := n.Agency(agencyID)
		if !ok {
			return nil, nil // removed from the network: nobody to tell
		}
		var out []target
		for _, e := range a.Duty.Email {
			out = append(out, target{guardian.ChannelEmail, e})
		}
		if a.Duty.Webhook != "" {
			out = append(out, target{guardian.ChannelWebhook, a.Duty.Webhook})
		}
		return out, nil
	}
	org := guardian.HubOrganisation(n.Hub.ID)
	notDisabled := false
	var out []target
	for after := int64(0); ; {
		users, err := d.Users.FindUsers(ctx, guardian.UserFilter{Organisation: &org, Disabled: &notDisabled, AfterID: after, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("find supervisors: %w", err)
		}
		if len(users) == 0 {
			return out, nil
		}
		for _, u := range users {
			if u.HasRole(guardian.RoleHubSupervisor) && !u.Disabled && u.Email != "" {
				out = append(out, target{guardian.ChannelEmail, u.Email})
			}
		}
		after = users[len(users)-1].ID
	}
}

// fanout returns the notify jobs of a notification: one per target.
func (d *delivery) fanout(ctx context.Context, a FanoutArgs, more int) ([]river.InsertManyParams, error) {
	ts, err := d.targets(ctx, a.AgencyID)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		to := a.AgencyID
		if to == "" {
			to = hubSupervisors
		}
		d.Logger.WarnContext(ctx, "notification has nobody to go to", slog.String("event", a.EventID), slog.String("recipient", to))
	}
	out := make([]river.InsertManyParams, 0, len(ts))
	for _, t := range ts {
		out = append(out, river.InsertManyParams{Args: NotifyArgs{EventID: a.EventID, Event: a.Event, Reason: a.Reason, Level: a.Level,
			AgencyID: a.AgencyID, Items: a.Items, More: more, At: a.At, Channel: t.channel, Target: t.addr}})
	}
	return out, nil
}

// permanentError is a failure that no retry mends (a missing secret or
// relay): recorded at once, and the job cancelled.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// send sends one notification.
func (d *delivery) send(ctx context.Context, a *NotifyArgs) error {
	n := a.notice()
	switch a.Channel {
	case guardian.ChannelEmail:
		if d.Mailer == nil {
			return permanentError{errors.New("no SMTP relay configured")}
		}
		return d.Mailer.Send(ctx, notify.Email{To: a.Target, Subject: n.Subject(), Body: n.Text(d.Links)})
	case guardian.ChannelWebhook:
		secret, err := d.webhookSecret(ctx, a.AgencyID)
		if err != nil {
			return err
		}
		return d.Webhooks.Send(ctx, a.Target, secret, a.EventID, n.Payload(d.Links))
	}
	return permanentError{fmt.Errorf("unknown channel %q", a.Channel)}
}

func (d *delivery) webhookSecret(ctx context.Context, agencyID string) (notify.WebhookSecret, error) {
	sealed, err := d.Secrets.FindWebhookSecret(ctx, agencyID)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return notify.WebhookSecret{}, permanentError{fmt.Errorf("agency %s has a webhook but no webhook secret: run 'guardian webhook secret %s'", agencyID, agencyID)}
	} else if err != nil {
		return notify.WebhookSecret{}, fmt.Errorf("find webhook secret: %w", err)
	}
	s, err := notify.OpenWebhookSecret(d.MasterKey, agencyID, sealed)
	if err != nil {
		return notify.WebhookSecret{}, permanentError{fmt.Errorf("%w: set a new one with 'guardian webhook secret %s'", err, agencyID)}
	}
	return s, nil
}

// notifyOutcome is what became of one attempt.
type notifyOutcome int

const (
	notifySent   notifyOutcome = iota // sent and recorded
	notifyRetry                       // failed; River tries again
	notifyFailed                      // failed for good and recorded
)

// attempt sends a notification, on attempt of maxAttempts, and records
// it once sent or given up on.
func (d *delivery) attempt(ctx context.Context, a *NotifyArgs, attempt, maxAttempts int) (notifyOutcome, error) {
	err := d.send(ctx, a)
	var perm permanentError
	final := err == nil || attempt >= maxAttempts || errors.As(err, &perm)
	if !final {
		d.Logger.WarnContext(ctx, "notification failed; will retry", slog.String("event", a.EventID), slog.String("channel", string(a.Channel)),
			slog.Int("attempt", attempt), slog.Any("error", err))
		return notifyRetry, err
	}
	n := &guardian.Notification{ReferralID: a.referralID(), AgencyID: a.AgencyID, Event: a.Event, Channel: a.Channel,
		Target: a.Target, Attempts: attempt, Sent: err == nil}
	action := "notification.sent"
	if err != nil {
		n.Error, action = err.Error(), "notification.failed"
	}
	ev := &guardian.AuditEvent{Actor: systemActor, Category: guardian.CategoryDisclosure, Action: action}
	if rerr := d.Deliveries.RecordNotification(ctx, n, ev); rerr != nil {
		// Not recorded: River runs the job again (a sent notification may
		// then be sent twice; the webhook-id lets a receiver drop it).
		return notifyRetry, fmt.Errorf("record notification %s: %w", a.EventID, rerr)
	}
	if err != nil {
		d.Logger.ErrorContext(ctx, "notification failed for good", slog.String("event", a.EventID), slog.String("channel", string(a.Channel)),
			slog.Int("attempts", attempt), slog.Any("error", err))
		return notifyFailed, err
	}
	return notifySent, nil
}

// digest returns the notification of an agency's referrals delivered in
// the window that are still not acknowledged, or nil if there are none.
func (d *delivery) digest(ctx context.Context, a DigestArgs) (*FanoutArgs, int, error) {
	start, end := a.Window, a.Window.Add(DigestWindow)
	q := guardian.ReferralQuery{
		AgencyID:      a.AgencyID,
		VisibleStates: []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened},
		UpdatedSince:  start,
		Order:         guardian.OrderUpdated,
		Limit:         500,
	}
	var items []notify.Item
	// The window's referrals were updated at or after its start; those
	// updated since are read too, and filtered. maxDigestPages bounds the
	// reading of an agency with a flood of changes.
	const maxDigestPages = 100
	for range maxDigestPages {
		page, more, err := d.Deliveries.ListReferrals(ctx, q)
		if err != nil {
			return nil, 0, fmt.Errorf("list referrals of %s: %w", a.AgencyID, err)
		}
		for _, r := range page {
			if r.DeliveredAt != nil && !r.DeliveredAt.Before(start) && r.DeliveredAt.Before(end) {
				items = append(items, notify.ItemOf(r))
			}
		}
		if !more || len(page) == 0 {
			break
		}
		c := page[len(page)-1].Cursor(guardian.OrderUpdated)
		q.After = &c
	}
	if len(items) == 0 {
		return nil, 0, nil
	}
	n := notify.NewDigest(fmt.Sprintf("digest-%s-%d", a.AgencyID, start.Unix()), items, end)
	return &FanoutArgs{EventID: n.ID, Event: guardian.EventDelivered, Reason: notify.ReasonDigest, AgencyID: a.AgencyID, Items: n.Items, At: n.At}, n.More, nil
}

// escalation is what an escalation step did.
type escalation int

const (
	escalationStopped   escalation = iota // nothing due, now or later
	escalationWaiting                     // not due yet
	escalationEscalated                   // raised one level
)

// escalate raises the referral to a.Level if it is due by the clock, and
// returns when it will be due if it is not yet.
func (d *delivery) escalate(ctx context.Context, a EscalateArgs) (escalation, time.Time, error) {
	r, err := d.Deliveries.FindReferral(ctx, a.ReferralID)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return escalationStopped, time.Time{}, nil
	} else if err != nil {
		return 0, time.Time{}, fmt.Errorf("find referral %d: %w", a.ReferralID, err)
	}
	decision, at := guardian.DecideEscalation(r, a.Level, d.Clock())
	switch decision {
	case guardian.EscalationStop:
		return escalationStopped, time.Time{}, nil
	case guardian.EscalationWait:
		return escalationWaiting, at, nil
	}
	liaison := ""
	if a.Level == guardian.EscalationLiaison {
		if ag, ok := d.Network().LiaisonOfficeFor(r); ok {
			liaison = ag.ID
		}
	}
	ev := &guardian.AuditEvent{Actor: systemActor, Category: guardian.CategoryDisclosure, Action: "referral.escalate"}
	_, changed, err := d.Deliveries.EscalateReferral(ctx, r.ID, a.Level, liaison, ev)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("escalate referral %d to level %d: %w", r.ID, a.Level, err)
	}
	if !changed {
		// The store's clock or state disagreed (acknowledged meanwhile, or
		// another step won): nothing to do.
		return escalationStopped, time.Time{}, nil
	}
	d.Logger.InfoContext(ctx, "referral escalated", slog.Int64("referral", r.ID), slog.Int("level", a.Level), slog.String("liaison", liaison))
	return escalationEscalated, time.Time{}, nil
}

// maxDigestWindows bounds the windows one digest sweep catches up on: a
// day's; a hub stopped longer catches up over the sweeps that follow.
const maxDigestWindows = 24 * 4

// sweepDigests inserts, with insert, the digest jobs of the windows that
// ended at least digestGrace ago and were not swept yet: one per agency
// with a priority 2 or 3 referral delivered in the window
// ([guardian.DeliveryStore.DigestAgencies]), then records the windows
// swept. A crash between the two sweeps the window again, and River's
// uniqueness of a digest per agency and window inserts nothing twice. A
// store never swept starts at its first delivery's window, however late
// the first sweep. It returns how many windows it swept.
func (d *delivery) sweepDigests(ctx context.Context, insert func(context.Context, []river.InsertManyParams) error) (int, error) {
	now := d.Clock()
	ended := DigestWindowOf(now.Add(-DigestWindow - digestGrace)).Add(DigestWindow) // the end of the last window ready
	from, err := d.Deliveries.DigestsSwept(ctx)
	if err != nil {
		return 0, err
	}
	if from.IsZero() { // nothing delivered yet
		return 0, nil
	}
	from = DigestWindowOf(from)
	n := 0
	for w := from; w.Before(ended) && n < maxDigestWindows; w = w.Add(DigestWindow) {
		agencies, err := d.Deliveries.DigestAgencies(ctx, w, w.Add(DigestWindow))
		if err != nil {
			return n, err
		}
		if len(agencies) > 0 {
			params := make([]river.InsertManyParams, len(agencies))
			for i, a := range agencies {
				params[i] = river.InsertManyParams{Args: DigestArgs{AgencyID: a, Window: w}}
			}
			if err := insert(ctx, params); err != nil {
				return n, fmt.Errorf("insert the digests of %s: %w", w.Format(time.RFC3339), err)
			}
		}
		if err := d.Deliveries.MarkDigestsSwept(ctx, w.Add(DigestWindow)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// escalationBatch is how many due escalation steps one sweep takes.
const escalationBatch = 100

// sweepEscalations takes up to escalationBatch escalation steps due by the
// clock ([guardian.DeliveryStore.DueEscalations]) and runs each. It
// returns how many it found, and the first failure: a step that failed
// stays due, for the next sweep, and does not hold up the others.
func (d *delivery) sweepEscalations(ctx context.Context) (int, error) {
	due, err := d.Deliveries.DueEscalations(ctx, d.Clock(), escalationBatch)
	if err != nil {
		return 0, fmt.Errorf("find due escalations: %w", err)
	}
	var first error
	for _, e := range due {
		what, _, err := d.escalate(ctx, EscalateArgs{ReferralID: e.ReferralID, Level: e.Level})
		if err == nil && what != escalationEscalated {
			// Listed as due, not taken: another hub process took it
			// first, or the row's time disagreed with the policy. Its time
			// is stored again from the row, so that the next sweep does
			// not find it again.
			err = d.Deliveries.RescheduleEscalation(ctx, e.ReferralID)
			if guardian.ErrorCode(err) == guardian.ENOTFOUND {
				err = nil
			}
		}
		if err != nil && first == nil {
			first = fmt.Errorf("referral %d: %w", e.ReferralID, err)
		}
	}
	return len(due), first
}

type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	d *delivery
}

func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	params, err := w.d.fanout(ctx, job.Args, 0)
	if err != nil || len(params) == 0 {
		return err
	}
	return insertMany(ctx, params)
}

// insertMany inserts jobs outside a transaction, from a running job: the
// notify jobs are unique by event and target, so a job that runs again
// after a crash inserts nothing twice.
func insertMany(ctx context.Context, params []river.InsertManyParams) error {
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return err
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("insert notify jobs: %w", err)
	}
	return nil
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	d *delivery
}

// Timeout bounds one attempt beyond the mailer's and webhook client's own
// timeouts.
func (w *notifyWorker) Timeout(*river.Job[NotifyArgs]) time.Duration { return 2 * time.Minute }

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	outcome, err := w.d.attempt(ctx, &job.Args, job.Attempt, job.MaxAttempts)
	if outcome == notifyFailed {
		return river.JobCancel(err)
	}
	return err
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	d *delivery
}

func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	f, more, err := w.d.digest(ctx, job.Args)
	if err != nil || f == nil {
		return err
	}
	params, err := w.d.fanout(ctx, *f, more)
	if err != nil || len(params) == 0 {
		return err
	}
	return insertMany(ctx, params)
}

type escalateWorker struct {
	river.WorkerDefaults[EscalateArgs]
	d *delivery
}

func (w *escalateWorker) Work(ctx context.Context, job *river.Job[EscalateArgs]) error {
	what, at, err := w.d.escalate(ctx, job.Args)
	if err != nil {
		return err
	}
	if what == escalationWaiting {
		return river.JobSnooze(max(at.Sub(w.d.Clock()), time.Second))
	}
	return nil
}

// addDeliveryWorkers registers the delivery workers.
func addDeliveryWorkers(workers *river.Workers, d *delivery) {
	river.AddWorker(workers, &fanoutWorker{d: d})
	river.AddWorker(workers, &notifyWorker{d: d})
	river.AddWorker(workers, &digestWorker{d: d})
	river.AddWorker(workers, &escalateWorker{d: d})
}
