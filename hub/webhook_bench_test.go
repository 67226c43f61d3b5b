package hub_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/notify/notifytest"
	"github.com/guardian-network/guardian/storetest"
)

// webhookAgency is the agency that both the background reports and the
// priority 1 reports are referred to (Germany's partner, dispatch
// automatic); the benchmark gives it a webhook.
const webhookAgency = "de-bka-cac"

// Pace of BenchmarkWebhookLatency: one priority 1 report every
// webhookEvery arrivals of the background stream of routingRate (one
// every 100 ms among 200/s), and webhookWarmup priority 1 reports (2 s)
// measured apart before the b.N measured ones.
const (
	webhookEvery  = 20
	webhookWarmup = 20
)

// webhookRate is the background stream's rate. Raised past what the
// machine routes (-webhook-rate 400 on 2 cores), it builds a backlog of
// ordinary reports, which a priority 1 report must not wait behind.
var webhookRate = flag.Int("webhook-rate", routingRate, "reports per second of BenchmarkWebhookLatency's background stream")

// urgentReport is routedReport (located in Germany with confidence)
// annotated sextortion and sadistic exploitation: urgency 45 + 45 = 90,
// priority 1 after review (docs/triage.md). It has no files, so it is not
// priority E for want of review; its referral is delivered at once under
// the agreement's automatic dispatch and its agency notified at once,
// while the report also goes to the analysts' queue.
var urgentReport = strings.Replace(routedReport, "<incidentDateTime>",
	"<reportAnnotations><sextortion/><sadisticOnlineExploitation/></reportAnnotations>\n    <incidentDateTime>", 1)

// BenchmarkWebhookLatency measures the time from the finish response of a
// priority 1 report to the arrival of its "referral.new" webhook at the
// agency's receiver, while 200 other reports/s are submitted and finished,
// on each store. Everything is the production path: hub.Open as "guardian
// serve" opens it, intake over real HTTP, the triage, fanout and notify
// River jobs, the webhook posted over TLS to an HTTPS receiver on loopback
// that verifies each signature, and the duty e-mails sent to an SMTP relay
// on loopback over STARTTLS. The background reports (routedReport,
// priority 3) go to the same agency, whose digests are not counted. b.N
// is the number of priority 1 reports measured, one every 100 ms, after
// 20 of warm-up (2 s); 100x is 10 s:
//
//	go test ./hub -run '^$' -bench WebhookLatency -benchtime 100x
//
// It reports the latency's p50, p99 and max in milliseconds after the
// warm-up, the p99 of the warm-up (cold-p99-ms), the rate of all finishes
// achieved (reports/s: the background's 200 and the priority 1 reports'
// 10), arrivals that found every sender busy (late), and the CPU this
// process and a local PostgreSQL used (go-cpu-%, pg-cpu-%, of one core).
// It logs the mean of each stage (logStages): on 2 cores the jobs run
// close to their capacity, and when they fall behind, the waits in
// River's queue, not the work, make the latency.
func BenchmarkWebhookLatency(b *testing.B) {
	for _, backend := range []storetest.Backend{storetest.SQLite, storetest.Postgres} {
		b.Run(backend.Name, func(b *testing.B) {
			runWebhookLatency(b, openWebhookHub(b, backend.Name))
		})
	}
}

// webhookHub is a hub whose webhook agency posts to rc.
type webhookHub struct {
	hub    *hub.Hub
	client *intaketest.Client
	rc     *hookReceiver
	kind   string
}

