// Package jobs schedules the hub's background work on top of the store: it
// decides when work runs, retries it and stops it, and holds no domain
// policy. What the work does is decided by the packages it calls:
//
//   - [Pipeline], the triage pipeline: its workers take finished reports
//     from the store's routing queue ([guardian.RoutingQueue], on the
//     reports' rows: the finish queues a report in its transaction) and run
//     [routing.Service.RouteReport], which triages and routes the report
//     and takes it out of the queue in its transaction. Reports expected to
//     be priority E or 1 go first ([guardian.Report.RoutingOrder]), so that
//     a backlog of ordinary reports does not delay them. While reports
//     wait, the pipeline claims ahead of its workers, so that a worker
//     that finishes never waits for a claim. A failed run is retried with
//     backoff; a claim's lease brings back a report whose process died.
//   - The delivery work of the same [Pipeline]. River jobs in a queue
//     ([QueueDelivery]) send the notifications (package notify):
//     [Enqueuer.OnReferral] inserts them in the transaction of each
//     referral change that calls for one. Two sweeps read the referrals'
//     rows instead of scheduling a job per referral: every second, the
//     escalation steps that are due ([guardian.DeliveryStore.DueEscalations];
//     [guardian.DeliveryStore.EscalateReferral] decides whether a step
//     still stands), and, once each 15-minute window has ended, its
//     digests, one River job per agency
//     ([guardian.DeliveryStore.DigestAgencies]).
//   - [Expirer] expires unfinished reports whose time is up and deletes
//     their evidence blobs.
//   - [CollectOrphanBlobs] removes evidence blobs that no committed file
//     refers to.
//
// Work is derived from rows, not from in-memory queues, so a crash loses
// nothing: whatever was due before is still due when the hub restarts.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/evidence"
)

// Expirer expires unfinished reports once their time is up (24 hours after
// opening or 1 hour after the last change, whichever is later) and destroys
// their files.
type Expirer struct {
	Store    guardian.Store
	Evidence *evidence.Store
	Logger   *slog.Logger
	// Interval between sweeps; default one minute.
	Interval time.Duration
}

// expireBatch bounds one transaction of ExpireReports.
const expireBatch = 100

// Run sweeps until ctx is cancelled.
func (e *Expirer) Run(ctx context.Context) {
	interval := e.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.Logger.Error("expiry sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep expires every report that is due and deletes its blobs. It returns
// how many reports it expired.
func (e *Expirer) Sweep(ctx context.Context) (int, error) {
	n := 0
	for {
		reports, err := e.Store.ExpireReports(ctx, expireBatch)
		if err != nil {
			return n, fmt.Errorf("expire reports: %w", err)
		}
		for _, r := range reports {
			// The data key is already destroyed in the committed
			// transaction; deleting the blobs removes the ciphertext too.
			// A failure here leaves an orphan for CollectOrphanBlobs.
			for _, f := range r.Files {
				if err := e.Evidence.Delete(f.BlobKey); err != nil {
					e.Logger.Error("delete blob of expired report", slog.Int64("report", r.ID), slog.String("file", f.ID), slog.Any("error", err))
				}
			}
			e.Logger.Info("report expired unfinished", slog.Int64("report", r.ID), slog.Int("files", len(r.Files)))
		}
		n += len(reports)
		if len(reports) < expireBatch {
			return n, nil
		}
	}
}

// CollectOrphanBlobs deletes blobs that no file of a live report refers to:
// left by a crash between writing a blob and committing its row, or by an
// expiry interrupted before its blobs were deleted. It must run only while no
// upload is in flight (at start-up, before serving), since an upload's blob
// exists briefly before its row commits.
func CollectOrphanBlobs(ctx context.Context, store guardian.Store, ev *evidence.Store) (int, error) {
	keys, err := ev.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list blobs: %w", err)
	}
	n := 0
	const batch = 1000
	for len(keys) > 0 {
		k := keys[:min(batch, len(keys))]
		keys = keys[len(k):]
		orphans, err := store.FindUnreferencedBlobs(ctx, k)
		if err != nil {
			return n, fmt.Errorf("find unreferenced blobs: %w", err)
		}
		for _, o := range orphans {
			if err := ev.Delete(o); err != nil {
				return n, fmt.Errorf("delete orphan blob: %w", err)
			}
			n++
		}
	}
	return n, nil
}
