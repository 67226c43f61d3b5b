package sqlstore

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
)

// maxOpenReports bounds the reports an openReports remembers. A reporter
// opens a report, uploads its files and finishes it within seconds, so a
// hub holds a few hundred open at once at hundreds of reports a second;
// past the bound the entries of reports that were never finished make
// room, and their next request reads the database.
const maxOpenReports = 1 << 15

// openReports remembers, for the reports this store opened or changed while
// they were open, what the intake's requests read before they write: who
// owns the report, its wrapped data key and its times. On PostgreSQL each
// such read is a round trip to the server, two of the seven a report's
// intake costs (the upload's check that its report is open, and the file
// details' data key).
//
// What it answers may be out of date only where another hub process
// changed the report (finished, retracted or expired it, or postponed its
// expiry): every write that follows checks the report again in its own
// statement, and what it leaves unchanged drops the entry. A report it
// would call expired, or does not hold, is read from the database: an
// answer that refuses a request comes from the database.
type openReports struct {
	mu sync.Mutex
	m  map[int64]openReport
}

// openReport is what openReports keeps of one report.
type openReport struct {
	reporterID       int64
	wrappedKey       []byte
	opened, modified time.Time
	priority         guardian.Priority
}

// put remembers r, an open report as stored.
func (o *openReports) put(r *guardian.Report) {
	if r.State != guardian.ReportOpen || r.WrappedKey == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = make(map[int64]openReport)
	}
	if _, ok := o.m[r.ID]; !ok && len(o.m) >= maxOpenReports {
		for id := range o.m { // any one: Go's map order is random
			delete(o.m, id)
			break
		}
	}
	o.m[r.ID] = openReport{reporterID: r.ReporterID, wrappedKey: bytes.Clone(r.WrappedKey),
		opened: r.OpenedAt, modified: r.ModifiedAt, priority: r.ProvisionalPriority}
}

// touch records a change to the report at now, which postpones its expiry.
func (o *openReports) touch(reportID int64, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.m[reportID]; ok && now.After(e.modified) {
		e.modified = now
		o.m[reportID] = e
	}
}

// drop forgets the report: it is closed, or a write found it so.
func (o *openReports) drop(reportID int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, reportID)
}

// get returns the reporter's report as remembered, and whether it is held
// and open at now; a report of another reporter is not held.
func (o *openReports) get(reporterID, reportID int64, now time.Time) (*guardian.Report, bool) {
	o.mu.Lock()
	e, ok := o.m[reportID]
	o.mu.Unlock()
	if !ok || e.reporterID != reporterID {
		return nil, false
	}
	r := &guardian.Report{ID: reportID, ReporterID: reporterID, State: guardian.ReportOpen,
		OpenedAt: e.opened, ModifiedAt: e.modified, WrappedKey: bytes.Clone(e.wrappedKey), ProvisionalPriority: e.priority}
	if !now.Before(r.ExpiresAt()) {
		return nil, false
	}
	return r, true
}

// len returns how many reports are held.
func (o *openReports) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}

// FindOpenReport implements [guardian.Store]: [Store.FindReporterReport]
// for a request about to change the report, answered from memory for a
// report this store opened or changed while open (see openReports), and
// otherwise read.
func (s *Store) FindOpenReport(ctx context.Context, reporterID, reportID int64) (*guardian.Report, error) {
	if r, ok := s.openReports.get(reporterID, reportID, s.clock()); ok {
		return r, nil
	}
	r, err := s.FindReporterReport(ctx, reporterID, reportID)
	if err != nil {
		return nil, err
	}
	if r.State == guardian.ReportOpen {
		s.openReports.put(r)
	} else {
		s.openReports.drop(reportID)
	}
	return r, nil
}