// openWebhookHub starts a webhook receiver and an SMTP relay, opens a hub
// as benchHub does on the demo network with webhookAgency's webhook
// pointed at the receiver, and stores the agency's webhook secret as
// "guardian webhook secret" does.
func openWebhookHub(b *testing.B, kind string) *webhookHub {
	b.Helper()
	ctx := context.Background()
	secret := notify.GenerateWebhookSecret()
	rc := newHookReceiver(secret)
	srv := httptest.NewTLSServer(rc)
	b.Cleanup(srv.Close)
	webhookTLS := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()

	demo, err := os.ReadFile(filepath.Join("..", "examples", "network-demo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	const duty = "      email: [de-bka-cac-duty@example.org]\n"
	if strings.Count(string(demo), duty) != 1 {
		b.Fatalf("the demo network no longer has %q once: update the benchmark", duty)
	}
	network := filepath.Join(b.TempDir(), "network.yaml")
	demo = []byte(strings.Replace(string(demo), duty, duty+"      webhook: "+srv.URL+"/hooks/guardian\n", 1))
	if err := os.WriteFile(network, demo, 0o600); err != nil {
		b.Fatal(err)
	}

	relay := notifytest.MustSMTP(b, notifytest.SMTPOptions{STARTTLS: true})
	dir := b.TempDir()
	cfg := hub.Config{
		Store:       hub.StoreConfig{Data: dir},
		Addr:        "127.0.0.1:0",
		Network:     network,
		AuditOrigin: "bench.example.org/audit",
		Logger:      slog.New(slog.DiscardHandler),
		PublicURL:   "https://hub.example.org",
		SMTP:        notify.MailerConfig{Addr: relay.Addr, From: "guardian@hub.example.org", RequireTLS: true, TLSConfig: relay.ClientTLS},
		WebhookTLS:  webhookTLS,
	}
	if kind == "postgres" {
		cfg.Store.Database = storetest.PostgresDSN(b)
	}
	h, err := hub.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			b.Error(err)
		}
	})
	mk, err := hub.LoadMasterKey("", dir)
	if err != nil {
		b.Fatal(err)
	}
	ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "bench"}, Category: guardian.CategoryPermission, Action: "webhook.secret"}
	if err := h.Store.SetWebhookSecret(ctx, webhookAgency, notify.SealWebhookSecret(mk, webhookAgency, secret), ev); err != nil {
		b.Fatal(err)
	}
	c := mustReporter(b, h, "bench")
	c.HTTP = benchTransport()
	return &webhookHub{hub: h, client: c, rc: rc, kind: kind}
}

// hookReceiver is the agency's webhook receiver: it verifies each
// webhook's signature with package notify's verifier and records when the
// "referral.new" webhook of each referral arrived.
type hookReceiver struct {
	secret notify.WebhookSecret

	mu       sync.Mutex
	arrivals map[int64][]time.Time // referral id → each referral.new's arrival
	other    map[string]int        // webhooks of other types, by type
	bad      []string              // why webhooks were refused
}

func newHookReceiver(secret notify.WebhookSecret) *hookReceiver {
	return &hookReceiver{secret: secret, arrivals: make(map[int64][]time.Time), other: make(map[string]int)}
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = rc.secret.Verify(r.Header, body, at, 5*time.Minute)
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Referrals []struct {
				ReferralID int64 `json:"referralId"`
			} `json:"referrals"`
		} `json:"data"`
	}
	if err == nil {
		err = json.Unmarshal(body, &p)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.bad = append(rc.bad, err.Error())
		http.Error(w, "bad webhook", http.StatusBadRequest)
		return
	}
	if p.Type != "referral.new" {
		// Digests of the background's referrals, should a digest window
		// close during the run: not what is measured.
		rc.other[p.Type]++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, ref := range p.Data.Referrals {
		rc.arrivals[ref.ReferralID] = append(rc.arrivals[ref.ReferralID], at)
	}
	w.WriteHeader(http.StatusNoContent)
}

