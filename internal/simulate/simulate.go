// Package simulate drives a Guardian hub with synthetic traffic shaped like
// the real thing and measures it end to end. It is the engine of
// "guardian simulate".
//
// Many reporting services submit reports through the real CyberTipline
// intake API (/ispws): countries drawn from the published distribution of
// CyberTipline reports by country (countries.csv), about half of them
// informational, a few escalated, in bursts, each with one to several
// files; the reports themselves come from package internal/demo's
// generator. Simulated agencies ("bots") watch their inboxes through the
// partner API (/api/v1) with API tokens, acknowledge each referral after a
// drawn delay and sometimes answer with a message; a simulated hub analyst
// can confirm the referrals held for confirmation. An optional HTTPS
// receiver takes the hub's signed webhooks. Each leg is timed: per
// endpoint of the intake, and from a report's finish to its referral
// delivered, its webhook received and its acknowledgement.
//
// Memory is bounded: latencies go into fixed-size histograms, and a report
// or referral is tracked only until it is acknowledged or a time limit
// passes. Every failed request is counted, none is fatal.
package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guardian-network/guardian/internal/demo"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/notify"
)

// Credentials are a reporting service's intake login.
type Credentials struct{ Name, Password string }

// AgencyBot is a simulated agency: its id in the network file and an API
// token of one of its roles that may acknowledge.
type AgencyBot struct{ Agency, Token string }

// Config is one simulation.
type Config struct {
	// URL is the hub's base URL, such as http://127.0.0.1:8080.
	URL string
	// Reporters submit the reports, in turn.
	Reporters []Credentials
	// Rate is the mean number of reports per second.
	Rate float64
	// Count and Duration bound the run: it sends Count reports, or for
	// Duration, whichever comes first; at least one must be set.
	Count    int
	Duration time.Duration
	// Seed makes the traffic repeatable: the same seed draws the same
	// reports in the same order, and the same bursts.
	Seed uint64
	// Burst is the largest number of reports sent at once; default 5.
	Burst int
	// Senders bounds the reports in flight; default 64.
	Senders int
	// Suspects is the size of each country's pool of reported users.
	Suspects int
	// Countries is the distribution of reports by country; default the
	// embedded table.
	Countries *CountryTable

	// Agencies are the simulated agencies; HubToken, if set, is a hub
	// analyst's API token with which a simulated analyst confirms the
	// referrals held for confirmation.
	Agencies []AgencyBot
	HubToken string
	// AckDelay is the mean of the delay, drawn from an exponential law,
	// before a bot acknowledges (or confirms) a referral it has seen; 0
	// acts at once.
	AckDelay time.Duration
	// ReplyShare is the share of acknowledged referrals a bot answers
	// with a message; default 0.2, negative for none.
	ReplyShare float64
	// Poll is how often a bot lists its inbox; default 500 ms. A webhook
	// makes the agency's bot look at once.
	Poll time.Duration

	// WebhookListen, if set, is the address of an HTTPS receiver for the
	// hub's webhooks, whose certificate is in WebhookCertDir (see
	// EnsureWebhookCert). WebhookSecrets verify each agency's webhooks;
	// one without a secret is counted as unverified.
	WebhookListen  string
	WebhookCertDir string
	WebhookSecrets map[string]notify.WebhookSecret

	// Record, if set, receives a JSON line (a [Record]) for each report
	// whose finish the hub acknowledged and each webhook the receiver
	// accepted, for checks after the run.
	Record io.Writer

	// Drain bounds the wait, once every report is sent, for the
	// referrals of the finished reports to be acknowledged; default 60 s.
	// The wait ends early once nothing has happened for Quiet (default
	// 10 s).
	Drain, Quiet time.Duration
	// TrackFor is how long a finished report is tracked waiting for its
	// referrals; default 5 minutes.
	TrackFor time.Duration

	// Progress receives a line every ProgressEvery (default 5 s); nil for
	// none.
	Progress      io.Writer
	ProgressEvery time.Duration
	Logger        *slog.Logger
}

