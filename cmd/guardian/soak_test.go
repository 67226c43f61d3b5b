//go:build soak

package main

// The soak check (issue 12, part 5; docs/performance.md, "Soak check"). It
// is behind the "soak" build tag, so that "go test ./..." and .ci/run never
// run it:
//
//	go test -tags soak -run TestSoak/sqlite -timeout 30m -v ./cmd/guardian \
//	    -soak-duration 3m -soak-rate 30
//
// "guardian simulate" drives a real "guardian serve" for -soak-duration,
// the hub is killed with SIGKILL at a third and at two thirds of it and
// restarted at once, and then the store is held to what the simulator was
// told (its --record file): every report whose finish answered success is
// routed, every priority E or 1 referral delivered has each of its
// notifications recorded (or a retry of it pending), no job was dropped,
// a webhook that came twice came with the same webhook-id and body, and
// the audit log verifies, both from the store and as a witness across the
// restarts.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/demo"
	"github.com/guardian-network/guardian/internal/simulate"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

var (
	soakDuration = flag.Duration("soak-duration", 3*time.Minute, "how long the simulator sends; the hub is killed at a third and at two thirds of it")
	soakRate     = flag.Float64("soak-rate", 30, "the simulator's mean reports per second")
	soakDrain    = flag.Duration("soak-drain", 2*time.Minute, "the longest wait, once the simulator is done, for every acknowledged report to be routed and notified")
)

// TestSoak runs the soak check on SQLite, and on PostgreSQL when
// GUARDIAN_TEST_POSTGRES is set (TestSoak/sqlite runs the first only).
func TestSoak(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSoak(t, nil) })
	t.Run("postgres", func(t *testing.T) { testSoak(t, []string{"--database", storetest.PostgresDSN(t)}) })
}

