package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/guardian-network/guardian/postgres"
	"github.com/guardian-network/guardian/storetest"
)

// pipelineRig is a pipeline of one lane on a schema of its own, with a
// table t (id, v >= 0) to write.
type pipelineRig struct {
	t   *testing.T
	ctx context.Context
	db  *sql.DB
	p   *postgres.Pipeline
}

func newPipelineRig(t *testing.T) *pipelineRig {
	ctx := context.Background()
	db, err := sql.Open("pgx", storetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL CHECK (v >= 0))`); err != nil {
		t.Fatal(err)
	}
	p := postgres.NewPipeline(db, 1)
	t.Cleanup(func() { p.Close() })
	return &pipelineRig{t: t, ctx: ctx, db: db, p: p}
}

// busy keeps the lane busy for d, so that the statements sent meanwhile
// wait for it and go as one batch; it returns when the lane has taken the
// sleep.
func (rig *pipelineRig) busy(d time.Duration) <-chan error {
	before, _, _ := rig.p.Pipelined()
	done := make(chan error, 1)
	go func() {
		var one int
		done <- rig.p.WriteStatement(rig.ctx, 0, `SELECT 1 FROM pg_sleep($1)`, []any{d.Seconds()}, &one)
	}()
	for {
		if batches, _, _ := rig.p.Pipelined(); batches > before {
			return done
		}
		time.Sleep(time.Millisecond)
	}
}

// insert sends INSERT (id, v) RETURNING id on its own goroutine.
func (rig *pipelineRig) insert(id int64, v int, got *int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- rig.p.WriteStatement(rig.ctx, id, `INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id`, []any{id, v}, got)
	}()
	return done
}

func (rig *pipelineRig) stored() map[int64]int {
	rig.t.Helper()
	rows, err := rig.db.QueryContext(rig.ctx, `SELECT id, v FROM t`)
	if err != nil {
		rig.t.Fatal(err)
	}
	defer rows.Close()
	m := map[int64]int{}
	for rows.Next() {
		var id int64
		var v int
		if err := rows.Scan(&id, &v); err != nil {
			rig.t.Fatal(err)
		}
		m[id] = v
	}
	return m
}

// TestPipelineBatches: statements that wait while the lane is busy go
// together in one batch, and each caller gets its own row; a statement
// that returns none gets sql.ErrNoRows.
func TestPipelineBatches(t *testing.T) {
	rig := newPipelineRig(t)
	sleep := rig.busy(300 * time.Millisecond)
	got := make([]int64, 5)
	var dones []<-chan error
	for i := range got {
		dones = append(dones, rig.insert(int64(i+1), i, &got[i]))
	}
	var none int64
	noRow := make(chan error, 1)
	go func() {
		noRow <- rig.p.WriteStatement(rig.ctx, 9, `UPDATE t SET v = 1 WHERE id = 999 RETURNING id`, nil, &none)
	}()
	if err := <-sleep; err != nil {
		t.Fatal(err)
	}
	for i, done := range dones {
		if err := <-done; err != nil {
			t.Fatalf("insert %d: %v", i+1, err)
		}
		if got[i] != int64(i+1) {
			t.Errorf("insert %d returned id %d", i+1, got[i])
		}
	}
	if err := <-noRow; !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("a statement of no row: %v, want sql.ErrNoRows", err)
	}
	if batches, statements, rerun := rig.p.Pipelined(); batches != 2 || statements != 7 || rerun != 0 {
		t.Errorf("%d batches of %d statements, %d run again; want the sleep, then one batch of the other 6, none again", batches, statements, rerun)
	}
	if n := len(rig.stored()); n != 5 {
		t.Errorf("%d rows stored, want 5", n)
	}
}

// TestPipelineIsolatesFailure: a statement the server refuses fails alone;
// the others of its batch, undone with it, run again and are committed.
func TestPipelineIsolatesFailure(t *testing.T) {
	rig := newPipelineRig(t)
	sleep := rig.busy(300 * time.Millisecond)
	got := make([]int64, 4)
	var dones []<-chan error
	for i := range got {
		v := 1
		if i == 2 {
			v = -1 // breaks the CHECK
		}
		dones = append(dones, rig.insert(int64(i+1), v, &got[i]))
	}
	if err := <-sleep; err != nil {
		t.Fatal(err)
	}
	for i, done := range dones {
		err := <-done
		var pgErr *pgconn.PgError
		switch {
		case i == 2 && !(errors.As(err, &pgErr) && pgErr.Code == "23514"):
			t.Errorf("the insert that breaks the CHECK: %v, want check_violation", err)
		case i != 2 && err != nil:
			t.Errorf("insert %d: %v", i+1, err)
		}
	}
	if batches, statements, rerun := rig.p.Pipelined(); batches != 2 || statements != 5 || rerun != 4 {
		t.Errorf("%d batches of %d statements, %d run again; want the sleep, one batch of 4, all 4 again", batches, statements, rerun)
	}
	want := map[int64]int{1: 1, 2: 1, 4: 1}
	if got := rig.stored(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestPipelineWaitsForRowsAlone: a batched statement that waits for a row
// another transaction holds does not keep the others of its batch waiting
// with it (nor the locks they took, such as the audit barrier's): after
// pipelineLockTimeout the batch runs again one statement at a time, the
// others commit, and the one that waits goes on waiting by itself.
func TestPipelineWaitsForRowsAlone(t *testing.T) {
	rig := newPipelineRig(t)
	var id int64
	if err := <-rig.insert(1, 0, &id); err != nil {
		t.Fatal(err)
	}
	holder, err := rig.db.BeginTx(rig.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(rig.ctx, `SELECT 1 FROM t WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	sleep := rig.busy(300 * time.Millisecond)
	var updated int64
	update := make(chan error, 1)
	go func() {
		update <- rig.p.WriteStatement(rig.ctx, 1, `UPDATE t SET v = v + 1 WHERE id = 1 RETURNING id`, nil, &updated)
	}()
	var inserted int64
	insert := rig.insert(2, 0, &inserted)
	if err := <-sleep; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-insert:
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
	case <-time.After(10 * time.Second):
		b, st, re := rig.p.Pipelined()
		t.Fatalf("the insert waited with the statement that waits for a row (%d %d %d)", b, st, re)
	}
	select {
	case err := <-update:
		t.Fatalf("the update ended (%v) while its row was held", err)
	default:
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-update; err != nil {
		t.Fatalf("update: %v", err)
	}
	if batches, statements, rerun := rig.p.Pipelined(); batches != 3 || statements != 4 || rerun != 2 {
		t.Errorf("%d batches of %d statements, %d run again; want the first insert, the sleep, then a batch of 2, both again", batches, statements, rerun)
	}
	if got := rig.stored(); got[1] != 1 || got[2] != 0 || len(got) != 2 {
		t.Errorf("stored %v, want map[1:1 2:0]", got)
	}
}

// TestPipelineClosed: a closed pipeline refuses statements.
func TestPipelineClosed(t *testing.T) {
	rig := newPipelineRig(t)
	if err := rig.p.Close(); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := <-rig.insert(1, 0, &id); !errors.Is(err, postgres.ErrPipelineClosed) {
		t.Errorf("after Close: %v, want errPipelineClosed", err)
	}
}
