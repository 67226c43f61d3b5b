package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/storetest"
)

// benchParallelism is the number of concurrent clients per GOMAXPROCS.
const benchParallelism = 8

// BenchmarkFlow measures whole intake flows — submit, upload a 100 KiB file,
// fileinfo, finish — over real HTTP on loopback with concurrent clients, on
// each store, beside a floor that makes the same HTTP round trips but only
// reads each body and inserts one row. Compare flows/s of guardian and floor
// within one run:
//
//	go test ./server -run '^$' -bench Flow -benchtime 10s
func BenchmarkFlow(b *testing.B) {
	content := make([]byte, 100<<10)
	rand.Read(content)
	for _, kind := range []string{"sqlite", "postgres"} {
		// guardian is the hub as it runs, with its audit log integrating
		// and signing checkpoints; guardian-nolog leaves the integrator
		// off, to show what the log costs.
		b.Run(kind+"/guardian", func(b *testing.B) {
			base := benchGuardian(b, kind, true)
			runFlows(b, base, content, kind == "postgres")
		})
		b.Run(kind+"/guardian-nolog", func(b *testing.B) {
			base := benchGuardian(b, kind, false)
			runFlows(b, base, content, kind == "postgres")
		})
		b.Run(kind+"/floor", func(b *testing.B) {
			base := benchFloor(b, kind)
			runFlows(b, base, content, kind == "postgres")
		})
	}
}

func benchTransport() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

// runFlows runs the flows against c, reporting the CPU time of a local
// PostgreSQL server's processes too if withPostgres.
func runFlows(b *testing.B, c *intaketest.Client, content []byte, withPostgres bool) {
	c.HTTP = benchTransport()
	ctx := context.Background()
	report := []byte(intaketest.MinimalReport)
	b.SetParallelism(benchParallelism)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	start := time.Now()
	goCPU, pgCPU := processCPU(), time.Duration(-1)
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

// benchGuardian starts a real hub on the given store, with its audit log
// integrating in the background if withLog.
func benchGuardian(b *testing.B, kind string, withLog bool) *intaketest.Client {
	dir := b.TempDir()
	var store guardian.Store
	if kind == "sqlite" {
		store = storetest.MustOpenSQLiteFile(b, filepath.Join(dir, "guardian.db"), guardian.SystemClock)
	} else {
		store = storetest.MustOpenPostgres(b, guardian.SystemClock)
	}
	if withLog {
		signer, _, err := auditlog.LoadOrCreateSigningKey(filepath.Join(dir, "audit-signing.key"), "bench.example.org/audit")
		if err != nil {
			b.Fatal(err)
		}
		log := auditlog.New(store.(guardian.AuditLogStore), signer, "bench.example.org/audit", nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); log.Run(ctx) }()
		b.Cleanup(func() { cancel(); <-done })
	}
	s := MustStartServer(b, store, dir, nil)
	password := crypto.GeneratePassword()
	MustAddReporter(b, store, "bench", password)
	return &intaketest.Client{BaseURL: s.URL() + s.Prefix, User: "bench", Password: password}
}

// benchFloor starts the floor: the same routes, each reading its body and
// inserting one row into a database configured like the store's (SQLite: WAL,
// synchronous=FULL, one writer; PostgreSQL: the same server), then answering
// with a fixed document that the client accepts.
func benchFloor(b *testing.B, kind string) *intaketest.Client {
	var db *sql.DB
	var err error
	if kind == "sqlite" {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "floor.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
		if err == nil {
			db.SetMaxOpenConns(1)
			_, err = db.Exec(`CREATE TABLE floor (id INTEGER PRIMARY KEY, op TEXT NOT NULL, size INTEGER NOT NULL)`)
		}
	} else {
		db, err = sql.Open("pgx", storetest.PostgresDSN(b))
		if err == nil {
			db.SetMaxOpenConns(10)
			db.SetMaxIdleConns(10) // a floor that reconnects is no floor
			_, err = db.Exec(`CREATE TABLE floor (id BIGSERIAL PRIMARY KEY, op TEXT NOT NULL, size BIGINT NOT NULL)`)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	insert := `INSERT INTO floor (op, size) VALUES (?, ?)`
	if kind != "sqlite" {
		insert = `INSERT INTO floor (op, size) VALUES ($1, $2)`
	}
	const fileID = "abcdef0123456789abcdef0123456789"
	handler := func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		op := strings.TrimPrefix(r.URL.Path, "/ispws/")
		if _, err := db.ExecContext(r.Context(), insert, op, n); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
		if op == "finish" {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse><responseCode>0</responseCode><reportId>1</reportId><files><fileId>%s</fileId></files></reportDoneResponse>`, fileID)
			return
		}
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse><responseCode>0</responseCode><responseDescription>Success</responseDescription><reportId>1</reportId><fileId>%s</fileId><hash>0cc175b9c0f1b6a831c399e269772661</hash></reportResponse>`, fileID)
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
