package simulate

import (
	"sync"
	"time"
)

// Priorities in the order the summary shows them.
var Priorities = []string{"E", "1", "2", "3"}

// heldSuffix marks the figures of referrals that were held for an
// analyst's confirmation (the hub bot's): their delivery waited for a
// person, so they are kept apart.
const heldSuffix = " held"

func statKey(priority string, held bool) string {
	if held {
		return priority + heldSuffix
	}
	return priority
}

// tracker follows finished reports to their referrals' delivery, webhook
// and acknowledgement. It keeps a report until one of its referrals is
// acknowledged, and a referral until a minute after it is acknowledged,
// or either until trackFor has passed: its memory is bounded by the rate
// times that time, never by the length of the run.
type tracker struct {
	trackFor time.Duration
	since    time.Time // the run's start: referrals received before are not ours

	mu       sync.Mutex
	reports  map[int64]time.Time // report id → its finish response, on the simulator's clock
	refs     map[int64]*trackedReferral
	last     time.Time // the last thing that happened
	lastSwep time.Time

	stats   map[string]*priorityStats
	c       trackerCounts
	expired int64 // reports dropped after trackFor with no referral acknowledged
}

type trackerCounts struct {
	seen, acked, confirmed, replied, webhooks int64
}

// priorityStats are the end-to-end figures of one priority.
type priorityStats struct {
	referrals    int64
	delivered    Histogram // deliveredAt − receivedAt, on the hub's clock
	webhook      Histogram // webhook arrival − finish response, on the simulator's clock
	acknowledged Histogram // acknowledgedAt − receivedAt, on the hub's clock
	seen         Histogram // a bot's first sight − finish response, on the simulator's clock
}

// trackedReferral is what the tracker knows of one referral.
type trackedReferral struct {
	report      int64
	priority    string    // with heldSuffix if the hub bot confirmed it
	received    time.Time // the report's finish, on the hub's clock
	webhookAt   time.Time // first webhook naming it, on the simulator's clock
	webhookDone bool      // its webhook latency is recorded
	seen        bool      // a bot has listed it
	claimed     bool      // a bot is acknowledging it
	confirming  bool      // the hub bot is confirming it
	done        time.Time // acknowledged
	created     time.Time
}

func newTracker(trackFor time.Duration) *tracker {
	t := &tracker{trackFor: trackFor, reports: map[int64]time.Time{}, refs: map[int64]*trackedReferral{},
		stats: map[string]*priorityStats{}, last: time.Now()}
	for _, p := range Priorities {
		t.stats[p] = &priorityStats{}
		t.stats[p+heldSuffix] = &priorityStats{}
	}
	return t
}

// maxTracked bounds the reports and referrals tracked at once, whatever
// the rate: beyond it, new ones are not followed.
const maxTracked = 1 << 20

func (t *tracker) finished(report int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(at)
	if len(t.reports) < maxTracked {
		t.reports[report] = at
	}
	t.last = at
}

func (t *tracker) stat(p string) *priorityStats {
	s, ok := t.stats[p]
	if !ok {
		s = &priorityStats{}
		t.stats[p] = s
	}
	return s
}

// ref returns the referral's entry, made if new; nil when the tracker is
// full.
func (t *tracker) ref(id int64, now time.Time) *trackedReferral {
	r, ok := t.refs[id]
	if !ok {
		if len(t.refs) >= maxTracked {
			return nil
		}
		r = &trackedReferral{created: now}
		t.refs[id] = r
	}
	return r
}

// webhookTime records its latency once both the webhook and the report's
// finish are known.
func (t *tracker) webhookTime(r *trackedReferral) {
	if r.webhookDone || r.webhookAt.IsZero() || !r.seen {
		return
	}
	r.webhookDone = true
	from := r.received // the hub's clock, if the finish is no longer tracked
	if at, ok := t.reports[r.report]; ok {
		from = at
	}
	t.stat(r.priority).webhook.Add(r.webhookAt.Sub(from))
}

// webhook records a webhook naming a referral, as it arrived.
func (t *tracker) webhook(referral int64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.webhooks++
	t.last = at
	r := t.ref(referral, at)
	if r == nil || !r.webhookAt.IsZero() {
		return
	}
	r.webhookAt = at
	t.webhookTime(r)
}

// seen records a referral a bot listed, and says whether the bot should
// act on it: it is new, received during the run, and no bot claimed it.
func (t *tracker) seen(v referralView, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v.ReceivedAt.Before(t.since.Add(-time.Minute)) {
		return false // an older referral of the hub: not this run's
	}
	r := t.ref(v.ID, now)
	if r == nil {
		return false
	}
	if !r.seen {
		r.seen, r.report, r.priority, r.received = true, v.ReportID, statKey(v.Priority, r.confirming), v.ReceivedAt
		t.c.seen++
		t.last = now
		s := t.stat(r.priority)
		s.referrals++
		if v.DeliveredAt != nil {
			s.delivered.Add(v.DeliveredAt.Sub(v.ReceivedAt))
		}
		if at, ok := t.reports[v.ReportID]; ok {
			s.seen.Add(now.Sub(at))
		}
		t.webhookTime(r)
	}
	if r.claimed || !r.done.IsZero() {
		return false
	}
	r.claimed = true
	return true
}

// unclaim lets a bot try again later after a failure.
func (t *tracker) unclaim(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.refs[id]; ok {
		r.claimed = false
	}
}

// held records a referral held for confirmation that the hub bot listed,
// and says whether to confirm it.
func (t *tracker) held(v referralView, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v.ReceivedAt.Before(t.since.Add(-time.Minute)) {
		return false
	}
	r := t.ref(v.ID, now)
	if r == nil || r.confirming {
		return false
	}
	r.confirming = true
	t.last = now
	return true
}

func (t *tracker) confirmed(ok bool, id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ok {
		t.c.confirmed++
		t.last = time.Now()
	} else if r, found := t.refs[id]; found {
		r.confirming = false
	}
}

// acknowledged records a bot's acknowledgement, as the hub answered it.
func (t *tracker) acknowledged(v referralView, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.acked++
	t.last = now
	key := statKey(v.Priority, false)
	if r := t.ref(v.ID, now); r != nil {
		r.done = now
		if r.seen {
			key = r.priority
		}
	}
	if v.AcknowledgedAt != nil {
		t.stat(key).acknowledged.Add(v.AcknowledgedAt.Sub(v.ReceivedAt))
	}
	// The report has reached a person: it waits no more. Its other
	// referrals, if any, fall back on the hub's clock for their webhook.
	delete(t.reports, v.ReportID)
	t.sweep(now)
}

func (t *tracker) replied() {
	t.mu.Lock()
	t.c.replied++
	t.mu.Unlock()
}

// sweep drops what no longer needs tracking, at most once a second.
func (t *tracker) sweep(now time.Time) {
	if now.Sub(t.lastSwep) < time.Second {
		return
	}
	t.lastSwep = now
	for id, at := range t.reports {
		if now.Sub(at) > t.trackFor {
			delete(t.reports, id)
			t.expired++
		}
	}
	for id, r := range t.refs {
		if (!r.done.IsZero() && now.Sub(r.done) > time.Minute) || now.Sub(r.created) > t.trackFor {
			delete(t.refs, id)
		}
	}
}

// waiting returns the finished reports none of whose referrals is
// acknowledged yet, and when the last thing happened.
func (t *tracker) waiting() (int, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(time.Now())
	return len(t.reports), t.last
}

func (t *tracker) counts() trackerCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c
}