func testSoak(t *testing.T, storeArgs []string) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration+*soakDrain+15*time.Minute)
	defer cancel()
	data := t.TempDir()

	// Every agency's webhook goes to the simulator's receiver, its e-mail
	// to a catcher in this process: each notification has somewhere to
	// arrive, so that one not sent is the hub's doing.
	hookAddr := freeAddr(t)
	netPath := simulateNetwork(t, hookAddr)
	nw, err := network.Load(netPath)
	if err != nil {
		t.Fatal(err)
	}
	mail, err := demo.StartMailCatcher("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mail.Close()
	out := MustRunGuardian(t, "simulate", "--webhook-setup", "--webhook-listen", hookAddr, "--data", data)
	m := regexp.MustCompile(`certificate: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--webhook-setup printed no certificate:\n%s", out)
	}
	t.Setenv("SSL_CERT_FILE", m[1])

	// The hub listens on a fixed address, so that the simulator finds it
	// again after each restart.
	hubArgs := append([]string{"--data", data, "--migrate", "--network", netPath, "--addr", freeAddr(t), "--log-level", "info",
		"--smtp-addr", mail.Addr(), "--smtp-from", "guardian@hub.example.org", "--smtp-require-tls=false"}, storeArgs...)
	h := StartHub(t, hubArgs...)
	hubURL := h.URL

	// A witness keeps the last checkpoint it saw and checks that each new
	// one extends it: a restart must not fork or shrink the log.
	vkey := strings.TrimSpace(MustRunGuardian(t, "audit", "key", "--data", data))
	checkpoint := filepath.Join(t.TempDir(), "checkpoint")
	witness := func(when string) {
		out, err := runGuardian("audit", "verify", "--url", hubURL+"/audit", "--checkpoint", checkpoint, "--key", vkey)
		if err != nil {
			t.Errorf("FINDING: audit witness %s: %v", when, err)
			return
		}
		t.Logf("audit witness %s: %s", when, strings.TrimSpace(out))
	}
	witness("at the start")

	record := filepath.Join(t.TempDir(), "record.jsonl")
	simArgs := append([]string{"simulate", "--url", hubURL, "--data", data, "--network", netPath, "--reporters", "4",
		"--agency-bots", "--ack-delay", "500ms", "--webhook-listen", hookAddr,
		"--rate", fmt.Sprint(*soakRate), "--duration", soakDuration.String(), "--seed", "1", "--record", record,
		"--progress-every", "10s", "--drain", "2m", "--quiet", "20s"}, storeArgs...)
	sim := exec.Command(guardianBin, simArgs...)
	sim.Env = cleanEnv()
	simOut := &lockedBuffer{}
	sending := make(chan struct{})
	sim.Stdout = simOut
	sim.Stderr = &lineWatcher{t: t, prefix: "simulate: ", want: "reports/s, seed", seen: sending}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Wait() }()
	simEnded := false
	t.Cleanup(func() {
		if !simEnded {
			// Killed and waited for, so that nothing writes to the test's
			// log once it has ended.
			_ = sim.Process.Kill()
			<-simDone
		}
	})
	select {
	case <-sending: // its reporters and bots are set up: the traffic starts
	case err := <-simDone:
		simEnded = true
		t.Fatalf("guardian simulate exited before sending: %v\n%s", err, simOut.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("guardian simulate did not start sending in 2 minutes")
	}
	sendStart := time.Now()

	for i, at := range []time.Duration{*soakDuration / 3, *soakDuration * 2 / 3} {
		time.Sleep(time.Until(sendStart.Add(at)))
		witness(fmt.Sprintf("before kill %d", i+1))
		h.Kill()
		if h.cmd.ProcessState == nil || h.cmd.ProcessState.Success() {
			t.Fatalf("kill %d: the hub was not killed", i+1)
		}
		t.Logf("hub killed with SIGKILL at %s of sending", time.Since(sendStart).Round(time.Second))
		// A short outage, which the simulator sees as refused connections.
		time.Sleep(2 * time.Second)
		t0 := time.Now()
		h = StartHub(t, hubArgs...)
		if h.URL != hubURL {
			t.Fatalf("the restarted hub is at %s, not %s", h.URL, hubURL)
		}
		t.Logf("hub restarted in %s", time.Since(t0).Round(time.Millisecond))
		witness(fmt.Sprintf("after restart %d", i+1))
	}

	select {
	case err := <-simDone:
		simEnded = true
		if err != nil {
			t.Fatalf("guardian simulate: %v\n%s", err, simOut.String())
		}
	case <-time.After(*soakDuration + 10*time.Minute):
		t.Fatalf("guardian simulate did not end\n%s", simOut.String())
	}
	t.Logf("simulator summary:\n%s", simOut.String())
	acked, hooks := readRecord(t, record)

	// The hub drains what is left; the check is repeated until nothing is
	// waiting any more, or the drain period has passed.
	cfg := StoreConfig{Data: data}
	if len(storeArgs) == 2 {
		cfg.Database = storeArgs[1]
	}
	st, err := openWithMasterKey(ctx, cfg, "", stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &soakChecker{st: st, net: nw, sqlite: cfg.Database == "", hookHost: hookAddr, acked: acked, hooks: hooks}
	drainStart := time.Now()
	var res *soakResult
	for {
		if res, err = c.check(ctx, false); err != nil {
			t.Fatal(err)
		}
		if len(res.waiting) == 0 || time.Since(drainStart) > *soakDrain {
			break
		}
		time.Sleep(5 * time.Second)
	}
	t.Logf("after the simulator: drained in %s (%d still waiting)", time.Since(drainStart).Round(time.Second), len(res.waiting))
	witness("at the end")
	h.Stop(t)

	// With the hub stopped cleanly, a job still "running" is one a kill
	// left behind: River runs it again once a hub runs,
	// RescueStuckJobsAfter (2 minutes) after it began.
	if res, err = c.check(ctx, true); err != nil {
		t.Fatal(err)
	}
	res.mails = mail.Total()
	if res.emailSent > res.mails {
		res.findings = append(res.findings, fmt.Sprintf("%d e-mail notifications recorded as sent, but the catcher received %d messages", res.emailSent, res.mails))
	}
	out, err = runGuardian(append([]string{"audit", "verify", "--data", data}, storeArgs...)...)
	if err != nil {
		res.findings = append(res.findings, fmt.Sprintf("guardian audit verify: %v", err))
	} else {
		res.audit = strings.TrimSpace(out)
	}

	t.Logf("soak check: %s of sending at %.0f/s, 2 kills; %s in all\n%s", soakDuration, *soakRate, time.Since(began).Round(time.Second), res)
	for i, f := range res.findings {
		if i == 30 {
			t.Errorf("... and %d more findings", len(res.findings)-30)
			break
		}
		t.Errorf("FINDING: %s", f)
	}
	if res.acked < 100 {
		t.Errorf("only %d reports acknowledged: the check proves little", res.acked)
	}
	if res.urgent == 0 || res.webhooks == 0 {
		t.Errorf("no urgent referral delivered (%d) or no webhook received (%d): the notification check proves nothing", res.urgent, res.webhooks)
	}
	if t.Failed() {
		t.Logf("hub log (last 40 lines):\n%s", lastLines(h.stderr.String(), 40))
	}
}

// lineWatcher passes the simulator's stderr to the test's log, line by
// line, and closes seen once a line holds want.
type lineWatcher struct {
	t      *testing.T
	prefix string
	want   string
	seen   chan struct{}

	mu   sync.Mutex
	part []byte
	once sync.Once
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := strings.IndexByte(string(w.part), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		if strings.Contains(line, w.want) {
			w.once.Do(func() { close(w.seen) })
		}
		w.t.Log(strings.TrimPrefix(line, w.prefix))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readRecord reads the simulator's --record file: the reports whose finish
// answered success, and the webhooks its receiver accepted.
func readRecord(t *testing.T, path string) (map[int64]bool, []simulate.Record) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acked := map[int64]bool{}
	var hooks []simulate.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r simulate.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		switch {
		case r.Finished != 0:
			acked[r.Finished] = true
		case r.Webhook != "":
			hooks = append(hooks, r)
		default:
			t.Fatalf("%s: a line neither a finish nor a webhook: %q", path, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return acked, hooks
}

// riverJob is a row of River's job table, as far as the check needs it.
type riverJob struct {
	ID      int64
	Kind    string
	State   string
	Attempt int
	Args    string

	// Channel and Target are a notify job's ("" for other kinds).
	Channel guardian.NotificationChannel
	Target  string
}

// pending reports whether the job will still run, without anyone's help:
// a retry is due, or it is running.
func (j riverJob) pending() bool {
	switch j.State {
	case "available", "scheduled", "retryable", "pending", "running":
		return true
	}
	return false
}

// soakChecker compares the store with what the simulator recorded.
type soakChecker struct {
	st       *sqlstore.Store
	net      *guardian.Network
	sqlite   bool
	hookHost string
	acked    map[int64]bool
	hooks    []simulate.Record
}

// soakResult is one check: what was found, and what is still waiting
// (not yet a finding while the hub runs).
type soakResult struct {
	acked, finished, unacked, routed      int
	withReferrals, queued, none           int
	referrals                             map[string]int // "priority state" → count
	urgent                                int            // priority E or 1 referrals delivered
	expected, sent, failed, doubled       int            // their notifications, per target
	emailSent, webhookSent                int
	webhooks, webhookIDs, repeated, mails int
	jobs                                  map[string]int // "kind state" → count
	stuck                                 map[string]int // kind → jobs left running by a kill (final check)
	audit                                 string
	findings, waiting                     []string
}

func (r *soakResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reports: %d finishes acknowledged; %d finished in the store (%d committed but not acknowledged, the answer lost to a kill); %d routed\n",
		r.acked, r.finished, r.unacked, r.routed)
	fmt.Fprintf(&b, "routing: %d reports with referrals, %d in the analysts' queue without, %d with neither\n", r.withReferrals, r.queued, r.none)
	fmt.Fprintf(&b, "referrals: %s\n", countList(r.referrals))
	fmt.Fprintf(&b, "notifications of the %d priority E/1 referrals delivered: %d expected (one per target), %d sent (%d e-mail, %d webhook), %d failed, %d recorded twice\n",
		r.urgent, r.expected, r.sent, r.emailSent, r.webhookSent, r.failed, r.doubled)
	fmt.Fprintf(&b, "webhooks received: %d, %d webhook-ids, %d ids received more than once; e-mails caught: %d\n", r.webhooks, r.webhookIDs, r.repeated, r.mails)
	fmt.Fprintf(&b, "River jobs: %s\n", countList(r.jobs))
	if len(r.stuck) > 0 {
		fmt.Fprintf(&b, "River jobs left running by a kill, run again 2 minutes after they began, once a hub runs (RescueStuckJobsAfter): %s\n", countList(r.stuck))
	}
	fmt.Fprintf(&b, "audit verify: %s\n", r.audit)
	fmt.Fprintf(&b, "findings: %d; still waiting: %d", len(r.findings), len(r.waiting))
	for i, w := range r.waiting {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.waiting)-10)
			break
		}
		fmt.Fprintf(&b, "\n  waiting: %s", w)
	}
	return b.String()
}

func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// check runs the whole comparison once. final says the hub has stopped
// cleanly: then whatever is still waiting is a finding, and a job still
// running was left by a kill.
func (c *soakChecker) check(ctx context.Context, final bool) (*soakResult, error) {
	res := &soakResult{referrals: map[string]int{}, jobs: map[string]int{}, stuck: map[string]int{}, acked: len(c.acked)}
	notYet := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		if final {
			res.findings = append(res.findings, s)
		} else {
			res.waiting = append(res.waiting, s)
		}
	}
	lost := func(format string, args ...any) { res.findings = append(res.findings, fmt.Sprintf(format, args...)) }

	jobsList, err := c.riverJobs(ctx)
	if err != nil {
		return nil, err
	}
	routing, err := c.routingQueue(ctx)
	if err != nil {
		return nil, err
	}
	delivery := map[string][]riverJob{} // fanout and notify jobs by event id
	for _, j := range jobsList {
		res.jobs[j.Kind+" "+j.State]++
		switch j.Kind {
		case "fanout", "notify":
			// A fanout's args have no channel or target: it stands for
			// every target of its event.
			var a jobs.NotifyArgs
			if err := json.Unmarshal([]byte(j.Args), &a); err != nil {
				return nil, fmt.Errorf("river job %d: %w", j.ID, err)
			}
			j.Channel, j.Target = a.Channel, a.Target
			delivery[a.EventID] = append(delivery[a.EventID], j)
		}
		if j.State == "discarded" || j.State == "cancelled" {
			lost("River job %d (%s) was %s after %d attempts: %s", j.ID, j.Kind, j.State, j.Attempt, j.Args)
		}
		if final && j.State == "running" {
			// A kill left it: River rescues it only after JobTimeout + 1
			// hour. Harmless if its work was committed before the kill
			// (routing is idempotent; a notification is sent again with
			// the same webhook-id); the checks below find it if not.
			res.stuck[j.Kind]++
		}
	}
	states := func(js []riverJob) string {
		if len(js) == 0 {
			return "no job"
		}
		var s []string
		for _, j := range js {
			d := fmt.Sprintf("job %d %s (attempt %d)", j.ID, j.State, j.Attempt)
			if final && j.State == "running" {
				d += " left by a kill: River runs it again once a hub runs, 2 minutes after it began"
			}
			s = append(s, d)
		}
		return strings.Join(s, ", ")
	}
	anyPending := func(js []riverJob) bool {
		for _, j := range js {
			if j.pending() {
				return true
			}
		}
		return false
	}

	// The reports to hold to account: every acknowledged finish, and every
	// finish the store committed (some answers were lost to the kills).
	finished := map[int64]bool{}
	for after := int64(0); ; {
		page, err := c.st.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.finish", AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Outcome == guardian.OutcomeSuccess && e.ReportID != 0 {
				finished[e.ReportID] = true
			}
		}
		after = page[len(page)-1].ID
	}
	res.finished = len(finished)
	ids := make([]int64, 0, len(finished))
	for id := range finished {
		ids = append(ids, id)
		if !c.acked[id] {
			res.unacked++
		}
	}
	for id := range c.acked {
		if finished[id] {
			continue
		}
		r, err := c.st.FindReportByID(ctx, id)
		switch {
		case err != nil:
			lost("report %d: its finish was acknowledged, but the store has no such report: %v", id, err)
			continue
		case r.State != guardian.ReportFinished:
			lost("report %d: its finish was acknowledged, but the store has it %s", id, r.State)
			continue
		}
		lost("report %d: finished in the store, without a successful report.finish audit event", id)
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	webhookByReferral := map[int64]bool{}
	for _, h := range c.hooks {
		if h.Type == "referral.new" {
			for _, id := range h.Referrals {
				webhookByReferral[id] = true
			}
		}
	}

	for _, id := range ids {
		if _, err := c.st.FindReportAssessment(ctx, id); guardian.ErrorCode(err) == guardian.ENOTFOUND {
			if q := routing[id]; q.queued || !final {
				notYet("report %d (finish acknowledged: %t) is not routed: %s", id, c.acked[id], q)
			} else {
				lost("report %d (finish acknowledged: %t) is not routed, and nothing will route it: %s", id, c.acked[id], q)
			}
			continue
		} else if err != nil {
			return nil, err
		}
		res.routed++
		refs, err := c.st.FindReferrals(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			if _, err := c.st.FindQueueEntry(ctx, id); err == nil {
				res.queued++
			} else if guardian.ErrorCode(err) == guardian.ENOTFOUND {
				res.none++
			} else {
				return nil, err
			}
			continue
		}
		res.withReferrals++
		for _, r := range refs {
			res.referrals[string(r.Priority)+" "+string(r.State)]++
			if (r.Priority != guardian.PriorityUnreviewed && r.Priority != guardian.Priority1) || r.DeliveredAt == nil {
				continue
			}
			res.urgent++
			if err := c.checkNotifications(ctx, r, res, delivery, webhookByReferral, notYet, lost, anyPending, states); err != nil {
				return nil, err
			}
		}
	}

	c.checkWebhooks(res, lost)
	return res, nil
}

// checkNotifications holds a delivered priority E or 1 referral to its
// notifications: one per duty address and webhook of its agency, each
// recorded once sent or given up on, or else still to be tried.
func (c *soakChecker) checkNotifications(ctx context.Context, r *guardian.Referral, res *soakResult, delivery map[string][]riverJob,
	webhookByReferral map[int64]bool, notYet, lost func(string, ...any), anyPending func([]riverJob) bool, states func([]riverJob) string) error {
	a, ok := c.net.Agency(r.AgencyID)
	if !ok {
		lost("referral %d is to %s, which the network file does not have", r.ID, r.AgencyID)
		return nil
	}
	type target struct {
		channel guardian.NotificationChannel
		addr    string
	}
	var targets []target
	for _, e := range a.Duty.Email {
		targets = append(targets, target{guardian.ChannelEmail, e})
	}
	if a.Duty.Webhook != "" {
		targets = append(targets, target{guardian.ChannelWebhook, a.Duty.Webhook})
	}
	ns, err := c.st.FindNotifications(ctx, r.ID)
	if err != nil {
		return err
	}
	eventID := fmt.Sprintf("referral-%d-delivered-%d", r.ID, r.DeliveredAt.Unix())
	var eventJobs []riverJob
	for id, j := range delivery {
		if strings.HasPrefix(id, fmt.Sprintf("referral-%d-delivered-", r.ID)) {
			eventJobs = append(eventJobs, j...)
		}
	}
	for _, tg := range targets {
		res.expected++
		var js []riverJob // the jobs that may still send to this target
		for _, j := range eventJobs {
			if j.Kind == "fanout" || (j.Channel == tg.channel && j.Target == tg.addr) {
				js = append(js, j)
			}
		}
		var recs []*guardian.Notification
		for _, n := range ns {
			if n.Event == guardian.EventDelivered && n.Channel == tg.channel && n.Target == tg.addr {
				recs = append(recs, n)
			}
		}
		received := tg.channel == guardian.ChannelWebhook && webhookByReferral[r.ID]
		switch {
		case len(recs) == 0 && anyPending(js):
			notYet("referral %d (priority %s): its %s notification to %s is not recorded (received by the simulator: %t): %s %s",
				r.ID, r.Priority, tg.channel, tg.addr, received, eventID, states(js))
			continue
		case len(recs) == 0:
			lost("referral %d (priority %s, %s): its %s notification to %s is LOST: not recorded and no job will send it (received by the simulator: %t): %s %s",
				r.ID, r.Priority, r.State, tg.channel, tg.addr, received, eventID, states(js))
			continue
		case len(recs) > 1:
			res.doubled++
		}
		n := recs[len(recs)-1]
		if !n.Sent {
			res.failed++
			lost("referral %d: its %s notification to %s failed after %d attempts: %s", r.ID, tg.channel, tg.addr, n.Attempts, n.Error)
			continue
		}
		res.sent++
		if tg.channel == guardian.ChannelEmail {
			res.emailSent++
			continue
		}
		res.webhookSent++
		if u, err := url.Parse(tg.addr); err == nil && u.Host == c.hookHost && !received {
			lost("referral %d: its webhook is recorded as sent to %s, but the simulator's receiver never accepted one for it", r.ID, tg.addr)
		}
	}
	return nil
}

// checkWebhooks: a webhook that arrived twice must have come with the same
// webhook-id and the same body, so that the receiver can drop the copy;
// one referral's new-referral webhook must never come under two ids.
func (c *soakChecker) checkWebhooks(res *soakResult, lost func(string, ...any)) {
	bodies := map[string]map[string]bool{}
	count := map[string]int{}
	idsOf := map[int64]map[string]bool{}
	for _, h := range c.hooks {
		res.webhooks++
		if bodies[h.Webhook] == nil {
			bodies[h.Webhook] = map[string]bool{}
		}
		bodies[h.Webhook][h.SHA256] = true
		count[h.Webhook]++
		if !h.Verified {
			lost("webhook %s to %s arrived without a signature the simulator could verify", h.Webhook, h.Agency)
		}
		if h.Type != "referral.new" {
			continue
		}
		for _, id := range h.Referrals {
			if idsOf[id] == nil {
				idsOf[id] = map[string]bool{}
			}
			idsOf[id][h.Webhook] = true
		}
	}
	res.webhookIDs = len(bodies)
	for id, n := range count {
		if n > 1 {
			res.repeated++
		}
		if len(bodies[id]) > 1 {
			lost("webhook-id %s arrived %d times with %d different bodies", id, n, len(bodies[id]))
		}
	}
	for ref, ids := range idsOf {
		if len(ids) > 1 {
			var s []string
			for id := range ids {
				s = append(s, id)
			}
			sort.Strings(s)
			lost("referral %d: its new-referral webhook arrived under %d webhook-ids (%s): a receiver cannot drop the copy", ref, len(ids), strings.Join(s, ", "))
		}
	}
}

// queuedRouting is a report's place in the routing queue, as its row has it.
type queuedRouting struct {
	queued   bool
	attempts int
	err      string
}

func (q queuedRouting) String() string {
	switch {
	case q.queued:
		return fmt.Sprintf("queued for routing (%d attempts so far; last error %q)", q.attempts, q.err)
	case q.err != "":
		return fmt.Sprintf("routing given up after %d attempts: %s", q.attempts, q.err)
	}
	return "not in the routing queue"
}

// routingQueue reads the routing queue's reports, and those given up.
func (c *soakChecker) routingQueue(ctx context.Context) (map[int64]queuedRouting, error) {
	rows, err := c.st.DB().QueryContext(ctx, `SELECT id, route_order IS NOT NULL, route_attempts, COALESCE(route_error, '')
		FROM reports WHERE route_order IS NOT NULL OR route_error IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read the routing queue: %w", err)
	}
	defer rows.Close()
	out := map[int64]queuedRouting{}
	for rows.Next() {
		var id int64
		var q queuedRouting
		if err := rows.Scan(&id, &q.queued, &q.attempts, &q.err); err != nil {
			return nil, fmt.Errorf("read the routing queue: %w", err)
		}
		out[id] = q
	}
	return out, rows.Err()
}

// riverJobs reads River's job table in the hub's database. Its args are
// JSONB in both databases: SQLite's json() and PostgreSQL's ::text give
// them as text.
func (c *soakChecker) riverJobs(ctx context.Context) ([]riverJob, error) {
	q := `SELECT id, kind, state::text, attempt, args::text FROM river_job`
	if c.sqlite {
		q = `SELECT id, kind, state, attempt, json(args) FROM river_job`
	}
	rows, err := c.st.DB().QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read river_job: %w", err)
	}
	defer rows.Close()
	var out []riverJob
	for rows.Next() {
		var j riverJob
		var args sql.NullString
		if err := rows.Scan(&j.ID, &j.Kind, &j.State, &j.Attempt, &args); err != nil {
			return nil, fmt.Errorf("read river_job: %w", err)
		}
		j.Args = args.String
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, errors.Join(errors.New("read river_job"), err)
	}
	return out, nil
}