// runWebhookLatency sends the background reports at routingRate and among
// them a priority 1 report every webhookEvery arrivals, warm-up and b.N,
// and waits until the webhook of each priority 1 report has arrived.
func runWebhookLatency(b *testing.B, h *webhookHub) {
	ctx := context.Background()
	background, urgent := []byte(routedReport), []byte(urgentReport)
	// The warm-up is measured apart, as in BenchmarkRoutingLatency; the
	// probe run (b.N = 1) has none.
	warm := webhookWarmup
	if b.N == 1 {
		warm = 0
	}
	total := warm + b.N
	ticks := total * webhookEvery
	const senders = 64 // as BenchmarkRoutingLatency, for the same reason
	type arrival struct {
		urgent, cold bool
	}
	type finished struct {
		id   int64
		cold bool
		at   time.Time
	}
	arrivals := make(chan arrival, ticks+total)
	urgentDone := make(chan finished, total)
	var wg sync.WaitGroup
	var mu sync.Mutex
	finishedAll := 0
	for range senders {
		wg.Go(func() {
			for a := range arrivals {
				report := background
				if a.urgent {
					report = urgent
				}
				id, err := h.client.Submit(ctx, report)
				if err != nil {
					b.Error(err)
					continue
				}
				if _, err := h.client.Finish(ctx, id); err != nil {
					b.Error(err)
					continue
				}
				at := time.Now()
				if a.urgent {
					urgentDone <- finished{id, a.cold, at}
				}
				mu.Lock()
				finishedAll++
				mu.Unlock()
			}
		})
	}

	b.ResetTimer()
	start := time.Now()
	goCPU, pgCPU := processCPU(), time.Duration(-1)
	if h.kind == "postgres" {
		pgCPU = postgresCPU()
	}
	tick := time.NewTicker(time.Second / time.Duration(*webhookRate))
	late := 0 // arrivals that found every sender busy
	sentUrgent := 0
	for i := range ticks {
		if i > 0 {
			<-tick.C
		}
		if len(arrivals) > 0 {
			late++
		}
		if i%webhookEvery == 0 {
			arrivals <- arrival{urgent: true, cold: sentUrgent < warm}
			sentUrgent++
		}
		arrivals <- arrival{}
	}
	tick.Stop()
	close(arrivals)
	wg.Wait()
	sent := time.Since(start)
	close(urgentDone)
	var urgentFinished []finished
	for f := range urgentDone {
		urgentFinished = append(urgentFinished, f)
	}
	if len(urgentFinished) != total {
		b.Fatalf("%d of %d priority 1 reports finished", len(urgentFinished), total)
	}

	// Wait for the webhooks: learn each report's referral once it is
	// routed, then see whether its webhook has arrived. Only the
	// receiver's clock matters for the figures, not this loop's pace.
	referral := make(map[int64]*guardian.Referral, total) // report id → referral
	deadline := time.Now().Add(time.Minute)
	for {
		missing := 0
		for _, f := range urgentFinished {
			ref := referral[f.id]
			if ref == nil {
				refs, err := h.hub.Store.FindReferrals(ctx, f.id)
				if err != nil {
					b.Fatal(err)
				}
				if len(refs) == 0 {
					missing++
					continue
				}
				if len(refs) != 1 {
					b.Fatalf("priority 1 report %d has %d referrals, want one", f.id, len(refs))
				}
				ref = refs[0]
				referral[f.id] = ref
			}
			h.rc.mu.Lock()
			n := len(h.rc.arrivals[ref.ID])
			h.rc.mu.Unlock()
			if n == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d priority 1 reports have no webhook after a minute", missing, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	// The CPU time that this process (the hub, its receivers and the
	// senders: go-cpu-%) and a local PostgreSQL (pg-cpu-%) used, in % of
	// one core: on a shared machine, what is left of the cores for the
	// rest shows whether the figures are the hub's or the neighbours'.
	goUsed := float64(processCPU()-goCPU) / float64(elapsed) * 100
	pgUsed := -1.0
	if pgCPU >= 0 {
		if after := postgresCPU(); after >= 0 {
			pgUsed = float64(after-pgCPU) / float64(elapsed) * 100
		}
	}

	// A retry would post a second webhook; give one the time to show.
	time.Sleep(200 * time.Millisecond)
	referralOf := make(map[int64]bool, total) // referral ids of the priority 1 reports
	for id, ref := range referral {
		ref, err := h.hub.Store.FindReferral(ctx, ref.ID)
		if err != nil {
			b.Fatal(err)
		}
		if ref.AgencyID != webhookAgency || ref.Priority != guardian.Priority1 || ref.State != guardian.ReferralDelivered {
			b.Fatalf("report %d: referral %d to %s, priority %s, state %s; want %s, 1, delivered",
				id, ref.ID, ref.AgencyID, ref.Priority, ref.State, webhookAgency)
		}
		referralOf[ref.ID] = true
	}
	var lat, cold []float64
	h.rc.mu.Lock()
	if len(h.rc.bad) > 0 {
		b.Errorf("the receiver refused %d webhooks, the first: %s", len(h.rc.bad), h.rc.bad[0])
	}
	for id, at := range h.rc.arrivals {
		if !referralOf[id] {
			b.Errorf("a referral.new webhook for referral %d, which is not of a priority 1 report", id)
		}
		if len(at) != 1 {
			b.Errorf("referral %d: %d referral.new webhooks, want one", id, len(at))
		}
	}
	var measured []measuredReport
	for _, f := range urgentFinished {
		m := measuredReport{id: f.id, referral: referral[f.id].ID, finished: f.at, arrived: h.rc.arrivals[referral[f.id].ID][0]}
		// The webhook can arrive before the finish response reaches the
		// client: that is no wait at all.
		ms := max(0, m.arrived.Sub(m.finished).Seconds()*1000)
		if f.cold {
			cold = append(cold, ms)
		} else {
			lat = append(lat, ms)
			measured = append(measured, m)
		}
	}
	if len(h.rc.other) > 0 {
		b.Logf("other webhooks (not measured): %v", h.rc.other)
	}
	h.rc.mu.Unlock()
	logStages(b, h, measured)

	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	if len(cold) > 0 {
		slices.Sort(cold)
		b.ReportMetric(percentile(cold, 0.99), "cold-p99-ms")
	}
	mu.Lock()
	b.ReportMetric(float64(finishedAll)/sent.Seconds(), "reports/s")
	mu.Unlock()
	b.ReportMetric(float64(late), "late")
	b.ReportMetric(goUsed, "go-cpu-%")
	if pgUsed >= 0 {
		b.ReportMetric(pgUsed, "pg-cpu-%")
	}
	b.ReportMetric(0, "ns/op")
}

// measuredReport is a priority 1 report measured: its referral, when its
// finish response came and when its webhook arrived.
type measuredReport struct {
	id, referral      int64
	finished, arrived time.Time
}

// logStages logs where the time of the measured priority 1 reports went,
// on average, from River's job table and the referrals: from the finish
// response to the referral's triage time (the wait in the routing queue,
// and the routing's reads and matches), from then until the fanout job it
// inserts commits (the routing's transaction), the fanout job's wait, its
// run until the notify jobs are inserted, the webhook notify job's wait,
// and from its start to the webhook's arrival (the post). It reads River's
// own columns (kind, args, created_at, attempted_at), so a River upgrade
// that renames them makes it log an error rather than fail.
func logStages(b *testing.B, h *webhookHub, measured []measuredReport) {
	argsText := "args::text"
	if h.kind == "sqlite" {
		argsText = "json(args)" // SQLite's River keeps args as JSONB
	}
	rows, err := h.hub.Store.DB().Query(`SELECT kind, ` + argsText + `, created_at, attempted_at FROM river_job WHERE kind IN ('fanout', 'notify')`)
	if err != nil {
		b.Logf("stages: %v", err)
		return
	}
	defer rows.Close()
	type job struct{ created, attempted time.Time }
	fanout := make(map[int64]job)  // referral id → fanout job
	webhook := make(map[int64]job) // referral id → webhook notify job
	for rows.Next() {
		var kind string
		var args []byte
		var created, attempted any
		if err := rows.Scan(&kind, &args, &created, &attempted); err != nil {
			b.Logf("stages: %v", err)
			return
		}
		var a struct {
			Channel string `json:"channel"`
			Items   []struct {
				ReferralID int64 `json:"referralId"`
			} `json:"items"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			b.Logf("stages: job args: %v", err)
			return
		}
		j := job{stageTime(created), stageTime(attempted)}
		switch {
		case len(a.Items) != 1: // a digest
		case kind == "fanout":
			fanout[a.Items[0].ReferralID] = j
		case a.Channel == string(guardian.ChannelWebhook):
			webhook[a.Items[0].ReferralID] = j
		}
	}
	if err := rows.Err(); err != nil {
		b.Logf("stages: %v", err)
		return
	}
	var sum [6]time.Duration
	n := 0
	for _, u := range measured {
		f, w := fanout[u.referral], webhook[u.referral]
		if f.attempted.IsZero() || w.attempted.IsZero() {
			continue
		}
		ref, err := h.hub.Store.FindReferral(context.Background(), u.referral)
		if err != nil {
			b.Logf("stages: %v", err)
			return
		}
		triaged := ref.TriagedAt
		for i, d := range []time.Duration{triaged.Sub(u.finished), f.created.Sub(triaged), f.attempted.Sub(f.created),
			w.created.Sub(f.attempted), w.attempted.Sub(w.created), u.arrived.Sub(w.attempted)} {
			sum[i] += d
		}
		n++
	}
	if n == 0 {
		b.Logf("stages: no job of the measured reports found")
		return
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
	b.Logf("stages of %d reports, mean ms: queue wait and triage %.0f, routing %.0f, fanout wait %.0f, fanout %.0f, notify wait %.0f, post %.0f",
		n, ms(sum[0]), ms(sum[1]), ms(sum[2]), ms(sum[3]), ms(sum[4]), ms(sum[5]))
}

// stageTime returns a timestamp of River's job table as the driver scans
// it: a time, or on SQLite perhaps text; the zero time if neither.
func stageTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
			if x, err := time.Parse(layout, t); err == nil {
				return x
			}
		}
	}
	return time.Time{}
}
