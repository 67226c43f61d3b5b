package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/routing"
)

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

// RoutingQueuer queues one finished report for routing at an order
// (sqlstore.Store.QueueRouting).
type RoutingQueuer interface {
	QueueRouting(ctx context.Context, reportID int64, order int) error
}

// AdoptTriageJobs moves the triage jobs that River still holds (written
// by a guardian before schema version 15, when triage was a River job)
// into the store's routing queue, in the place River's priority gave them,
// and deletes them. A job left running by a process that died cannot be
// deleted; it is cancelled, so River's rescuer finalises it. It is
// idempotent, and "guardian serve" and "guardian migrate" run it after
// [Migrate]. It returns how many jobs it adopted.
func AdoptTriageJobs(ctx context.Context, driver riverdriver.Driver[*sql.Tx], q RoutingQueuer) (int, error) {
	client, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		return 0, fmt.Errorf("river client: %w", err)
	}
	params := river.NewJobListParams().Kinds("triage").First(1000).States(rivertype.JobStateAvailable, rivertype.JobStatePending,
		rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled)
	n := 0
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			return n, fmt.Errorf("list triage jobs: %w", err)
		}
		for _, j := range res.Jobs {
			if cancelAttempted(j) {
				continue
			}
			var a struct {
				ReportID int64 `json:"report_id"`
			}
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				return n, fmt.Errorf("triage job %d: %w", j.ID, err)
			}
			if err := q.QueueRouting(ctx, a.ReportID, j.Priority); err != nil {
				return n, err
			}
			_, err := client.JobDelete(ctx, j.ID)
			if errors.Is(err, rivertype.ErrJobRunning) {
				_, err = client.JobCancel(ctx, j.ID)
			}
			if err != nil {
				return n, fmt.Errorf("remove triage job %d: %w", j.ID, err)
			}
			n++
		}
		if len(res.Jobs) < 1000 || res.LastCursor == nil {
			return n, nil
		}
		params = params.After(res.LastCursor)
	}
}

// cancelAttempted reports whether River was asked to cancel the running
// job j (its metadata holds cancel_attempted_at).
func cancelAttempted(j *rivertype.JobRow) bool {
	var m struct {
		At string `json:"cancel_attempted_at"`
	}
	return json.Unmarshal(j.Metadata, &m) == nil && m.At != ""
}

// PipelineConfig configures a [Pipeline].
type PipelineConfig struct {
	// Queue is the store's routing queue, which the triage workers take
	// finished reports from.
	Queue guardian.RoutingQueue
	// Router is the service each triage worker runs.
	Router *routing.Service
	Logger *slog.Logger
	// Workers is how many reports are triaged and routed at once; default 4.
	Workers int
	// PollInterval is how often the pipeline looks for reports to route,
	// and River's delivery workers for jobs: neither store here can push
	// (no LISTEN/NOTIFY), so it bounds the latency from finish to routing;
	// default 20ms. Looking is a read: an idle hub does not write.
	PollInterval time.Duration

	// Driver is River's driver on the store's database, for the delivery
	// jobs: riversqlite on SQLite (store.DB(), the single write connection)
	// or riverdatabasesql on PostgreSQL.
	Driver riverdriver.Driver[*sql.Tx]
	// DeliveryWorkers is how many delivery jobs (notifications and
	// digests; [QueueDelivery]) run at once, beside triage; default 4.
	DeliveryWorkers int
	// EscalationInterval is how often the pipeline looks for escalation
	// steps that are due (a read); default a second, against deadlines of
	// minutes to days. Digest windows are swept when one has ended.
	EscalationInterval time.Duration
	// Delivery configures the notification, digest and escalation
	// workers. It is required when the store runs [Enqueuer.OnReferral]
	// (the hub's does): their jobs would otherwise wait for workers that
	// never come. Nil runs triage only, and River not at all.
	Delivery *DeliveryConfig
}

// Routing attempts: how long one may take, and how long a claim holds a
// report from other workers and processes. The lease outlasts the timeout,
// so a report is claimed again only when its worker has given up or died.
const (
	routingTimeout = time.Minute
	routingLease   = 2 * time.Minute
)

