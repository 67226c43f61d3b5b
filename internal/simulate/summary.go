package simulate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is what a simulation did and measured.
type Summary struct {
	Seed          uint64
	TargetRate    float64
	Elapsed       time.Duration // from the first report to the last answer of the sending
	Sent, OK      int64         // reports started, and finished without an error
	Failed        int64
	Late          int64 // reports that waited for a free sender
	Files         int64
	Kinds         map[string]int64
	Countries     map[string]int64
	Fingerprint   string // of the first FingerprintOf reports' time-free contents
	FingerprintOf int
	First         []string // the first three reports, briefly

	// Errors counts the failed requests by endpoint and code.
	Errors    map[string]int64
	Endpoints map[string]Stats

	// The end-to-end figures, with bots only.
	Bots      int
	EndToEnd  map[string]PriorityStats // by priority
	Seen      int64
	Acked     int64
	Replied   int64
	Confirmed int64
	Waiting   int   // finished reports none of whose referrals was acknowledged at the end
	Expired   int64 // reports given up after the tracking time
	Webhooks  *WebhookStats
}

// PriorityStats are the end-to-end figures of one priority.
type PriorityStats struct {
	Referrals                              int64
	Delivered, Webhook, Acknowledged, Seen Stats
}

// Rate is the reports per second achieved.
func (s *Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK) / s.Elapsed.Seconds()
}

func (r *run) summary(elapsed time.Duration, bots []*bot, hooks *webhookReceiver) *Summary {
	s := &Summary{Seed: r.cfg.Seed, TargetRate: r.cfg.Rate, Elapsed: elapsed, Sent: r.sent.Load(), OK: r.ok.Load(),
		Failed: r.failed.Load(), Late: r.late.Load(), Files: r.files.Load(), Kinds: r.kinds.snapshot(),
		Countries: r.countries.snapshot(), Errors: r.errs.snapshot(), Endpoints: map[string]Stats{}, Bots: len(bots)}
	s.Fingerprint, s.FingerprintOf = r.fingerprint()
	r.fpMu.Lock()
	s.First = append([]string(nil), r.first...)
	r.fpMu.Unlock()
	for _, e := range Endpoints {
		s.Endpoints[e] = r.endpoint[e].Stats()
	}
	if len(bots) > 0 {
		t := r.tracker
		t.mu.Lock()
		s.EndToEnd = map[string]PriorityStats{}
		for p, ps := range t.stats {
			s.EndToEnd[p] = PriorityStats{Referrals: ps.referrals, Delivered: ps.delivered.Stats(), Webhook: ps.webhook.Stats(),
				Acknowledged: ps.acknowledged.Stats(), Seen: ps.seen.Stats()}
		}
		s.Seen, s.Acked, s.Replied, s.Confirmed = t.c.seen, t.c.acked, t.c.replied, t.c.confirmed
		s.Waiting, s.Expired = len(t.reports), t.expired
		t.mu.Unlock()
	}
	if hooks != nil {
		w := hooks.stats()
		s.Webhooks = &w
	}
	return s
}

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nguardian simulate: %d reports finished of %d sent in %s: %.1f reports/s achieved (target %.1f/s), seed %d\n",
		s.OK, s.Sent, s.Elapsed.Round(time.Millisecond), s.Rate(), s.TargetRate, s.Seed)
	if s.Late > 0 {
		fmt.Fprintf(w, "  %d reports waited for a free sender: the hub answered slower than the rate\n", s.Late)
	}
	fmt.Fprintf(w, "traffic: %s; %d files\n", counts(s.Kinds, 0), s.Files)
	fmt.Fprintf(w, "countries: %s\n", counts(s.Countries, 8))
	fmt.Fprintf(w, "traffic fingerprint: %s (first %d reports; the same seed gives the same)\n", s.Fingerprint, s.FingerprintOf)
	fmt.Fprintf(w, "first reports: %s\n", strings.Join(s.First, ", "))

	if len(s.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		var n int64
		for _, v := range s.Errors {
			n += v
		}
		fmt.Fprintf(w, "errors: %d\n", n)
		for _, k := range sortedKeys(s.Errors) {
			fmt.Fprintf(w, "  %-60s %d\n", k, s.Errors[k])
		}
	}

	fmt.Fprintln(w, "\nintake latency (simulator's clock, per request):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  endpoint\trequests\tmean\tp50\tp90\tp99\tmax\t")
	for _, e := range Endpoints {
		st := s.Endpoints[e]
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", e, st.Count, ms(st.Mean), ms(st.P50), ms(st.P90), ms(st.P99), ms(st.Max))
	}
	tw.Flush()

	if s.EndToEnd == nil {
		fmt.Fprintln(w, "\nend to end: no bots (--agency-bots), so no referral was followed")
		return
	}
	fmt.Fprintln(w, "\nend to end, from each report's finish (p50 / p99 / max):")
	fmt.Fprintln(w, "  delivered and acknowledged: the referral's deliveredAt and acknowledgedAt − its receivedAt, on the hub's clock;")
	fmt.Fprintln(w, "  webhook: its first webhook's arrival − the finish response, and seen: a bot's first listing of it, on this clock.")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  priority\treferrals\tdelivered\twebhooks\twebhook\tseen\tacknowledged\tacknowledge\t")
	for _, held := range []bool{false, true} {
		for _, p := range Priorities {
			e := s.EndToEnd[statKey(p, held)]
			if held && e.Referrals == 0 {
				continue
			}
			label := p
			if held {
				label = p + ", held"
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%s\t%d\t%s\t\n", label, e.Referrals, triple(e.Delivered), e.Webhook.Count, triple(e.Webhook),
				triple(e.Seen), e.Acknowledged.Count, triple(e.Acknowledged))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "  (held: referrals held for an analyst's confirmation, delivered once the hub bot confirmed them)")
	fmt.Fprintf(w, "bots: %d; referrals seen %d, acknowledged %d, answered %d, confirmed by the hub bot %d\n",
		s.Bots, s.Seen, s.Acked, s.Replied, s.Confirmed)
	fmt.Fprintf(w, "reports waiting for an acknowledgement at the end: %d (given up after the tracking time: %d)\n", s.Waiting, s.Expired)
	if s.Webhooks != nil {
		h := s.Webhooks
		fmt.Fprintf(w, "webhooks: %s; verified %d, unverified %d, refused %d, repeats of a webhook-id %d\n",
			counts(h.ByType, 0), h.Verified, h.Unverified, h.Refused, h.Repeated)
	}
}

func triple(st Stats) string {
	if st.Count == 0 {
		return "-"
	}
	return ms(st.P50) + " / " + ms(st.P99) + " / " + ms(st.Max)
}

// counts formats "key n" pairs, largest first, the first limit of them (0
// for all).
func counts(m map[string]int64, limit int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := sortedKeys(m)
	var parts []string
	var rest int64
	for i, k := range keys {
		if limit > 0 && i >= limit {
			rest += m[k]
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %d", rest))
	}
	return strings.Join(parts, ", ")
}
