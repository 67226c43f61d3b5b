package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Report ids drawn ahead ([Dialect.ReportIDs]) are drawn in blocks that
// follow the rate of submits: a block used up within idFresh of its draw
// makes the next one twice as large, up to maxIDBlock; a block that was not
// is dropped once idFresh old (its ids are never used: a gap, as a
// rolled-back INSERT leaves one) and the next is half as large. A hub
// taking a report a minute so draws one id per report, and one taking
// hundreds a second one round trip per maxIDBlock reports. Dropping old ids
// keeps report ids in the order the reports were opened in to within
// idFresh, across the hub processes that share a database too.
const (
	idFresh    = time.Second
	maxIDBlock = 64
)

// idPool hands out report ids drawn ahead.
type idPool struct {
	mu       sync.Mutex
	ids      []int64
	drawn    time.Time // when ids were drawn
	size     int       // the size of the last block drawn
	override string    // the INSERT's words for a given id
	none     bool      // the dialect draws no ids ahead
}

// take returns an id drawn ahead and the words the INSERT gives it with,
// or 0 where the dialect draws none. ctx bounds the draw.
func (p *idPool) take(ctx context.Context, d Dialect, db *sql.DB, now time.Time) (int64, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.none {
		return 0, "", nil
	}
	fresh := now.Sub(p.drawn) < idFresh
	if len(p.ids) == 0 || !fresh {
		switch {
		case p.size == 0:
			p.size = 1
		case fresh: // used up while fresh
			p.size = min(2*p.size, maxIDBlock)
		default:
			p.size = max(p.size/2, 1)
		}
		ids, override, err := d.ReportIDs(ctx, db, p.size)
		if err != nil {
			return 0, "", fmt.Errorf("draw report ids: %w", d.FormatError(err))
		}
		if len(ids) == 0 {
			p.none = true
			return 0, "", nil
		}
		slices.Sort(ids)
		p.ids, p.drawn, p.override = ids, now, override
	}
	id := p.ids[0]
	p.ids = p.ids[1:]
	return id, p.override, nil
}
