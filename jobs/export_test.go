package jobs

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// TestDelivery exposes the delivery workers' logic, without River, to the
// tests in package jobs_test, which drive it with a fake clock.
type TestDelivery struct{ d *delivery }

func NewTestDelivery(cfg DeliveryConfig) (*TestDelivery, error) {
	d, err := newDelivery(cfg)
	if err != nil {
		return nil, err
	}
	return &TestDelivery{d: d}, nil
}

// Escalate runs the escalation step: "stopped", "waiting" (until the time
// returned) or "escalated".
func (t *TestDelivery) Escalate(ctx context.Context, a EscalateArgs) (string, time.Time, error) {
	what, at, err := t.d.escalate(ctx, a)
	return [...]string{"stopped", "waiting", "escalated"}[what], at, err
}

// SweepEscalations runs one sweep of the due escalation steps and returns
// how many it found.
func (t *TestDelivery) SweepEscalations(ctx context.Context) (int, error) {
	return t.d.sweepEscalations(ctx)
}

// SweepDigests runs one sweep of the digest windows, inserting their jobs
// through a River client on driver, and returns how many windows it swept.
func (t *TestDelivery) SweepDigests(ctx context.Context, driver riverdriver.Driver[*sql.Tx]) (int, error) {
	client, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		return 0, err
	}
	return t.d.sweepDigests(ctx, func(ctx context.Context, params []river.InsertManyParams) error {
		_, err := client.InsertMany(ctx, params)
		return err
	})
}

// Attempt runs one attempt of a notification: "sent", "retry" or "failed".
func (t *TestDelivery) Attempt(ctx context.Context, a NotifyArgs, attempt, maxAttempts int) (string, error) {
	what, err := t.d.attempt(ctx, &a, attempt, maxAttempts)
	return [...]string{"sent", "retry", "failed"}[what], err
}

// Fanout returns the notify jobs of a notification.
func (t *TestDelivery) Fanout(ctx context.Context, a FanoutArgs) ([]NotifyArgs, error) {
	params, err := t.d.fanout(ctx, a, 0)
	out := make([]NotifyArgs, len(params))
	for i, p := range params {
		out[i] = p.Args.(NotifyArgs)
	}
	return out, err
}

// Digest returns the notification of a digest window, or nil.
func (t *TestDelivery) Digest(ctx context.Context, a DigestArgs) (*FanoutArgs, int, error) {
	return t.d.digest(ctx, a)
}
