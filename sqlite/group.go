package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/durable"
	"github.com/guardian-network/guardian/sqlstore"
)

// maxBatch bounds how many callers one commit acknowledges, and so how
// long the last of them waits behind the others.
const maxBatch = 128

// errClosed answers writes after Close.
var errClosed = guardian.Errorf(guardian.EUNAVAILABLE, "The store is closed.")

// groupWriter is a [sqlstore.Writer] that commits the transactions of
// concurrent callers together. A durable commit waits for an fsync of the
// WAL, which costs more than the work of a small transaction; sharing it
// lets one fsync acknowledge many callers.
//
// One goroutine owns the write connection. Callers queue their work; the
// goroutine takes everything queued (never waiting for more, so a lone
// caller is not delayed), runs each caller's work in a SAVEPOINT of one
// transaction, commits it, syncs the WAL itself (the connection runs
// synchronous=NORMAL, see connect), and only then answers each caller. A
// caller whose work fails is rolled back to its savepoint and answered at
// once; the others commit without it. A second goroutine checkpoints the
// WAL beside the writer (see checkpointEvery).
type groupWriter struct {
	db      *sql.DB
	wal     string                  // path of the database's WAL, which commit syncs
	syncWAL func(path string) error // syncFile; a test's stand-in
	queue   chan *request
	closing chan struct{} // closed by Close
	stopped chan struct{} // closed when the loop has returned
	once    sync.Once

	ckpt          *sql.DB       // the checkpointer's connection
	ckptStopped   chan struct{} // closed when the checkpointer has returned
	restartFrames int           // restartFrames; a test's own
	restartDue    atomic.Bool   // set by the checkpointer: the writer completes the next checkpoint
}

// checkpointEvery is how often the checkpointer copies the WAL's committed
// pages into the database file, from a connection of its own, in place of
// SQLite's automatic checkpoint (every 1,000 pages), which the committing
// connection runs inside its commit: the single writer then stopped for
// the copy and two syncs while every caller waited. A PASSIVE checkpoint
// runs beside the writer and never waits for it.
//
// Under a steady stream of commits a checkpoint running beside the writer
// never catches the log's end, and the WAL only starts over from its
// beginning when a write transaction begins after a checkpoint that did:
// the log then grew by a gigabyte in three minutes at 200 reports/s. So
// once the log holds restartFrames frames (16 MiB of 4 KiB pages, a few
// seconds at 200 reports/s), the writer completes a checkpoint itself
// between two batches, holding the connection; it copies what the
// checkpointer has not yet (a fraction of a second's pages) and syncs the
// database file, and the WAL starts over.
const (
	checkpointEvery = 250 * time.Millisecond
	restartFrames   = 4096
)

var _ sqlstore.Writer = (*groupWriter)(nil)

// Request states: a queued request is either taken by the writer or
// abandoned by its caller, whichever comes first, so that a caller who gives
// up never has its work done behind its back.
const (
	queued int32 = iota
	running
	abandoned
)

type request struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx *sql.Tx) error
	state atomic.Int32
	err   error
	panic any           // re-raised in the caller's goroutine
	done  chan struct{} // closed when err is final
}

func newGroupWriter(db *sql.DB, path string) *groupWriter {
	return newGroupWriterEvery(db, path, checkpointEvery, restartFrames)
}

// newGroupWriterEvery is newGroupWriter with the checkpointer's interval
// and the log's length that makes the writer complete a checkpoint given,
// for tests.
func newGroupWriterEvery(db *sql.DB, path string, ckptEvery time.Duration, restart int) *groupWriter {
	w := &groupWriter{
		restartFrames: restart,
		db:            db,
		wal:           path + "-wal",
		syncWAL:       syncFile,
		queue:         make(chan *request, maxBatch),
		closing:       make(chan struct{}),
		stopped:       make(chan struct{}),
		ckpt:          openDB(path + "?" + checkpointParams().Encode()),
		ckptStopped:   make(chan struct{}),
	}
	w.ckpt.SetMaxOpenConns(1)
	go w.loop()
	go w.checkpoints(ckptEvery)
	return w
}

// checkpointParams configures the checkpointer's connection: synchronous
// NORMAL syncs the WAL before a checkpoint copies from it and the database
// file after, so that the WAL is reused only once its pages are durable in
// the database.
func checkpointParams() url.Values {
	params := connParams()
	params.Set("_synchronous", "NORMAL")
	return params
}

// checkpoints runs a PASSIVE checkpoint at every interval until Close.
// A failure is logged and tried again at the next tick; the WAL grows
// meanwhile, and nothing is lost.
func (w *groupWriter) checkpoints(every time.Duration) {
	defer close(w.ckptStopped)
	defer w.ckpt.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	var failing bool
	for {
		select {
		case <-w.closing:
			return
		case <-t.C:
		}
		var busy, log, done int
		err := w.ckpt.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		if err != nil && !failing {
			slog.Error("sqlite: checkpoint failed", slog.Any("err", err))
		}
		failing = err != nil
		if err == nil && log >= w.restartFrames {
			w.restartDue.Store(true)
		}
	}
}

