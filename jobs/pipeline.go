package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/routing"
)

// TriageArgs is the job that triages and routes a finished report with
// [routing.Service.RouteReport]. It is enqueued in the transaction that
// finishes the report (see [Pipeline.Enqueue]), so a report is never
// finished without one.
type TriageArgs struct {
	ReportID int64 `json:"report_id"`
}

// Kind implements river.JobArgs.
func (TriageArgs) Kind() string { return "triage" }

// InsertOpts implements river.JobArgsWithInsertOpts: a failing run is
// retried (routing is idempotent), up to 25 times over about three weeks;
// the job runs in turn unless [triageOpts] places it ahead.
func (TriageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, Priority: riverInTurn}
}

type triageWorker struct {
	river.WorkerDefaults[TriageArgs]
	router *routing.Service
}

func (w *triageWorker) Work(ctx context.Context, job *river.Job[TriageArgs]) error {
	err := w.router.RouteReport(ctx, job.Args.ReportID, guardian.Actor{Kind: guardian.ActorSystem, Name: "triage"}, "")
	var e *guardian.Error
	if errors.As(err, &e) && e.Code == guardian.EREPORTNOTFOUND {
		// Nothing to route, now or later.
		return river.JobCancel(err)
	}
	return err
}

// Migrate creates or updates River's tables (river_job, river_queue, ...)
// with River's own migrator. It is idempotent: a database already up to
// date is left as it is. "guardian migrate" and "guardian serve" run it
// after the store's migrations.
func Migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx], logger *slog.Logger) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrate: %w", err)
	}
	return nil
}

// PipelineConfig configures a [Pipeline].
type PipelineConfig struct {
	// Driver is River's driver on the store's database: riversqlite on
	// SQLite (store.DB(), the single write connection) or riverdatabasesql
	// on PostgreSQL.
	Driver riverdriver.Driver[*sql.Tx]
	// Router is the service each job runs.
	Router *routing.Service
	Logger *slog.Logger
	// Workers is how many triage jobs run at once; default 4.
	Workers int
	// DeliveryWorkers is how many delivery jobs (notifications, digests,
	// escalations; [QueueDelivery]) run at once, beside them; default 4.
	DeliveryWorkers int
	// PollInterval is how often an idle worker looks for jobs. Neither
	// driver here has LISTEN/NOTIFY, so it bounds the latency from finish
	// to routing; default 20ms.
	PollInterval time.Duration
	// Delivery configures the notification, digest and escalation
	// workers. It is required when the store runs [Enqueuer.OnReferral]
	// (the hub's does): their jobs would otherwise wait for workers that
	// never come. Nil runs the triage worker only.
	Delivery *DeliveryConfig
}

// Pipeline schedules the triage and routing of finished reports as durable
// River jobs, each of which runs the configured [routing.Service], and, with
// a [DeliveryConfig], the notifications, digests and escalations of
// delivered referrals (see [ReferralJobs]).
type Pipeline struct {
	client *river.Client[*sql.Tx]
	router *routing.Service
}

// NewPipeline builds the River client; River's tables must exist
// ([Migrate]). Call Start to work jobs; Enqueue works without.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.DeliveryWorkers <= 0 {
		cfg.DeliveryWorkers = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &triageWorker{router: cfg.Router})
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	if cfg.Delivery != nil {
		dc := *cfg.Delivery
		if dc.Logger == nil {
			dc.Logger = cfg.Logger
		}
		d, err := newDelivery(dc)
		if err != nil {
			return nil, err
		}
		addDeliveryWorkers(workers, d)
		queues[QueueDelivery] = river.QueueConfig{MaxWorkers: cfg.DeliveryWorkers}
	}
	client, err := river.NewClient(cfg.Driver, &river.Config{
		Logger:            cfg.Logger,
		Workers:           workers,
		Queues:            queues,
		PollOnly:          true,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     cfg.PollInterval / 2,
		JobTimeout:        time.Minute,
		// A job still marked running this long after it began was left by
		// a process that died (a job is cancelled after JobTimeout): run it
		// again. Routing and recording are idempotent, and a webhook sent
		// twice carries the same webhook-id. River's default is an hour
		// past JobTimeout, which the soak check found leaves reports
		// unrouted and duty officers untold for an hour after a crash.
		RescueStuckJobsAfter: 2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &Pipeline{client: client, router: cfg.Router}, nil
}

// Enqueue inserts the triage job of the finished report r in tx, the
// transaction that finishes it, as [Enqueuer.Enqueue] does.
func (p *Pipeline) Enqueue(ctx context.Context, tx *sql.Tx, r *guardian.Report) error {
	return enqueueTriage(ctx, p.client, tx, r)
}

// River's job priorities, 1 (first) to 4, within a queue: an idle worker
// takes the available job of the lowest number, and of those the one
// scheduled first.
const (
	riverFirst  = 1
	riverSoon   = 2
	riverInTurn = 3
)

// triageOpts places a triage job in the queue by the priority the report
// is expected to have: priority E and 1, which are notified at once
// ([urgent]), before priority 2, and those before the rest. Under a
// backlog an urgent report then waits only for the jobs already running,
// not for every report finished before it.
func triageOpts(p guardian.Priority) *river.InsertOpts {
	opts := TriageArgs{}.InsertOpts()
	switch {
	case urgent(p):
		opts.Priority = riverFirst
	case p == guardian.Priority2:
		opts.Priority = riverSoon
	}
	return &opts
}

// expectedPriority is what a finished report's triage job is placed by:
// priority 1 for a report to triage first (escalated or urgent by its
// own document, or with no file viewed: [guardian.Report.TriageFirst]),
// else the priority its document gives.
func expectedPriority(r *guardian.Report) guardian.Priority {
	if r.TriageFirst() {
		return guardian.Priority1
	}
	return r.ProvisionalPriority
}

// enqueueTriage inserts the triage job of the finished report r in tx.
func enqueueTriage(ctx context.Context, client *river.Client[*sql.Tx], tx *sql.Tx, r *guardian.Report) error {
	if _, err := client.InsertTx(ctx, tx, TriageArgs{ReportID: r.ID}, triageOpts(expectedPriority(r))); err != nil {
		return fmt.Errorf("enqueue triage of report %d: %w", r.ID, err)
	}
	return nil
}

// Reroute routes a report again at once, for an analyst's decision or new
// evidence, as actor (with a justification if a person). It is the same
// idempotent run as the job's.
func (p *Pipeline) Reroute(ctx context.Context, reportID int64, actor guardian.Actor, justification string) error {
	return p.router.RouteReport(ctx, reportID, actor, justification)
}

// Start works jobs until Stop. Jobs left by a crash (running when the
// process died) are rescued by River and run again; routing is idempotent.
func (p *Pipeline) Start(ctx context.Context) error {
	if err := p.client.Start(ctx); err != nil {
		return fmt.Errorf("start pipeline: %w", err)
	}
	return nil
}

// Stop waits for the jobs in flight to finish, or cancels them when ctx
// ends, and stops.
func (p *Pipeline) Stop(ctx context.Context) error {
	err := p.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = p.client.StopAndCancel(context.Background())
	}
	return err
}
