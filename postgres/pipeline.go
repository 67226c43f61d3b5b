package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/guardian-network/guardian/sqlstore"
)

// pipeline is the store's [sqlstore.StatementWriter]: it sends the
// one-statement writes of concurrent requests (the intake's, and
// acknowledgements, keyed by their report too) to the server together, as
// one pipelined batch (pgx's SendBatch: every statement, then one Sync),
// which the server runs as one transaction with one commit. On
// this database a round trip costs more than the statement it carries
// (docs/performance.md), and a busy intake has many statements waiting at
// once: one round trip and one commit then serve them all.
//
// A lane takes the first statement waiting and sends it at once, with
// whatever else is waiting at that moment, up to maxPipelined: an idle hub
// adds no delay, and a busy one sends bigger batches. Statements of one
// report always go to the same lane, one batch after another, so two
// lanes' batches never hold one report's rows and wait for each other.
//
// A batch is one transaction, so a statement that fails there undoes the
// others: when the server reports an error (or nothing was sent), each
// statement of the batch runs again by itself, and only the one at fault
// fails. A batched statement that waits for a row another transaction
// holds fails too, after pipelineLockTimeout, and runs again by itself.
// These statements run beside the lane, which goes on with the next
// batch: they are transactions of one statement each, which wait for a
// row holding no other. When the outcome is unknown (the connection broke
// after sending), every caller gets the error, as it would for a statement
// of its own.
type pipeline struct {
	db    *sql.DB
	lanes []chan *pipelined
	quit  chan struct{}
	stop  sync.Once
	wg    sync.WaitGroup

	batches, statements, rerun atomic.Int64
}

// Pipeline settings. Two lanes, so that a batch the server is slow with
// holds up half the intake rather than all of it; one, two and four ran
// alike in BenchmarkFlow (docs/performance.md, "seventh"), and more lanes
// mean smaller batches.
const (
	pipelineLanes = 2
	maxPipelined  = 64
	// pipelineTimeout bounds a batch, whose statements' callers all wait
	// for it: a caller cannot cancel a statement that others' ride with.
	pipelineTimeout = time.Minute
)

// pipelineLockTimeout bounds how long a batched statement waits for a row
// another transaction holds. The statements before it in the batch hold
// their locks meanwhile, the audit barrier's among them (see the schema's
// version 2), which would hold up the audit integrator and every writer
// behind it; so a batch whose statement waits longer fails, and its
// statements run again by themselves, each of which takes the barrier only
// once it has its row (sqlstore's recordedSQL). It also ends the wait of
// two hub processes' batches for each other's rows of one report, which
// the lanes cannot prevent across processes. It lasts for the batch's
// transaction only (set_config's is_local).
const pipelineLockTimeout = "100ms"

// pipelined is one caller's statement, and where its outcome goes.
type pipelined struct {
	ctx   context.Context
	query string
	args  []any
	dest  []any
	done  chan error // buffered: the lane never waits for the caller
}

var errPipelineClosed = errors.New("postgres: store closed")

func newPipeline(db *sql.DB, lanes int) *pipeline {
	p := &pipeline{db: db, quit: make(chan struct{})}
	for range lanes {
		// Unbuffered: a statement is either taken by its lane, which
		// then sends it, or refused once the lane has stopped.
		lane := make(chan *pipelined)
		p.lanes = append(p.lanes, lane)
		p.wg.Go(func() { p.run(lane) })
	}
	return p
}