func (c *Config) defaults() error {
	if c.URL == "" {
		return errors.New("simulate: no hub URL")
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if len(c.Reporters) == 0 {
		return errors.New("simulate: no reporter")
	}
	if c.Rate <= 0 {
		return errors.New("simulate: the rate must be positive")
	}
	if c.Count <= 0 && c.Duration <= 0 {
		return errors.New("simulate: give a count or a duration")
	}
	if c.Burst <= 0 {
		c.Burst = 5
	}
	if c.Senders <= 0 {
		c.Senders = 64
	}
	if c.Countries == nil {
		c.Countries = Countries()
	}
	if c.ReplyShare == 0 {
		c.ReplyShare = 0.2
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.Drain <= 0 {
		c.Drain = time.Minute
	}
	if c.Quiet <= 0 {
		c.Quiet = 10 * time.Second
	}
	if c.TrackFor <= 0 {
		c.TrackFor = 5 * time.Minute
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Endpoints of the intake API, in the order a report uses them.
var Endpoints = []string{"submit", "upload", "fileinfo", "finish"}

// fingerprintOf is how many first reports the traffic fingerprint covers.
const fingerprintOf = 100

// run is one simulation's state.
type run struct {
	cfg     Config
	traffic *demo.Traffic
	start   time.Time

	endpoint map[string]*Histogram // read only once made
	window   atomic.Pointer[Histogram]
	errs     counter
	tracker  *tracker
	rec      *recorder

	sent, ok, failed atomic.Int64
	late             atomic.Int64 // reports that waited for a free sender
	busy             atomic.Int64 // senders at work
	kinds, countries counter
	files            atomic.Int64

	fpMu  sync.Mutex
	fp    [fingerprintOf][]byte // per report, its time-free description
	first []string
}

// counter counts by key under a mutex; its keys are few (codes, kinds).
type counter struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *counter) add(key string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[key] += n
	c.mu.Unlock()
}

func (c *counter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

func (c *counter) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, v := range c.m {
		n += v
	}
	return n
}

// Run runs a simulation until its count or duration is reached or ctx
// ends, waits for the referrals as Config says, and returns the summary.
// Cancelling ctx stops it cleanly: the summary covers what was done.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tr, err := demo.NewTraffic(demo.TrafficOptions{
		Seed: cfg.Seed, Countries: cfg.Countries.Countries, Country: cfg.Countries.Draw,
		CallingCode: cfg.Countries.CallingCode, Suspects: cfg.Suspects,
	})
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, traffic: tr, endpoint: map[string]*Histogram{}}
	for _, e := range Endpoints {
		r.endpoint[e] = &Histogram{}
	}
	r.window.Store(&Histogram{})
	r.tracker = newTracker(cfg.TrackFor)
	r.rec = newRecorder(cfg.Record)
	r.start = time.Now()
	r.tracker.since = r.start // before the bots start: they read it

	// The hub's webhooks and the bots start before the traffic, so that
	// the first referral finds them.
	botCtx, stopBots := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBots()
	bots := r.newBots()
	var botsDone sync.WaitGroup
	for _, b := range bots {
		botsDone.Go(func() { b.run(botCtx) })
	}
	var hooks *webhookReceiver
	if cfg.WebhookListen != "" {
		hooks, err = startWebhookReceiver(cfg.WebhookListen, cfg.WebhookCertDir, cfg.WebhookSecrets, r.tracker, bots, r.rec, cfg.Logger)
		if err != nil {
			stopBots()
			botsDone.Wait()
			return nil, err
		}
		defer hooks.close()
	}

	r.start = time.Now()
	stopProgress := r.progress(ctx)
	r.send(ctx)
	sendTime := time.Since(r.start)
	if len(bots) > 0 && ctx.Err() == nil {
		r.drain(ctx, bots)
	}
	stopProgress()
	stopBots()
	botsDone.Wait()
	return r.summary(sendTime, bots, hooks), nil
}

