package auditlog_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/storetest"
)

// BenchmarkAuditLog measures appends with and without the integrator,
// bulk appends and integration alone, on SQLite and, if
// GUARDIAN_TEST_POSTGRES is set, PostgreSQL. Integrate and BulkAppend
// measure b.N events in one go; give them a count, such as
// -benchtime=50000x.
func BenchmarkAuditLog(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) { storetest.RunAuditLogBenchmarks(b, storetest.SQLite) })
	b.Run("Postgres", func(b *testing.B) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			b.Skipf("%s is not set", storetest.PostgresEnv)
		}
		storetest.RunAuditLogBenchmarks(b, storetest.Postgres)
	})
}

// BenchmarkInclusionProof measures an inclusion proof of a random leaf in
// a log of ten million leaves on SQLite (GUARDIAN_BENCH_LOG_SIZE sets
// another size). The first run builds the log, which takes minutes, and
// keeps it for later runs (see storetest.MustOpenLargeAuditLog).
func BenchmarkInclusionProof(b *testing.B) {
	n := int64(10_000_000)
	if v := os.Getenv("GUARDIAN_BENCH_LOG_SIZE"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 1 {
			b.Fatalf("GUARDIAN_BENCH_LOG_SIZE=%q", v)
		}
	}
	s, root := storetest.MustOpenLargeAuditLog(b, n)
	key, _ := storetest.MustSigningKey(b)
	l := auditlog.New(s, key, "hub.example.org/audit", nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range []int64{0, n / 2, n - 1} {
		p, err := l.InclusionProof(b.Context(), i, n)
		if err != nil {
			b.Fatal(err)
		}
		if err := tlog.CheckRecord(p, n, root, i, tlog.RecordHash(storetest.BenchLeaf(i))); err != nil {
			b.Fatalf("proof of %d: %v", i, err)
		}
	}
	for b.Loop() {
		if _, err := l.InclusionProof(b.Context(), rng.Int64N(n), n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures Verify of a log of 100,000 events on SQLite.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	s := storetest.MustOpenSQLite(b, nil)
	key, vkey := storetest.MustSigningKey(b)
	batch := make([]*guardian.AuditEvent, 1000)
	for i := 0; i < n; i += len(batch) {
		for j := range batch {
			batch[j] = &guardian.AuditEvent{
				Actor:    guardian.Actor{Kind: guardian.ActorReporter, ID: "7", Name: "example-service"},
				Category: guardian.CategoryCollection, Action: "report.submit", ObjectKind: "report",
				ObjectID: strconv.Itoa(i + j), ReportID: int64(i + j), Outcome: guardian.OutcomeSuccess,
				RequestID: "req-" + strconv.Itoa(i+j), ClientAddr: "192.0.2.7",
			}
		}
		if err := s.AppendAuditEvents(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := auditlog.New(s, key, "hub.example.org/audit", nil).Integrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := auditlog.Verify(b.Context(), s, vkey)
		if err != nil || rep.Checkpoint.TreeSize != n {
			b.Fatalf("Verify: %+v, %v", rep, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