// WriteStatement implements [sqlstore.StatementWriter].
func (p *pipeline) WriteStatement(ctx context.Context, key int64, query string, args []any, dest ...any) error {
	st := &pipelined{ctx: ctx, query: query, args: args, dest: dest, done: make(chan error, 1)}
	lane := p.lanes[uint64(key)%uint64(len(p.lanes))]
	select {
	case lane <- st:
	case <-p.quit:
		return errPipelineClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the statement is sent, and the lane scans into dest: the
	// caller waits for the outcome even if its ctx ends (pipelineTimeout
	// bounds the wait).
	return <-st.done
}

// Close stops the lanes once their batches are done.
func (p *pipeline) Close() error {
	p.stop.Do(func() { close(p.quit) })
	p.wg.Wait()
	return nil
}

// Pipelined returns how many batches the pipeline has sent, how many
// statements they held and how many of those ran again by themselves
// because their batch failed.
func (p *pipeline) Pipelined() (batches, statements, rerun int64) {
	return p.batches.Load(), p.statements.Load(), p.rerun.Load()
}

func (p *pipeline) run(lane chan *pipelined) {
	batch := make([]*pipelined, 0, maxPipelined)
	for {
		select {
		case st := <-lane:
			batch = append(batch[:0], st)
		case <-p.quit:
			return
		}
	more:
		for len(batch) < maxPipelined {
			select {
			case st := <-lane:
				batch = append(batch, st)
			default:
				break more
			}
		}
		p.send(batch)
		clear(batch)
	}
}

// send runs the batch and gives each caller its outcome.
func (p *pipeline) send(batch []*pipelined) {
	live := batch[:0:0]
	for _, st := range batch {
		if err := st.ctx.Err(); err != nil {
			st.done <- err // never sent
			continue
		}
		live = append(live, st)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pipelineTimeout)
	defer cancel()
	p.batches.Add(1)
	p.statements.Add(int64(len(live)))
	errs, err := p.exec(ctx, live)
	if err != nil && len(live) > 1 && undone(err) {
		// Each by itself, and beside the lane: one that waits for a row
		// then holds up neither the others nor the batches to come.
		p.rerun.Add(int64(len(live)))
		for _, st := range live {
			p.wg.Go(func() { st.done <- p.alone(st) })
		}
		return
	}
	for i, st := range live {
		if err != nil {
			st.done <- err
		} else {
			st.done <- errs[i]
		}
	}
}

// alone runs st as a statement of its own.
func (p *pipeline) alone(st *pipelined) error {
	ctx, cancel := context.WithTimeout(context.Background(), pipelineTimeout)
	defer cancel()
	errs, err := p.exec(ctx, []*pipelined{st})
	if err != nil {
		return err
	}
	return errs[0]
}

// undone reports whether err, the error of a batch, means that none of its
// statements is committed: the server refused one, which ends the batch's
// transaction, or nothing was sent.
func undone(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || pgconn.SafeToRetry(err)
}

// exec sends the statements on one connection of the pool: a batch of one
// is a statement of its own. err is the batch's error, which concerns
// every statement; otherwise errs holds each one's outcome (nil, no row,
// or a scan error after the commit).
func (p *pipeline) exec(ctx context.Context, sts []*pipelined) (errs []error, err error) {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	errs = make([]error, len(sts))
	err = conn.Raw(func(driverConn any) error {
		c := driverConn.(*stdlib.Conn).Conn()
		if len(sts) == 1 {
			st := sts[0]
			errs[0] = c.QueryRow(ctx, st.query, st.args...).Scan(st.dest...)
			return nil
		}
		var b pgx.Batch
		b.Queue(`SELECT set_config('lock_timeout', $1, true)`, pipelineLockTimeout)
		for _, st := range sts {
			b.Queue(st.query, st.args...)
		}
		br := c.SendBatch(ctx, &b)
		var refused error // the first statement the server refused
		if _, err := br.Exec(); err != nil {
			refused = err
		}
		for i, st := range sts {
			errs[i] = br.QueryRow().Scan(st.dest...)
			var pgErr *pgconn.PgError
			if refused == nil && errors.As(errs[i], &pgErr) {
				refused = errs[i]
			}
		}
		closeErr := br.Close()
		if refused != nil {
			return refused
		}
		return closeErr
	})
	if err != nil {
		return nil, fmt.Errorf("pipelined statements: %w", err)
	}
	for i := range errs {
		if errors.Is(errs[i], pgx.ErrNoRows) {
			errs[i] = sql.ErrNoRows
		}
	}
	return errs, nil
}

var _ sqlstore.StatementWriter = (*pipeline)(nil)