// triageActor is who the pipeline's routing runs are recorded as.
var triageActor = guardian.Actor{Kind: guardian.ActorSystem, Name: "triage"}

// Pipeline triages and routes finished reports: its workers take them from
// the store's routing queue ([guardian.RoutingQueue]), most urgent first,
// and run [routing.Service.RouteReport] on each. With a [DeliveryConfig]
// it also runs River's delivery jobs, the notifications and digests of
// delivered referrals (see [ReferralJobs]), and sweeps the escalations and
// digest windows that are due.
type Pipeline struct {
	client   *river.Client[*sql.Tx] // nil without Delivery
	delivery *delivery              // nil without Delivery
	router   *routing.Service
	queue    guardian.RoutingQueue
	logger   *slog.Logger
	workers  int
	poll     time.Duration
	sweep    time.Duration // EscalationInterval

	failing       bool // the last claim failed; the routing loop's own
	sweepsFailing bool // the last sweep failed; the sweep loop's own

	mu       sync.Mutex
	stopping chan struct{} // closed by Stop: claim nothing more
	cancel   context.CancelFunc
	done     chan struct{} // closed when the routing loop and its workers have returned
}

// NewPipeline builds the pipeline; with Delivery, River's tables must
// exist ([Migrate]). Call Start to work.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.Queue == nil || cfg.Router == nil {
		return nil, errors.New("pipeline needs the store's routing queue and a router")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.DeliveryWorkers <= 0 {
		cfg.DeliveryWorkers = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.EscalationInterval <= 0 {
		cfg.EscalationInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{router: cfg.Router, queue: cfg.Queue, logger: cfg.Logger, workers: cfg.Workers, poll: cfg.PollInterval,
		sweep: cfg.EscalationInterval}
	if cfg.Delivery == nil {
		return p, nil
	}
	dc := *cfg.Delivery
	if dc.Logger == nil {
		dc.Logger = cfg.Logger
	}
	d, err := newDelivery(dc)
	if err != nil {
		return nil, err
	}
	p.delivery = d
	workers := river.NewWorkers()
	addDeliveryWorkers(workers, d)
	p.client, err = river.NewClient(cfg.Driver, &river.Config{
		Logger:            cfg.Logger,
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{QueueDelivery: {MaxWorkers: cfg.DeliveryWorkers}},
		PollOnly:          true,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     cfg.PollInterval / 2,
		JobTimeout:        time.Minute,
		// A job still marked running this long after it began was left by
		// a process that died (a job is cancelled after JobTimeout): run it
		// again. Recording is idempotent, and a webhook sent twice carries
		// the same webhook-id. River's default is an hour past JobTimeout,
		// which the soak check found leaves duty officers untold for an
		// hour after a crash.
		RescueStuckJobsAfter: routingLease,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return p, nil
}

// Reroute routes a report again at once, for an analyst's decision or new
// evidence, as actor (with a justification if a person). It is the same
// idempotent run as the workers'.
func (p *Pipeline) Reroute(ctx context.Context, reportID int64, actor guardian.Actor, justification string) error {
	return p.router.RouteReport(ctx, reportID, actor, justification)
}

// Start works until Stop. Reports claimed by a process that died are
// routed again once their lease has passed, and River rescues the
// delivery jobs it left running; routing is idempotent.
func (p *Pipeline) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("start pipeline: already started")
	}
	if p.client != nil {
		if err := p.client.Start(ctx); err != nil {
			return fmt.Errorf("start pipeline: %w", err)
		}
	}
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stopping, p.cancel, p.done = make(chan struct{}), cancel, make(chan struct{})
	stopping, done := p.stopping, p.done
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Go(func() { p.route(work, stopping) })
		if p.delivery != nil {
			wg.Go(func() { p.sweepLoop(work, stopping) })
		}
		wg.Wait()
	}()
	return nil
}

