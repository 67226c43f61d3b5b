package guardian

import (
	"context"
	"time"
)

// The routing queue: finished reports waiting to be triaged and routed.
//
// A report joins it in the transaction that finishes it, and again in the
// transaction that records an agency's decline; it leaves it in the
// transaction that routes it. The queue is a property of the report row
// (which report is due, in what order, not before when), so a crash can
// neither drop a report from it nor route one twice into two sets of
// referrals: routing is idempotent, and whatever was due is still due
// when the hub restarts.

// Routing orders: a queued report's place. Reports of a lower order are
// taken first; within an order, in the order they were submitted.
const (
	RoutingFirst  = 1 // expected priority E or 1: notified at once once routed
	RoutingSoon   = 2 // expected priority 2
	RoutingInTurn = 3 // the rest
)

// MaxRoutingAttempts is how many times the hub tries to route a report
// before it gives up and leaves the reason for an operator (see
// [RoutingQueue.RoutingFailed]).
const MaxRoutingAttempts = 25

// RoutingOrderOf returns the routing order of a report expected to be of
// priority p: E and 1 first, then 2, then the rest.
func RoutingOrderOf(p Priority) int {
	switch {
	case p.Urgent():
		return RoutingFirst
	case p == Priority2:
		return RoutingSoon
	}
	return RoutingInTurn
}

// RoutingOrder returns the finished report's place in the routing queue:
// first if it should be triaged first ([Report.TriageFirst]), else by the
// priority its document gives it.
func (r *Report) RoutingOrder() int {
	if r.TriageFirst() {
		return RoutingFirst
	}
	return RoutingOrderOf(r.ProvisionalPriority)
}

// RoutingClaim is a report taken from the routing queue for one attempt.
type RoutingClaim struct {
	ReportID int64
	// Attempt counts this one: 1 for a report's first.
	Attempt int
}

// RoutingQueue is the store's side of the routing queue (package jobs runs
// the workers). [RoutingStore.RouteReport] takes a routed report out of it.
type RoutingQueue interface {
	// RoutingDue reports whether a queued report is due: a read, so that
	// an idle hub polls without writing.
	RoutingDue(ctx context.Context) (bool, error)
	// ClaimRouting takes up to limit due reports, in order, and holds
	// them for lease: no claim takes them again before it has passed, so
	// several hub processes share the queue, and a report claimed by a
	// process that died is taken again after it.
	ClaimRouting(ctx context.Context, limit int, lease time.Duration) ([]RoutingClaim, error)
	// RoutingFailed records a failed attempt with its reason: the report is
	// due again after retryIn, or, with retryIn of 0 or less, leaves the
	// queue unrouted, its reason kept for an operator. A report routed,
	// queued again or claimed again meanwhile is left as it is.
	RoutingFailed(ctx context.Context, claim RoutingClaim, reason string, retryIn time.Duration) error
	// ReleaseRouting gives a claim back unattempted (its worker was
	// stopped): due at once, the attempt not counted.
	ReleaseRouting(ctx context.Context, claim RoutingClaim) error
}
