package storetest

import (
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// benchParallelism is how many goroutines per core the benchmarks run: the
// HTTP server has many requests in flight, far more than cores.
const benchParallelism = 16

// RunBenchmarks measures write transactions per second on the backend with
// many concurrent callers: CreateReport (a report and its audit event) and
// AddFile (lock the report, a file, touch the report, an audit event).
func RunBenchmarks(b *testing.B, bk Backend) {
	b.Run("CreateReport", func(b *testing.B) {
		s, rep := benchStore(b, bk)
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.CreateReport(b.Context(), newReport(rep.ID), reporterEvent(rep.ID, "report.submit")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportTxPerSec(b)
	})
	b.Run("AddFile", func(b *testing.B) {
		s, rep := benchStore(b, bk)
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine uploads to a report of its own, as concurrent
			// requests mostly do.
			r := newReport(rep.ID)
			if err := s.CreateReport(b.Context(), r, reporterEvent(rep.ID, "report.submit")); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				if err := s.AddFile(b.Context(), rep.ID, newFile(r.ID), reporterEvent(rep.ID, "file.upload")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportTxPerSec(b)
	})
}

func benchStore(b *testing.B, bk Backend) (*sqlstore.Store, *guardian.Reporter) {
	// The production pool (see MustOpenDSN), not the tests' smaller one.
	s, _ := MustOpen(b, bk, sqlstore.Options{})
	rep := &guardian.Reporter{Name: "example-service", PasswordHash: "x"}
	if err := s.CreateReporter(b.Context(), rep, systemEvent("reporter.create")); err != nil {
		b.Fatal(err)
	}
	return s, rep
}

func reportTxPerSec(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}
