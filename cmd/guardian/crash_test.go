package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/storetest"
)

// TestCrashLosesNothingAcknowledged kills a real "guardian serve" with
// SIGKILL in the middle of concurrent submissions, several times, restarts
// it, and checks that every acknowledged report, file and finish is there,
// that every stored file decrypts to the bytes that were sent, and that
// nothing half-written is visible.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts real processes")
	}
	t.Run("sqlite", func(t *testing.T) {
		testCrash(t, nil)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		testCrash(t, []string{"--database", dsn})
	})
}

// acked is what the hub acknowledged for one report.
type acked struct {
	mu       sync.Mutex
	reports  map[int64]*ackedReport
	requests int
}

type ackedReport struct {
	files    map[string]string // file id → SHA-256 of the content sent
	finished bool
}

func (a *acked) report(id int64) *ackedReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.reports[id]
	if r == nil {
		r = &ackedReport{files: map[string]string{}}
		a.reports[id] = r
	}
	a.requests++
	return r
}

func (a *acked) update(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	f()
}

func testCrash(t *testing.T, storeArgs []string) {
	data := t.TempDir()
	args := append([]string{"--data", data}, storeArgs...)
	user, password := addReporter(t, "crash-reporter", args...)
	acks := &acked{reports: map[int64]*ackedReport{}}
	rng := rand.New(rand.NewPCG(1, 2))

	const rounds, workers = 4, 8
	for round := range rounds {
		h := StartHub(t, args...)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
				wrng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for ctx.Err() == nil {
					runCrashFlow(ctx, c, wrng, acks)
				}
			}()
		}
		time.Sleep(time.Duration(400+rng.IntN(800)) * time.Millisecond)
		h.Kill()
		cancel()
		wg.Wait()
		if h.cmd.ProcessState == nil || h.cmd.ProcessState.Success() {
			t.Fatalf("round %d: the hub was not killed", round)
		}
	}
	if len(acks.reports) < 20 {
		t.Fatalf("only %d reports acknowledged across %d rounds; the test proves little", len(acks.reports), rounds)
	}

	// A restarted hub still works, and its start-up removes orphan blobs.
	h := StartHub(t, args...)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	ctx := testContext(t)
	runCrashFlow(ctx, c, rng, acks)
	h.Stop(t)

	verifyStore(t, data, storeArgs, acks)
}

// runCrashFlow submits one report with up to three files, describes them and
// finishes it, recording each acknowledgement as soon as it arrives.
func runCrashFlow(ctx context.Context, c *intaketest.Client, rng *rand.Rand, acks *acked) {
	id, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
	if err != nil {
		return
	}
	rep := acks.report(id)
	for range rng.IntN(4) {
		content := make([]byte, 1+rng.IntN(300<<10))
		for i := range content {
			content[i] = byte(rng.Uint32())
		}
		r, err := c.Upload(ctx, id, "evidence.bin", strings.NewReader(string(content)))
		if err != nil {
			return
		}
		sum := sha256.Sum256(content)
		acks.update(func() { rep.files[r.FileID] = hex.EncodeToString(sum[:]) })
		if _, err := c.FileInfo(ctx, intaketest.FileDetails(id, r.FileID)); err != nil {
			return
		}
	}
	if _, err := c.Finish(ctx, id); err != nil {
		return
	}
	acks.update(func() { rep.finished = true })
}

// verifyStore opens the store, the evidence and the master key the hub used
// and checks them against what was acknowledged.
func verifyStore(t *testing.T, data string, storeArgs []string, acks *acked) {
	ctx := testContext(t)
	cfg := StoreConfig{Data: data}
	if len(storeArgs) == 2 {
		cfg.Database = storeArgs[1]
	}
	// Report documents are encrypted under the master key: the store opens
	// them with it.
	store, err := openWithMasterKey(ctx, cfg, "", stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	mk, err := crypto.LoadOrCreateMasterKey(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ev := evidence.NewStore(filepath.Join(data, "evidence"))

	// Every acknowledged thing is there.
	for id, want := range acks.reports {
		r, err := store.FindReportByID(ctx, id)
		if err != nil {
			t.Errorf("acknowledged report %d: %v", id, err)
			continue
		}
		if want.finished && r.State != guardian.ReportFinished {
			t.Errorf("report %d: finish was acknowledged but state is %s", id, r.State)
		}
		got := map[string]string{}
		for _, f := range r.Files {
			got[f.ID] = f.SHA256
		}
		for fid, sum := range want.files {
			if got[fid] != sum {
				t.Errorf("report %d: acknowledged file %s has SHA-256 %q in the store, want %s", id, fid, got[fid], sum)
			}
		}
	}

	// Everything stored, acknowledged or not, is whole: each report that
	// was committed has its audit event, and each file decrypts to its
	// recorded digest.
	var events []*guardian.AuditEvent
	for after := int64(0); ; {
		page, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.submit", AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		events = append(events, page...)
		after = page[len(page)-1].ID
	}
	blobs := map[string]bool{}
	checked := 0
	for _, e := range events {
		if e.Outcome != guardian.OutcomeSuccess {
			continue
		}
		r, err := store.FindReportByID(ctx, e.ReportID)
		if err != nil {
			t.Errorf("report %d has a submit event but: %v", e.ReportID, err)
			continue
		}
		dk, err := mk.UnwrapDataKey(r.WrappedKey, r.ReporterID)
		if err != nil {
			t.Errorf("report %d: unwrap data key: %v", r.ID, err)
			continue
		}
		for _, f := range r.Files {
			blobs[f.BlobKey] = true
			fk, err := dk.UnwrapFileKey(f.WrappedKey, f.BlobKey)
			if err != nil {
				t.Errorf("file %s: unwrap file key: %v", f.ID, err)
				continue
			}
			rc, err := ev.OpenBlob(f.BlobKey, fk)
			if err != nil {
				t.Errorf("file %s: open blob: %v", f.ID, err)
				continue
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil || n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
				t.Errorf("file %s: decrypted %d bytes (err %v), SHA-256 %x; row says %d bytes, %s", f.ID, n, err, h.Sum(nil), f.Size, f.SHA256)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no file was checked")
	}
	t.Logf("%d acknowledged reports, %d stored files decrypted and checked", len(acks.reports), checked)

	// No blob without a row (orphans were collected at restart, and the
	// last hub stopped cleanly), and no temporary file left behind.
	keys, err := ev.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !blobs[k] {
			t.Errorf("blob %s has no file row", k)
		}
	}
	// Nothing else is left either: the store holds only segment files, and
	// none ends in an upload that a kill interrupted (the restarted hub's
	// Open cut those off, and the last hub stopped cleanly), so opening the
	// store again cuts off nothing but the zeros of deleted records.
	evDir := filepath.Join(data, "evidence")
	dataEnds := map[string]int64{}
	err = filepath.WalkDir(evDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if rel, _ := filepath.Rel(evDir, p); !segmentPath.MatchString(filepath.ToSlash(rel)) {
			return errors.New("not a segment file: " + p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dataEnds[p] = int64(len(bytes.TrimRight(b, "\x00")))
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if len(dataEnds) == 0 {
		t.Error("no segment file in the evidence store")
	}
	if err := ev.Open(); err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	for p, end := range dataEnds {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
		} else if fi.Size() < end {
			t.Errorf("%s: reopening the store cut it to %d bytes, and its data ran to %d: an interrupted upload was left in it", p, fi.Size(), end)
		}
	}
}

var segmentPath = regexp.MustCompile(`^segments/[0-9a-f]{8}\.seg$`)
