package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/auditlog/format"
	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
)

// RunAuditLogBenchmarks measures what the audit log costs on the backend:
//
//   - AppendInTx: ordinary write transactions (CreateReport, a report and
//     its event) from many concurrent callers, without and with the log
//     integrating in the background as a hub runs it; appends/s.
//   - BulkAppend: events appended in transactions of 1000
//     (AppendAuditEvents) while the log integrates continuously, timed
//     until the last one is in a signed checkpoint; events/s.
//   - Integrate: integration alone, of events appended beforehand;
//     events/s.
func RunAuditLogBenchmarks(b *testing.B, bk Backend) {
	for _, integrating := range []bool{false, true} {
		name := "AppendInTx/NoIntegrator"
		if integrating {
			name = "AppendInTx/Integrator"
		}
		b.Run(name, func(b *testing.B) {
			s, rep := benchStore(b, bk)
			if integrating {
				key, _ := MustSigningKey(b)
				runLog(b, auditlog.New(s, key, testOrigin, nil))
			}
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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}

	b.Run("BulkAppend", func(b *testing.B) {
		s, _ := benchStore(b, bk)
		key, _ := MustSigningKey(b)
		l := auditlog.New(s, key, testOrigin, nil)
		if _, err := l.Integrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		var integrated atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := l.Integrate(ctx)
				if err != nil && ctx.Err() == nil {
					b.Error(err)
					return
				}
				if integrated.Add(int64(n)); n == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
		b.ResetTimer()
		mustAppendInBulk(b, s, b.N)
		for integrated.Load() < int64(b.N) && !b.Failed() {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cancel()
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("Integrate", func(b *testing.B) {
		s, _ := benchStore(b, bk)
		key, _ := MustSigningKey(b)
		l := auditlog.New(s, key, testOrigin, nil)
		if _, err := l.Integrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		mustAppendInBulk(b, s, b.N)
		b.ResetTimer()
		n, err := l.Integrate(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n != b.N {
			b.Fatalf("integrated %d, want %d", n, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// runLog runs l in the background until tb ends.
func runLog(tb testing.TB, l *auditlog.Log) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
}

// bulkBatch is how many events mustAppendInBulk appends per transaction.
const bulkBatch = 1000

// mustAppendInBulk appends n events with AppendAuditEvents, in
// transactions of bulkBatch events.
func mustAppendInBulk(tb testing.TB, s *sqlstore.Store, n int) {
	tb.Helper()
	batch := make([]*guardian.AuditEvent, 0, bulkBatch)
	for i := 0; i < n; i += len(batch) {
		batch = batch[:0]
		for j := i; j < n && len(batch) < bulkBatch; j++ {
			batch = append(batch, auditEvent(j))
		}
		if err := s.AppendAuditEvents(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchLeaf is the leaf i of the logs that [MustOpenLargeAuditLog] builds.
func BenchLeaf(i int64) []byte { return binary.BigEndian.AppendUint64([]byte("leaf "), uint64(i)) }

// MustOpenLargeAuditLog opens an SQLite store whose audit log has n leaves,
// for benchmarks of reading it (proofs, tiles). Its stored hashes and
// checkpoint are real, but made from the synthetic leaves [BenchLeaf] in
// bulk, without events: not a log to verify or to integrate into. It
// returns the store and the checkpoint's root.
//
// Building ten million leaves takes a minute or more, so the database is
// kept under $GUARDIAN_BENCH_DIR (default: the system's temporary
// directory) and reused by later runs of the same schema.
func MustOpenLargeAuditLog(tb testing.TB, n int64) (*sqlstore.Store, tlog.Hash) {
	tb.Helper()
	dir := os.Getenv("GUARDIAN_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	// The name holds a digest of the schema, so that a database built by
	// another version is not reused.
	schema := sha256.New()
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(sqlite.Migrations(), name)
		if err != nil {
			tb.Fatal(err)
		}
		schema.Write(b)
	}
	path := filepath.Join(dir, fmt.Sprintf("guardian-bench-auditlog-%d-%x.db", n, schema.Sum(nil)[:4]))
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		start := time.Now()
		if err := buildLargeAuditLog(path, n); err != nil {
			tb.Fatalf("build %s: %v", path, err)
		}
		tb.Logf("built %s in %v", path, time.Since(start).Round(time.Second))
	} else if err != nil {
		tb.Fatal(err)
	}
	s := MustOpenSQLiteFile(tb, path, nil)
	cp, err := s.LatestAuditCheckpoint(context.Background())
	if err != nil || cp.TreeSize != n {
		tb.Fatalf("%s: checkpoint %v, %v; delete the file to rebuild it", path, cp, err)
	}
	return s, tlog.Hash(cp.RootHash)
}

// buildLargeAuditLog writes the database of MustOpenLargeAuditLog to a
// temporary file beside path and renames it into place when complete.
func buildLargeAuditLog(path string, n int64) error {
	tmp := path + ".tmp"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	s, err := sqlite.Open(context.Background(), tmp, sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	// Nobody else uses the file while it is built: durability and the
	// WAL only cost time here.
	for _, pragma := range []string{`PRAGMA journal_mode = OFF`, `PRAGMA synchronous = OFF`, `PRAGMA cache_size = -262144`} {
		if _, err := db.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
	}

	const rows = 500
	insert := func(rows int) string {
		return `INSERT INTO audit_hashes (hash_index, hash) VALUES (?, ?)` + strings.Repeat(", (?, ?)", rows-1)
	}
	stmtText := insert(rows)
	var (
		tx   *sql.Tx
		stmt *sql.Stmt
		args = make([]any, 0, 2*rows)
		next int64 // the next stored hash index
	)
	flush := func(all bool) error {
		for len(args) >= 2*rows || all && len(args) > 0 {
			k := min(len(args), 2*rows)
			var err error
			if k == 2*rows {
				_, err = stmt.ExecContext(ctx, args[:k]...)
			} else {
				_, err = tx.ExecContext(ctx, insert(k/2), args[:k]...)
			}
			if err != nil {
				return err
			}
			args = append(args[:0], args[k:]...)
		}
		return nil
	}
	var f auditlog.Frontier
	for i := range n {
		if i%(1<<20) == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					return err
				}
			}
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
			if stmt, err = tx.PrepareContext(ctx, stmtText); err != nil {
				return err
			}
		}
		hs, err := f.Add(i, tlog.RecordHash(BenchLeaf(i)))
		if err != nil {
			return err
		}
		for _, h := range hs {
			args = append(args, next, h[:])
			next++
		}
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}
	root, err := tlog.TreeHash(n, &f)
	if err != nil {
		return err
	}
	skey, _, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	signed, err := note.Sign(&note.Note{Text: string(format.Checkpoint{Origin: testOrigin, TreeSize: n, RootHash: root}.Text())}, signer)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?)`,
		n, root[:], signed, time.Now().UnixMicro()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log_state SET tree_size = ?`, n); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = WAL`); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
