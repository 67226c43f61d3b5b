package sqlstore

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// sequence is a Dialect whose ReportIDs draws from a counter, as a
// sequence does, and counts the draws.
type sequence struct {
	Dialect
	next  int64
	draws []int
}

func (d *sequence) ReportIDs(_ context.Context, _ *sql.DB, n int) ([]int64, string, error) {
	d.draws = append(d.draws, n)
	ids := make([]int64, n)
	for i := range ids {
		d.next++
		ids[i] = d.next
	}
	return ids, "OVERRIDING SYSTEM VALUE", nil
}

// TestIDPoolFollowsTheRate checks the blocks that report ids are drawn in:
// one id a report at a gentle pace, larger blocks under load (up to
// maxIDBlock), and no id used once idFresh old.
func TestIDPoolFollowsTheRate(t *testing.T) {
	d := &sequence{}
	var p idPool
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	take := func() int64 {
		t.Helper()
		id, override, err := p.take(context.Background(), d, nil, now)
		if err != nil || override != "OVERRIDING SYSTEM VALUE" {
			t.Fatalf("take: %d, %q, %v", id, override, err)
		}
		return id
	}

	// A report a minute: one id drawn for each.
	for i := range 3 {
		if id := take(); id != int64(i+1) {
			t.Fatalf("report %d got id %d", i, id)
		}
		now = now.Add(time.Minute)
	}
	if len(d.draws) != 3 || d.draws[2] != 1 {
		t.Fatalf("draws at a report a minute: %v, want three of 1", d.draws)
	}

	// A burst: each block used up within idFresh doubles the next.
	last := int64(3)
	for range 500 {
		id := take()
		if id <= last {
			t.Fatalf("id %d after %d: ids are handed out in order, never twice", id, last)
		}
		last = id
		now = now.Add(time.Millisecond)
	}
	burst := d.draws[3:]
	if burst[len(burst)-1] != maxIDBlock {
		t.Errorf("blocks drawn in a burst: %v, want them to grow to %d", burst, maxIDBlock)
	}
	if len(burst) > 15 {
		t.Errorf("%d draws for 500 reports", len(burst))
	}

	// A pause: what is left of the block is dropped, and the next block
	// is half as large.
	now = now.Add(2 * idFresh)
	drawn := d.next
	if id := take(); id != drawn+1 {
		t.Errorf("after a pause got id %d, want a new draw's %d", id, drawn+1)
	}
	if n := d.draws[len(d.draws)-1]; n != maxIDBlock/2 {
		t.Errorf("block after a pause: %d, want %d", n, maxIDBlock/2)
	}
}

// TestIDPoolNone checks that a dialect that draws no ids ahead is asked
// once.
func TestIDPoolNone(t *testing.T) {
	d := &none{}
	var p idPool
	for range 3 {
		if id, _, err := p.take(context.Background(), d, nil, time.Now()); id != 0 || err != nil {
			t.Fatalf("take: %d, %v", id, err)
		}
	}
	if d.asked != 1 {
		t.Errorf("asked %d times", d.asked)
	}
}

type none struct {
	Dialect
	asked int
}

func (d *none) ReportIDs(context.Context, *sql.DB, int) ([]int64, string, error) {
	d.asked++
	return nil, "", nil
}
