package server_test

import (
	"context"
	"database/sql"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/server"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// routingRate is the steady arrival rate of BenchmarkRoutingLatency.
const routingRate = 200 // reports per second

// routedReport is a report whose reported user gives a verified estimated
// location in Germany: triage places it there with confidence, and the
// demo network refers it to de-bka-cac.
var routedReport = strings.Replace(intaketest.MinimalReport, "</reporter>", `</reporter>
  <personOrUserReported>
    <espIdentifier>user-bench</espIdentifier>
    <estimatedLocation verified="true" timestamp="2024-03-01T12:00:00Z">
      <countryCode>DE</countryCode>
    </estimatedLocation>
  </personOrUserReported>`, 1)

// BenchmarkRoutingLatency measures the time from a report's finish
// response to its referrals being committed, under a steady arrival of
// 200 reports/s submitted and finished over real HTTP, on each store. A
// ticker paces the arrivals and a pool of senders keeps the pace when
// some requests are slow. b.N is the number of reports; 2000x is 10 s:
//
//	go test ./server -run '^$' -bench RoutingLatency -benchtime 2000x
//
// It reports the latency's p50, p99 and max in milliseconds, and the
// rate achieved.
func BenchmarkRoutingLatency(b *testing.B) {
	for _, backend := range []storetest.Backend{storetest.SQLite, storetest.Postgres} {
		b.Run(backend.Name, func(b *testing.B) {
			h := benchRoutingHub(b, backend)
			runRoutingLatency(b, h)
		})
	}
}

// routingHub is a hub with its triage pipeline, and when each report's
// routing was committed.
type routingHub struct {
	client *intaketest.Client
	store  *sqlstore.Store

	mu     sync.Mutex
	routed map[int64]time.Time
	// signal receives a value after each first routing, without blocking.
	signal chan struct{}
}

func (h *routingHub) markRouted(id int64) {
	now := time.Now()
	h.mu.Lock()
	if _, ok := h.routed[id]; !ok {
		h.routed[id] = now
	}
	h.mu.Unlock()
	select {
	case h.signal <- struct{}{}:
	default:
	}
}

// benchRoutingHub starts a hub as "guardian serve" runs it: the store,
// River's tables and the triage pipeline with the demo network and the
// embedded geolocation table, hooked to the finish transaction, and the
// server.
func benchRoutingHub(b *testing.B, backend storetest.Backend) *routingHub {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	store, _ := storetest.MustOpen(b, backend, sqlstore.Options{})
	driver := func() riverdriver.Driver[*sql.Tx] {
		if backend.Name == "sqlite" {
			return riversqlite.New(store.DB())
		}
		return riverdatabasesql.New(store.DB())
	}
	logger := slog.New(slog.DiscardHandler)
	if err := jobs.Migrate(ctx, driver(), logger); err != nil {
		b.Fatal(err)
	}
	n, err := network.Load(filepath.Join("..", "examples", "network-demo.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	h := &routingHub{store: store, routed: make(map[int64]time.Time), signal: make(chan struct{}, 1)}
	p, err := jobs.NewPipeline(jobs.PipelineConfig{
		Driver: driver(),
		Router: &jobs.Router{Store: store, Network: func() *guardian.Network { return n }, Geo: geo.Embedded(), Routed: h.markRouted},
		Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	store.OnFinish(p.Enqueue)
	if err := p.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Stop(ctx)
		store.ClearFinishHooks()
	})

	s := MustStartServer(b, store, dir, func(s *server.Server) { s.Logger = logger })
	password := crypto.GeneratePassword()
	MustAddReporter(b, store, "bench", password)
	h.client = &intaketest.Client{BaseURL: s.URL() + s.Prefix, User: "bench", Password: password, HTTP: benchTransport()}
	return h
}

// runRoutingLatency sends b.N reports at routingRate and waits until each
// is routed.
func runRoutingLatency(b *testing.B, h *routingHub) {
	ctx := context.Background()
	report := []byte(routedReport)
	// Enough senders that a slow request does not hold back the next
	// arrival: at 200/s, 64 senders keep the pace while a flow takes up
	// to 320 ms.
	const senders = 64
	type finished struct {
		id int64
		at time.Time
	}
	arrivals := make(chan struct{}, b.N)
	results := make(chan finished, b.N)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range arrivals {
				id, err := h.client.Submit(ctx, report)
				if err != nil {
					b.Error(err)
					continue
				}
				if _, err := h.client.Finish(ctx, id); err != nil {
					b.Error(err)
					continue
				}
				results <- finished{id, time.Now()}
			}
		})
	}

	b.ResetTimer()
	start := time.Now()
	tick := time.NewTicker(time.Second / routingRate)
	late := 0 // arrivals that found every sender busy
	for i := range b.N {
		if i > 0 {
			<-tick.C
		}
		if len(arrivals) > 0 {
			late++
		}
		arrivals <- struct{}{}
	}
	tick.Stop()
	close(arrivals)
	wg.Wait()
	sent := time.Since(start)
	close(results)
	finishes := make(map[int64]time.Time, b.N)
	for f := range results {
		finishes[f.id] = f.at
	}

	// Wait for the last routings.
	deadline := time.After(time.Minute)
	for {
		h.mu.Lock()
		missing := 0
		for id := range finishes {
			if _, ok := h.routed[id]; !ok {
				missing++
			}
		}
		h.mu.Unlock()
		if missing == 0 {
			break
		}
		select {
		case <-h.signal:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			b.Fatalf("%d of %d finished reports not routed after a minute", missing, len(finishes))
		}
	}
	b.StopTimer()
	for id := range finishes {
		// The reports route on their evidence, not to the fallback.
		refs, err := h.store.FindReferrals(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if len(refs) != 1 || refs[0].AgencyID != "de-bka-cac" {
			b.Fatalf("report %d has %d referrals, want one to de-bka-cac", id, len(refs))
		}
		break
	}

	lat := make([]float64, 0, len(finishes))
	h.mu.Lock()
	for id, at := range finishes {
		// The routing can commit before the finish response reaches the
		// client: that is no wait at all.
		lat = append(lat, max(0, h.routed[id].Sub(at).Seconds()*1000))
	}
	h.mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no report finished")
	}
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.ReportMetric(float64(len(finishes))/sent.Seconds(), "reports/s")
	b.ReportMetric(float64(late), "late")
	b.ReportMetric(0, "ns/op")
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