// job is one report to send.
type job struct {
	index    uint64
	reporter *intaketest.Client
}

// send runs the arrival process and the senders until the count or
// duration is reached or ctx ends.
func (r *run) send(ctx context.Context) {
	cfg := r.cfg
	tr := &http.Transport{
		Proxy:               nil, // the hub is where the URL says
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Senders * 2,
		MaxIdleConnsPerHost: cfg.Senders * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	clients := make([]*intaketest.Client, len(cfg.Reporters))
	for i, c := range cfg.Reporters {
		clients[i] = &intaketest.Client{BaseURL: cfg.URL + "/ispws", User: c.Name, Password: c.Password, HTTP: hc}
	}

	jobs := make(chan job)
	var senders sync.WaitGroup
	for range cfg.Senders {
		senders.Go(func() {
			for j := range jobs {
				r.busy.Add(1)
				r.sendOne(ctx, j)
				r.busy.Add(-1)
			}
		})
	}
	defer func() { close(jobs); senders.Wait() }()

	// The arrival process: bursts of 1 to Burst reports, the gaps between
	// them exponential with the mean that gives Rate. Its randomness is
	// the seed's, apart from the reports', so that both repeat.
	rnd := rand.New(rand.NewPCG(cfg.Seed^0xa11a11a11, 0x5c4ed))
	var deadline <-chan time.Time
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	var i uint64
	for cfg.Count <= 0 || i < uint64(cfg.Count) {
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-timer.C:
		}
		k := 1
		if cfg.Burst > 1 && rnd.IntN(10) < 3 {
			k = 2 + rnd.IntN(cfg.Burst-1)
		}
		for range k {
			if cfg.Count > 0 && i >= uint64(cfg.Count) {
				break
			}
			j := job{index: i, reporter: clients[i%uint64(len(clients))]}
			if r.busy.Load() >= int64(cfg.Senders) {
				// Every sender is busy: the hub is slower than the rate.
				r.late.Add(1)
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
			i++
		}
		next = next.Add(time.Duration(rnd.ExpFloat64() * float64(k) / cfg.Rate * float64(time.Second)))
	}
}

// sendOne draws report j.index and sends it: submit, each file's upload
// and details, finish. The first failure abandons the report.
func (r *run) sendOne(ctx context.Context, j job) {
	rep := r.traffic.Report(j.index, time.Now())
	r.sent.Add(1)
	r.record(j.index, rep)
	timed := func(endpoint string, f func() error) error {
		t0 := time.Now()
		err := f()
		d := time.Since(t0)
		if err != nil {
			if ctx.Err() == nil {
				r.errs.add(endpoint+": "+errorCode(err), 1)
			}
			return err
		}
		r.endpoint[endpoint].Add(d)
		if endpoint == "finish" {
			r.window.Load().Add(d)
		}
		return nil
	}
	var id int64
	err := timed("submit", func() (err error) { id, err = j.reporter.Submit(ctx, rep.XML); return err })
	for _, f := range rep.Files {
		if err != nil {
			break
		}
		var fileID string
		err = timed("upload", func() error {
			resp, err := j.reporter.Upload(ctx, id, f.Name, bytes.NewReader(f.Content))
			if err == nil {
				fileID = resp.FileID
			}
			return err
		})
		if err == nil {
			err = timed("fileinfo", func() error { _, err := j.reporter.FileInfo(ctx, f.Details(id, fileID)); return err })
		}
	}
	if err == nil {
		err = timed("finish", func() error { _, err := j.reporter.Finish(ctx, id); return err })
	}
	if err != nil {
		r.failed.Add(1)
		return
	}
	r.ok.Add(1)
	r.rec.write(Record{Finished: id, At: time.Now().UTC()})
	r.files.Add(int64(len(rep.Files)))
	if len(r.cfg.Agencies) > 0 || r.cfg.HubToken != "" {
		r.tracker.finished(id, time.Now())
	}
}

// record counts what was drawn, and keeps the first reports' time-free
// description for the fingerprint.
func (r *run) record(i uint64, rep *demo.TrafficReport) {
	r.kinds.add(rep.Kind, 1)
	c := rep.Country
	if c == "" {
		c = "none"
	}
	r.countries.add(c, 1)
	if i >= fingerprintOf {
		return
	}
	h := sha256.New()
	for _, f := range rep.Files {
		h.Write(f.Content)
	}
	desc := fmt.Sprintf("%s/%s/%s/%d files", c, rep.Kind, orNone(rep.Suspect), len(rep.Files))
	r.fpMu.Lock()
	r.fp[i] = append([]byte(desc+" "), h.Sum(nil)...)
	if i < 3 {
		for uint64(len(r.first)) <= i {
			r.first = append(r.first, "")
		}
		r.first[i] = desc
	}
	r.fpMu.Unlock()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fingerprint hashes the time-free descriptions of the first reports
// drawn: the same seed gives the same fingerprint.
func (r *run) fingerprint() (string, int) {
	r.fpMu.Lock()
	defer r.fpMu.Unlock()
	h := sha256.New()
	n := 0
	for _, d := range r.fp {
		if d == nil {
			break
		}
		h.Write(d)
		h.Write([]byte{0})
		n++
	}
	return hex.EncodeToString(h.Sum(nil))[:16], n
}

// errorCode names an error by its CyberTipline response code and HTTP
// status, or its kind for a failure below HTTP.
func errorCode(err error) string {
	var ce *intaketest.CodeError
	if errors.As(err, &ce) {
		return fmt.Sprintf("responseCode %d (HTTP %d)", ce.Response.Code, ce.Response.HTTPStatus)
	}
	var he *httpError
	if errors.As(err, &he) {
		return fmt.Sprintf("HTTP %d", he.status)
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "EOF"):
		return "connection reset"
	case strings.Contains(err.Error(), "code 0 with HTTP"):
		return "HTTP status without response code"
	case strings.Contains(err.Error(), "decode"):
		return "undecodable response"
	}
	return "transport error"
}

// progress prints a line every ProgressEvery until stopped.
func (r *run) progress(ctx context.Context) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		lastOK, lastAt := int64(0), r.start
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				ok := r.ok.Load()
				w := r.window.Swap(&Histogram{}).Stats()
				rate := float64(ok-lastOK) / now.Sub(lastAt).Seconds()
				lastOK, lastAt = ok, now
				line := fmt.Sprintf("simulate: %5.0fs  sent %d  ok %d  errors %d  rate %.1f/s  finish p50 %s p99 %s",
					now.Sub(r.start).Seconds(), r.sent.Load(), ok, r.errs.total(), rate, ms(w.P50), ms(w.P99))
				if len(r.cfg.Agencies) > 0 || r.cfg.HubToken != "" {
					t := r.tracker.counts()
					line += fmt.Sprintf("  |  referrals seen %d  acknowledged %d  webhooks %d", t.seen, t.acked, t.webhooks)
				}
				fmt.Fprintln(r.cfg.Progress, line)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// drain waits, once every report is sent, for the bots to acknowledge the
// referrals of the finished reports: until none is waiting, nothing has
// happened for Quiet, Drain has passed, or ctx ends.
func (r *run) drain(ctx context.Context, bots []*bot) {
	deadline := time.Now().Add(r.cfg.Drain)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			busy := int64(0)
			for _, b := range bots {
				busy += b.inflight.Load()
			}
			waiting, last := r.tracker.waiting()
			if (waiting == 0 && busy == 0) || now.After(deadline) || (busy == 0 && now.Sub(last) > r.cfg.Quiet) {
				return
			}
		}
	}
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// sortedKeys returns m's keys, largest count first, then by name.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