// sweepLoop sweeps the escalation steps that are due every sweep interval
// (at once again after a full batch), and the digest windows when one has
// ended, until stopping is closed. Looking is a read; a failing sweep is
// logged when it starts failing and when it recovers.
func (p *Pipeline) sweepLoop(ctx context.Context, stopping <-chan struct{}) {
	tick := time.NewTicker(p.sweep)
	defer tick.Stop()
	insert := func(ctx context.Context, params []river.InsertManyParams) error {
		_, err := p.client.InsertMany(ctx, params)
		return err
	}
	var nextDigests time.Time // when the next window is ready; zero: look now
	for {
		// The two sweeps are independent: a step that keeps failing
		// holds up neither the other steps nor the digests.
		n, eerr := p.delivery.sweepEscalations(ctx)
		err := eerr
		if now := p.delivery.Clock(); !now.Before(nextDigests) {
			windows, derr := p.delivery.sweepDigests(ctx, insert)
			if derr == nil && windows < maxDigestWindows {
				nextDigests = DigestWindowOf(now.Add(-DigestWindow - digestGrace)).Add(2*DigestWindow + digestGrace)
			}
			err = errors.Join(err, derr)
		}
		switch {
		case err != nil && !p.sweepsFailing:
			p.sweepsFailing = true
			p.logger.ErrorContext(ctx, "delivery sweep failing", slog.Any("err", err))
		case err == nil && p.sweepsFailing:
			p.sweepsFailing = false
			p.logger.InfoContext(ctx, "delivery sweep recovered")
		}
		if n == escalationBatch && eerr == nil { // more may be due: at once
			select {
			case <-stopping:
				return
			default:
				continue
			}
		}
		select {
		case <-stopping:
			return
		case <-tick.C:
		}
	}
}

// Stop claims nothing more and waits for the reports and jobs in flight
// to finish, or cancels them when ctx ends (a cancelled report goes back
// to the queue at once), and stops.
func (p *Pipeline) Stop(ctx context.Context) error {
	p.mu.Lock()
	stopping, cancel, done := p.stopping, p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	var err error
	if p.client != nil {
		err = p.client.Stop(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = p.client.StopAndCancel(context.Background())
		}
	}
	select {
	case <-stopping:
	default:
		close(stopping)
	}
	select {
	case <-done:
	case <-ctx.Done():
		cancel()
		<-done
	}
	cancel()
	return err
}

// route claims due reports and runs them on its workers until stopping is
// closed; then it gives back what it claimed and did not start, and waits
// for its workers.
//
// While the queue has a backlog, it claims ahead: up to twice as many
// reports as workers are claimed and not finished, and it claims again,
// for at least half the workers, while the workers still have reports in
// hand, so that a worker that finishes takes the next claimed report at
// once instead of waiting for a claim's round trips. (It used to claim for
// the free workers only, after gathering those that finished within half
// a poll interval: on PostgreSQL at 150 reports/s, with 1,500 reports
// waiting, its four workers were routing 1.8 on average; see
// docs/performance.md, "ninth".) The cost is that a report claimed
// ahead waits for the workers' current reports, and one more urgent that
// is finished meanwhile waits behind it: one routing's time (tens of
// milliseconds), and only while a backlog exists. Looking when the queue
// was empty costs a read (RoutingDue) each poll interval; a claim that got
// all it asked for looks again without it.
func (p *Pipeline) route(ctx context.Context, stopping <-chan struct{}) {
	ahead := 2 * p.workers
	claimAt := ahead - max(p.workers/2, 1) // claim when this many or fewer are outstanding
	ready := make(chan guardian.RoutingClaim, ahead)
	finished := make(chan struct{}, ahead)
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() {
			for c := range ready {
				p.attempt(ctx, c)
				finished <- struct{}{}
			}
		})
	}
	defer func() {
		p.release(ctx, ready)
		close(ready)
		wg.Wait()
	}()
	tick := time.NewTicker(p.poll)
	defer tick.Stop()
	outstanding := 0          // claimed and not finished: running, or in ready
	look, more := true, false // look: the poll interval passed; more: the last claim got all it asked for
	for {
		if outstanding <= claimAt && (look || more) {
			n := ahead - outstanding
			claims := p.claim(ctx, n, more)
			for _, c := range claims {
				ready <- c // never blocks: ready holds at most ahead
			}
			outstanding += len(claims)
			look, more = false, len(claims) == n
		}
		select {
		case <-stopping:
			return
		case <-finished:
			outstanding--
		case <-tick.C:
			look = true
		}
	}
}

