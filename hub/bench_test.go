package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/internal/durable"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// benchParallelism is the number of concurrent clients per GOMAXPROCS.
const benchParallelism = 8

// BenchmarkFlow measures whole intake flows — submit, upload a 100 KiB file,
// fileinfo, finish — of a hub opened as "guardian serve" opens it, over real HTTP on loopback with concurrent clients, on
// each store, beside a floor that makes the same HTTP round trips and does
// only the work the API requires of any implementation (benchFloor): it
// reads each body and inserts one row, and stores each upload's file as
// every upload must be stored (three digests, AES-256-GCM, one fdatasync).
// Guardian's flows/s over the floor's, within one run, is the share of the
// machine that Guardian's own work leaves:
//
//	GUARDIAN_TEST_POSTGRES='postgres://...' go test ./hub -run '^$' -bench Flow -benchtime 10s -count 3
func BenchmarkFlow(b *testing.B) {
	content := make([]byte, 100<<10)
	rand.Read(content)
	for _, kind := range []string{"sqlite", "postgres"} {
		// guardian is the hub as "guardian serve" runs it (hub.Open): its
		// audit log integrating and signing checkpoints, and every
		// finish enqueuing its triage job, which the pipeline works;
		// guardian-nolog leaves the integrator off, to show what the log
		// costs.
		b.Run(kind+"/guardian", func(b *testing.B) {
			var routed atomic.Int64
			base := benchHub(b, kind, true, func(int64) { routed.Add(1) }).client
			runFlows(b, base, content, kind == "postgres", &routed)
		})
		b.Run(kind+"/guardian-nolog", func(b *testing.B) {
			var routed atomic.Int64
			base := benchHub(b, kind, false, func(int64) { routed.Add(1) }).client
			runFlows(b, base, content, kind == "postgres", &routed)
		})
		b.Run(kind+"/floor", func(b *testing.B) {
			base := benchFloor(b, kind)
			runFlows(b, base, content, kind == "postgres", nil)
		})
	}
}

func benchTransport() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// runFlows runs the flows against c, reporting the CPU time of a local
// PostgreSQL server's processes too if withPostgres, and with routed (the
// hub's count of routed reports) the share of the flows that the hub's
// routing, working beside the intake on the same CPU, routed while they
// ran: the CPU a flow counts the routing's too, so a hub that routes more
// of its reports meanwhile shows more of it.
func runFlows(b *testing.B, c *intaketest.Client, content []byte, withPostgres bool, routed *atomic.Int64) {
	c.HTTP = benchTransport()
	ctx := context.Background()
	report := []byte(intaketest.MinimalReport)
	b.SetParallelism(benchParallelism)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	start := time.Now()
	goCPU, pgCPU := processCPU(), time.Duration(-1)
	var routedBefore int64
	if routed != nil {
		routedBefore = routed.Load()
	}
	if withPostgres {
		pgCPU = postgresCPU()
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := c.Submit(ctx, report)
			if err != nil {
				b.Error(err)
				return
			}
			up, err := c.Upload(ctx, id, "bench.bin", bytes.NewReader(content))
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.FileInfo(ctx, intaketest.FileDetails(id, up.FileID)); err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Finish(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "flows/s")
	if routed != nil {
		b.ReportMetric(float64(routed.Load()-routedBefore)/float64(b.N), "routed/flow")
	}
	b.ReportMetric(float64(processCPU()-goCPU)/float64(time.Millisecond)/float64(b.N), "go-ms/flow")
	if pgCPU >= 0 {
		if after := postgresCPU(); after >= 0 {
			b.ReportMetric(float64(after-pgCPU)/float64(time.Millisecond)/float64(b.N), "pg-ms/flow")
		}
	}
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU returns the CPU time used so far by the processes named
// "postgres" on this machine and their ended children (the backends of
// closed connections), or -1 where /proc cannot tell.
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	const clockTick = 100 // USER_HZ: /proc reports times in ticks of 10 ms
	var ticks int64
	found := false
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ... utime stime cutime cstime are fields
		// 14 to 17; comm may hold spaces, so count from its ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || !bytes.Equal(stat[bytes.IndexByte(stat, '(')+1:i], []byte("postgres")) {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 15 {
			continue
		}
		for _, f := range fields[11:15] {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return -1
			}
			ticks += n
		}
		found = true
	}
	if !found {
		return -1
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// benchHubResult is a hub opened for a benchmark and a reporter's client.
type benchHubResult struct {
	hub    *hub.Hub
	client *intaketest.Client
}

// benchHub opens a hub with hub.Open, as "guardian serve" does, on SQLite in
// a temporary directory or on a new PostgreSQL schema, with the demo
// network and the embedded geolocation table; withLog runs its audit
// integrator. routed, if set, learns of every committed routing.
func benchHub(b *testing.B, kind string, withLog bool, routed func(int64)) benchHubResult {
	b.Helper()
	dir := b.TempDir()
	cfg := hub.Config{
		Store:              hub.StoreConfig{Data: dir},
		Addr:               "127.0.0.1:0",
		Network:            filepath.Join("..", "examples", "network-demo.yaml"),
		AuditOrigin:        "bench.example.org/audit",
		NoAuditIntegration: !withLog,
		Logger:             slog.New(slog.DiscardHandler),
		Routed:             routed,
	}
	if kind == "postgres" {
		cfg.Store.Database = storetest.PostgresDSN(b)
	}
	h, err := hub.Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			b.Error(err)
		}
	})
	return benchHubResult{hub: h, client: mustReporter(b, h, "bench")}
}