// Write implements [sqlstore.Writer]. fn gets a context that keeps the
// caller's values but not its cancellation: an interrupted statement would
// roll back the whole shared transaction. A caller that gives up while its
// work is still queued returns at once, and the work is not done.
func (w *groupWriter) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case w.queue <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stopped:
		return errClosed
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return ctx.Err()
		}
		<-r.done
	case <-w.stopped:
		if r.state.CompareAndSwap(queued, abandoned) {
			return errClosed // queued after the loop had drained the queue
		}
		<-r.done
	}
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// Close commits what is queued and stops the writer and its checkpointer.
func (w *groupWriter) Close() error {
	w.once.Do(func() { close(w.closing) })
	<-w.stopped
	<-w.ckptStopped
	return nil
}

func (w *groupWriter) loop() {
	defer close(w.stopped)
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r := <-w.queue:
			batch = append(batch[:0], r)
		case <-w.closing:
			// Finish what callers have queued, then stop.
			for {
				select {
				case r := <-w.queue:
					w.commit(append(batch[:0], r))
				default:
					return
				}
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-w.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.commit(batch)
	}
}

// commit runs the batch in one transaction and answers every caller.
func (w *groupWriter) commit(batch []*request) {
	if len(batch) == 0 {
		return
	}
	// Callers wait on their own requests; the writer's transaction is
	// not bound to any of their contexts. The connection is held until
	// the WAL is synced, so that River, which shares it, reads nothing
	// of the batch before it is durable.
	ctx := context.Background()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		finish(batch, fmt.Errorf("connect: %w", dialect{}.FormatError(err)))
		return
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		finish(batch, fmt.Errorf("begin: %w", dialect{}.FormatError(err)))
		return
	}
	ok := batch[:0] // the requests whose work is in tx, reusing batch
	for i, r := range batch {
		if !r.state.CompareAndSwap(queued, running) {
			continue // abandoned by its caller
		}
		if err := runUnit(tx, r); err != nil {
			// The transaction itself is broken (SQLite rolls back on
			// some I/O errors): what ran in it is lost; what has not
			// run yet gets a transaction of its own.
			tx.Rollback()
			finish(append(ok, r), fmt.Errorf("group commit aborted: %w", err))
			conn.Close()
			w.commit(batch[i+1:])
			return
		}
		if r.err != nil || r.panic != nil {
			close(r.done) // rolled back to its savepoint: answer now
			continue
		}
		ok = append(ok, r)
	}
	if err := tx.Commit(); err != nil {
		finish(ok, fmt.Errorf("commit: %w", dialect{}.FormatError(err)))
		return
	}
	if err := w.syncWAL(w.wal); err != nil {
		// Committed, but perhaps not durable: the callers are not told
		// it succeeded, as SQLite's own failed sync would not.
		finish(ok, guardian.Errorf(guardian.EUNAVAILABLE, "The store could not make a write durable."))
		slog.Error("sqlite: sync of the WAL failed", slog.Any("err", err))
		return
	}
	finish(ok, nil)
	if w.restartDue.Load() {
		// Between batches no frame is being written: a checkpoint from
		// here completes (the checkpointer has copied most of the log
		// already), and the next transaction starts the WAL over. If the
		// checkpointer is at work (busy), the next batch tries again.
		var busy, log, done int
		err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		if err != nil {
			slog.Error("sqlite: checkpoint failed", slog.Any("err", err))
		}
		if err == nil && busy == 0 && done == log {
			w.restartDue.Store(false)
		}
	}
}

// syncFile makes the file at path durable: fdatasync, as SQLite's own
// commits with synchronous=FULL do. The descriptor is not SQLite's, but a
// sync covers every write to the file, whoever made it.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return durable.Fdatasync(f)
}

// runUnit runs one caller's work inside a savepoint, setting r.err or
// r.panic if it fails and undoing its changes. The error it returns is not
// the caller's: it means the transaction can no longer be used.
func runUnit(tx *sql.Tx, r *request) (err error) {
	ctx := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(ctx, `SAVEPOINT unit`); err != nil {
		return err
	}
	func() {
		defer func() { r.panic = recover() }()
		r.err = r.fn(ctx, tx)
	}()
	if r.err != nil || r.panic != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO unit`); err != nil {
			return errors.Join(r.err, err)
		}
	}
	_, err = tx.ExecContext(ctx, `RELEASE unit`)
	return err
}

// finish answers the requests with err.
func finish(rs []*request, err error) {
	for _, r := range rs {
		if r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}