// release gives back the claims in ready that no worker has taken, so that
// another process or the next start routes them without waiting for their
// lease.
func (p *Pipeline) release(ctx context.Context, ready <-chan guardian.RoutingClaim) {
	qctx, cancel := queueContext(ctx)
	defer cancel()
	for {
		select {
		case c := <-ready:
			if err := p.queue.ReleaseRouting(qctx, c); err != nil {
				// The lease brings the report back.
				p.logger.ErrorContext(ctx, "routing queue", slog.Int64("report", c.ReportID), slog.Any("error", err))
			}
		default:
			return
		}
	}
}

// queueContext is the context of an update of the routing queue after an
// attempt or at a stop: the queue is updated even as the pipeline stops,
// within a bound.
func queueContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// claim takes up to n due reports, or none if nothing is due or the store
// fails; the next tick tries again. due says that some are (the last claim
// got all it asked for), and skips the read that looks. A failing store
// is logged when it starts failing and when it recovers, not at every tick
// (50 a second).
func (p *Pipeline) claim(ctx context.Context, n int, due bool) []guardian.RoutingClaim {
	var err error
	if !due {
		due, err = p.queue.RoutingDue(ctx)
	}
	var claims []guardian.RoutingClaim
	if err == nil && due {
		claims, err = p.queue.ClaimRouting(ctx, n, routingLease)
	}
	switch {
	case err != nil && ctx.Err() == nil && !p.failing:
		p.failing = true
		p.logger.ErrorContext(ctx, "routing queue failing; trying again every poll", slog.Any("error", err))
	case err == nil && p.failing:
		p.failing = false
		p.logger.InfoContext(ctx, "routing queue working again")
	}
	return claims
}

// attempt routes one claimed report, and records a failure: retried with
// River's backoff (attempt⁴ seconds, ±10%), given up after
// guardian.MaxRoutingAttempts or at once for a report that is not
// finished. A run stopped with the pipeline gives its claim back.
func (p *Pipeline) attempt(ctx context.Context, c guardian.RoutingClaim) {
	err := p.runRouting(ctx, c.ReportID)
	if err == nil {
		return
	}
	qctx, cancel := queueContext(ctx)
	defer cancel()
	report := slog.Int64("report", c.ReportID)
	var qerr error
	switch {
	case ctx.Err() != nil:
		qerr = p.queue.ReleaseRouting(qctx, c)
	case guardian.ErrorCode(err) == guardian.EREPORTNOTFOUND:
		p.logger.InfoContext(ctx, "nothing to route", report, slog.Any("reason", err))
		qerr = p.queue.RoutingFailed(qctx, c, err.Error(), 0)
	case c.Attempt >= guardian.MaxRoutingAttempts:
		p.logger.ErrorContext(ctx, "routing given up", report, slog.Int("attempts", c.Attempt), slog.Any("error", err))
		qerr = p.queue.RoutingFailed(qctx, c, err.Error(), 0)
	default:
		retry := retryDelay(c.Attempt)
		p.logger.WarnContext(ctx, "routing failed", report, slog.Int("attempt", c.Attempt), slog.Duration("retryIn", retry), slog.Any("error", err))
		qerr = p.queue.RoutingFailed(qctx, c, err.Error(), retry)
	}
	if qerr != nil {
		// The lease brings the report back.
		p.logger.ErrorContext(ctx, "routing queue", report, slog.Any("error", qerr))
	}
}

// runRouting is one routing run under the attempt's timeout; a panic is
// its error, as River made it for a job.
func (p *Pipeline) runRouting(ctx context.Context, reportID int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("routing panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, routingTimeout)
	defer cancel()
	return p.router.RouteReport(ctx, reportID, triageActor, "")
}

// retryDelay is how long after its attempt-th failed attempt a report is
// routed again: attempt⁴ seconds, as River's backoff, ±10% so that
// reports that failed together do not come back together.
func retryDelay(attempt int) time.Duration {
	d := time.Duration(attempt*attempt*attempt*attempt) * time.Second
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}