// mustReporter registers a reporter on the hub and returns its client.
func mustReporter(tb testing.TB, h *hub.Hub, name string) *intaketest.Client {
	tb.Helper()
	password := crypto.GeneratePassword()
	hash, err := crypto.HashPassword(password)
	if err != nil {
		tb.Fatal(err)
	}
	ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "test"}, Category: guardian.CategoryPermission, Action: "reporter.create"}
	if err := h.Store.CreateReporter(context.Background(), &guardian.Reporter{Name: name, PasswordHash: hash}, ev); err != nil {
		tb.Fatal(err)
	}
	return &intaketest.Client{BaseURL: h.URL() + h.Server.Prefix, User: name, Password: password}
}

// benchFloor starts the floor: a server that does, for each request, only
// the work that any implementation of the intake API must do, so that
// guardian's flows/s over the floor's measures Guardian's own overhead.
// Every route reads its body and inserts one row into a database configured
// like the store's (SQLite: WAL, synchronous=FULL, one writer; PostgreSQL:
// the same server), then answers with a fixed document that the client
// accepts. An upload does more first, as the API requires of every file
// (floor.storeFile): its three digests, AES-256-GCM under a key of its own
// into a file on disk, and one fdatasync before the row.
//
// What the floor leaves out is Guardian's own choice, not the API's:
// validating the XML against the schema, sealing the documents, the key
// hierarchy beyond wrapping the file key once, the audit events and log,
// triage and routing, PDQ, the record format of evidence segments. The
// reporter's credentials are not checked either: the intake checks them
// against a cache, at a cost of one SHA-256 of a few bytes per request.
func benchFloor(b *testing.B, kind string) *intaketest.Client {
	var db *sql.DB
	var err error
	// The columns other than op and size are an upload's: where its
	// ciphertext is, its wrapped key and its digests, all that is needed to
	// read it back and answer for it, as the intake's file row holds.
	if kind == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "floor.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
		if err == nil {
			db.SetMaxOpenConns(1)
			_, err = db.Exec(`CREATE TABLE floor (id INTEGER PRIMARY KEY, op TEXT NOT NULL, size INTEGER NOT NULL,
				place TEXT, wrapped_key BLOB, md5 TEXT, sha1 TEXT, sha256 TEXT)`)
		}
	} else {
		db, err = sql.Open("pgx", storetest.PostgresDSN(b))
		if err == nil {
			db.SetMaxOpenConns(10)
			db.SetMaxIdleConns(10) // a floor that reconnects is no floor
			_, err = db.Exec(`CREATE TABLE floor (id BIGSERIAL PRIMARY KEY, op TEXT NOT NULL, size BIGINT NOT NULL,
				place TEXT, wrapped_key BYTEA, md5 TEXT, sha1 TEXT, sha256 TEXT)`)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	insert := `INSERT INTO floor (op, size, place, wrapped_key, md5, sha1, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)`
	if kind != "sqlite" {
		insert = `INSERT INTO floor (op, size, place, wrapped_key, md5, sha1, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	}
	// One key wraps every file key: a file's key must be kept to read the
	// file back, and not in the clear.
	dk, err := crypto.GenerateDataKey()
	if err != nil {
		b.Fatal(err)
	}
	fl := &floor{dir: b.TempDir(), dk: dk}
	b.Cleanup(fl.close)
	b.Cleanup(func() {
		// A floor that did not store the files would be no floor: the
		// last upload must read back, and match its row.
		if err := fl.check(db, kind); err != nil {
			b.Error(err)
		}
	})
	const fileID = "abcdef0123456789abcdef0123456789"
	handler := func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.URL.Path, "/ispws/")
		var f floorFile
		var err error
		if op == "upload" {
			f, err = fl.readUpload(r)
		} else {
			f.size, err = io.Copy(io.Discard, r.Body)
		}
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if _, err := db.ExecContext(r.Context(), insert, op, f.size, f.place, f.wrappedKey, f.md5, f.sha1, f.sha256); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
		if op == "finish" {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>1</reportId><files><fileId>%s</fileId></files></reportDoneResponse>`, fileID)
			return
		}
		hash := "0cc175b9c0f1b6a831c399e269772661"
		if f.md5 != nil {
			hash = *f.md5 // an upload's answer carries its file's MD5
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1</reportId><fileId>%s</fileId><hash>%s</hash></reportResponse>`, fileID, hash)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(handler)}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return &intaketest.Client{BaseURL: "http://" + ln.Addr().String() + "/ispws", User: "bench", Password: "x"}
}

// floor stores the floor's uploads: appended, encrypted, to data files in
// dir, one file per upload in flight. That is how the evidence store
// writes (a segment per upload in flight), and the cheapest way there is:
// appending to a file already open costs less than creating, syncing and
// naming a file per upload, and no upload waits for another.
type floor struct {
	dir string
	dk  *crypto.DataKey

	mu    sync.Mutex
	free  []*os.File // open data files that no upload holds
	files int        // data files created
}

// floorFile is what the floor's row holds of a request: its body's size,
// and for an upload where its file is, its wrapped key and its digests.
type floorFile struct {
	size              int64
	place             *string
	wrappedKey        []byte
	md5, sha1, sha256 *string
}

// Read buffers, pooled as the intake pools its own, so that the floor
// makes no more garbage per upload than the intake does.
var (
	floorReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	floorBufs    = sync.Pool{New: func() any { return new([crypto.ChunkSize]byte) }}
)

// readUpload reads a multipart upload and stores its "file" part. The
// parts must be parsed, since the digests are of the file's bytes; the
// body is read through a 64 KiB buffer, as the intake reads it, so that a
// file takes a few reads rather than one per 4 KiB. The "id" part is
// read and trusted.
func (fl *floor) readUpload(r *http.Request) (floorFile, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return floorFile{}, err
	}
	br := floorReaders.Get().(*bufio.Reader)
	br.Reset(r.Body)
	defer func() {
		br.Reset(nil)
		floorReaders.Put(br)
	}()
	mr := multipart.NewReader(br, params["boundary"])
	var f floorFile
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return floorFile{}, err
		}
		if part.FormName() == "file" {
			f, err = fl.storeFile(part)
		} else {
			_, err = io.Copy(io.Discard, part)
		}
		if err != nil {
			return floorFile{}, err
		}
	}
	if f.place == nil {
		return floorFile{}, fmt.Errorf("no file part")
	}
	return f, nil
}

// storeFile does the work the API requires of every uploaded file, and
// nothing more.
func (fl *floor) storeFile(r io.Reader) (floorFile, error) {
	out, err := fl.take()
	if err != nil {
		return floorFile{}, err
	}
	start, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		out.Close()
		return floorFile{}, err
	}
	// A key of its own per file, as the intake makes, and the chunked
	// AES-256-GCM stream the evidence store writes: the same cipher work
	// per byte.
	fk, err := crypto.GenerateFileKey()
	if err != nil {
		out.Close()
		return floorFile{}, err
	}
	ew, err := crypto.NewEncryptWriter(out, fk)
	if err != nil {
		out.Close()
		return floorFile{}, err
	}
	// The three digests the API answers with and the hub must keep, of
	// every byte as it is read: a file is read once.
	hMD5, hSHA1, hSHA256 := md5.New(), sha1.New(), sha256.New()
	buf := floorBufs.Get().(*[crypto.ChunkSize]byte)
	size, err := io.CopyBuffer(io.MultiWriter(hMD5, hSHA1, hSHA256, ew), r, buf[:])
	floorBufs.Put(buf)
	if err == nil {
		err = ew.Close()
	}
	// One fdatasync makes the file durable before its row commits: an
	// upload is acknowledged only once it cannot be lost. It is the
	// system call the evidence store makes (syscall.Fdatasync on the
	// file's descriptor).
	if err == nil {
		err = durable.Fdatasync(out)
	}
	if err != nil {
		out.Close() // a file with a failed write is not used again
		return floorFile{}, err
	}
	end, err := out.Seek(0, io.SeekCurrent)
	if err != nil {
		out.Close()
		return floorFile{}, err
	}
	fl.giveBack(out)
	place := fmt.Sprintf("%s:%d:%d", filepath.Base(out.Name()), start, end-start)
	md5Hex, sha1Hex, sha256Hex := hex.EncodeToString(hMD5.Sum(nil)), hex.EncodeToString(hSHA1.Sum(nil)), hex.EncodeToString(hSHA256.Sum(nil))
	return floorFile{
		size:       size,
		place:      &place,
		wrappedKey: fl.dk.WrapFileKey(fk, place),
		md5:        &md5Hex,
		sha1:       &sha1Hex,
		sha256:     &sha256Hex,
	}, nil
}

// check reads back the last upload stored in db and checks its size and
// SHA-256 against its row.
func (fl *floor) check(db *sql.DB, kind string) error {
	var size int64
	var place, sum string
	var wrapped []byte
	q := `SELECT size, place, wrapped_key, sha256 FROM floor WHERE op = 'upload' ORDER BY id DESC LIMIT 1`
	if err := db.QueryRow(q).Scan(&size, &place, &wrapped, &sum); err == sql.ErrNoRows {
		return nil // the probe run of a benchmark may store nothing
	} else if err != nil {
		return fmt.Errorf("floor check: %w", err)
	}
	var name string
	var off, n int64
	if _, err := fmt.Sscanf(strings.ReplaceAll(place, ":", " "), "%s %d %d", &name, &off, &n); err != nil {
		return fmt.Errorf("floor check: place %q: %w", place, err)
	}
	fk, err := fl.dk.UnwrapFileKey(wrapped, place)
	if err != nil {
		return fmt.Errorf("floor check: %w", err)
	}
	f, err := os.Open(filepath.Join(fl.dir, name))
	if err != nil {
		return fmt.Errorf("floor check: %w", err)
	}
	defer f.Close()
	dr, err := crypto.NewDecryptReader(io.NewSectionReader(f, off, n), fk)
	if err != nil {
		return fmt.Errorf("floor check: %w", err)
	}
	h := sha256.New()
	got, err := io.Copy(h, dr)
	if err != nil {
		return fmt.Errorf("floor check: %w", err)
	}
	if got != size || hex.EncodeToString(h.Sum(nil)) != sum {
		return fmt.Errorf("floor check (%s): %s holds %d bytes that do not match its row (%d bytes, SHA-256 %s)", kind, place, got, size, sum)
	}
	return nil
}

// take returns a data file that no other upload holds, creating one if
// every file is held.
func (fl *floor) take() (*os.File, error) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if n := len(fl.free); n > 0 {
		f := fl.free[n-1]
		fl.free = fl.free[:n-1]
		return f, nil
	}
	fl.files++
	return os.OpenFile(filepath.Join(fl.dir, fmt.Sprintf("%d.dat", fl.files)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
}

// giveBack returns a data file taken by take.
func (fl *floor) giveBack(f *os.File) {
	fl.mu.Lock()
	fl.free = append(fl.free, f)
	fl.mu.Unlock()
}

func (fl *floor) close() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, f := range fl.free {
		f.Close()
	}
	fl.free = nil
}

// routingRate is the steady arrival rate of BenchmarkRoutingLatency, and
// routingWarmup the reports sent before those it measures.
const (
	routingRate   = 200 // reports per second
	routingWarmup = 400 // 2 s at routingRate
)

// routedReport is a report whose reported user gives a verified estimated
// location in Germany: triage places it there with confidence, and the
// demo network refers it to de-bka-cac.
var routedReport = strings.Replace(intaketest.MinimalReport, "</reporter>", `</reporter>
  <personOrUserReported>
    <espIdentifier>user-bench</espIdentifier>
    <estimatedLocation verified="true" timestamp="2024-03-01T12:00:00Z">
      <countryCode>DE</countryCode>
    </estimatedLocation>
  </personOrUserReported>`, 1)

// BenchmarkRoutingLatency measures the time from a report's finish
// response to its referrals being committed, under a steady arrival of
// 200 reports/s submitted and finished over real HTTP, on each store. A
// ticker paces the arrivals and a pool of senders keeps the pace when
// some requests are slow. b.N is the number of reports measured, after
// 400 reports (2 s) of warm-up; 2000x is 10 s more:
//
//	go test ./hub -run '^$' -bench RoutingLatency -benchtime 2000x
//
// It reports the latency's p50, p99 and max in milliseconds after the
// warm-up, the p99 of the warm-up itself (cold-p99-ms), and the rate
// achieved.
func BenchmarkRoutingLatency(b *testing.B) {
	for _, backend := range []storetest.Backend{storetest.SQLite, storetest.Postgres} {
		b.Run(backend.Name, func(b *testing.B) {
			h := &routingHub{routed: make(map[int64]time.Time), signal: make(chan struct{}, 1)}
			bh := benchHub(b, backend.Name, true, h.markRouted)
			h.client, h.store = bh.client, bh.hub.Store
			h.client.HTTP = benchTransport()
			runRoutingLatency(b, h)
		})
	}
}

// routingHub is a hub, and when each report's routing was committed.
type routingHub struct {
	client *intaketest.Client
	store  *sqlstore.Store

	mu     sync.Mutex
	routed map[int64]time.Time
	// signal receives a value after each first routing, without blocking.
	signal chan struct{}
}

func (h *routingHub) markRouted(id int64) {
	now := time.Now()
	h.mu.Lock()
	if _, ok := h.routed[id]; !ok {
		h.routed[id] = now
	}
	h.mu.Unlock()
	select {
	case h.signal <- struct{}{}:
	default:
	}
}

// runRoutingLatency sends b.N reports at routingRate and waits until each
// is routed.
func runRoutingLatency(b *testing.B, h *routingHub) {
	ctx := context.Background()
	report := []byte(routedReport)
	// The first routingWarmup reports (2 s at 200/s) of a freshly opened
	// hub are measured apart, as cold-p99-ms: a hub's first seconds pay
	// for new database connections, prepared statements and the
	// server's caches, and on PostgreSQL on 2 cores that start makes a
	// backlog of several hundred ms that takes seconds to drain
	// (docs/routing.md). p50/p99/max are of the b.N reports after it,
	// the steady state the goal is about. The probe run (b.N = 1) has no
	// warm-up.
	warm := routingWarmup
	if b.N == 1 {
		warm = 0
	}
	total := warm + b.N
	// Enough senders that a slow request does not hold back the next
	// arrival: at 200/s, 64 senders keep the pace while a flow takes up
	// to 320 ms.
	const senders = 64
	type finished struct {
		id   int64
		cold bool
		at   time.Time
	}
	arrivals := make(chan bool, total) // true: a warm-up report
	results := make(chan finished, total)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for cold := range arrivals {
				id, err := h.client.Submit(ctx, report)
				if err != nil {
					b.Error(err)
					continue
				}
				if _, err := h.client.Finish(ctx, id); err != nil {
					b.Error(err)
					continue
				}
				results <- finished{id, cold, time.Now()}
			}
		})
	}

	b.ResetTimer()
	start := time.Now()
	tick := time.NewTicker(time.Second / routingRate)
	late := 0 // arrivals that found every sender busy
	for i := range total {
		if i > 0 {
			<-tick.C
		}
		if len(arrivals) > 0 {
			late++
		}
		arrivals <- i < warm
	}
	tick.Stop()
	close(arrivals)
	wg.Wait()
	sent := time.Since(start)
	close(results)
	finishes := make(map[int64]finished, total)
	for f := range results {
		finishes[f.id] = f
	}

	// Wait for the last routings.
	deadline := time.After(time.Minute)
	for {
		h.mu.Lock()
		missing := 0
		for id := range finishes {
			if _, ok := h.routed[id]; !ok {
				missing++
			}
		}
		h.mu.Unlock()
		if missing == 0 {
			break
		}
		select {
		case <-h.signal:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			b.Fatalf("%d of %d finished reports not routed after a minute", missing, len(finishes))
		}
	}
	b.StopTimer()
	for id := range finishes {
		// The reports route on their evidence, not to the fallback.
		refs, err := h.store.FindReferrals(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if len(refs) != 1 || refs[0].AgencyID != "de-bka-cac" {
			b.Fatalf("report %d has %d referrals, want one to de-bka-cac", id, len(refs))
		}
		break
	}

	var lat, cold []float64
	h.mu.Lock()
	for id, f := range finishes {
		// The routing can commit before the finish response reaches the
		// client: that is no wait at all.
		ms := max(0, h.routed[id].Sub(f.at).Seconds()*1000)
		if f.cold {
			cold = append(cold, ms)
		} else {
			lat = append(lat, ms)
		}
	}
	h.mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("no report finished")
	}
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 0.50), "p50-ms")
	b.ReportMetric(percentile(lat, 0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	if len(cold) > 0 {
		slices.Sort(cold)
		b.ReportMetric(percentile(cold, 0.99), "cold-p99-ms")
	}
	b.ReportMetric(float64(len(finishes))/sent.Seconds(), "reports/s")
	b.ReportMetric(float64(late), "late")
	b.ReportMetric(0, "ns/op")
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
