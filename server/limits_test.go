package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/server"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address local (any of 127.0.0.0/8 on Linux), so that the hub
// sees them come from another client address.
func clientFrom(tb testing.TB, local string) *http.Client {
	tb.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1000}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// hostPort is the host:port of a hub's base URL.
func hostPort(h *testHub) string {
	return strings.TrimPrefix(h.Server.URL(), "http://")
}

// slowUploadHead is the start of an /upload body: the id part and the
// header of the file part, whose content never comes at any useful rate.
func slowUploadHead(id int64) (contentType string, head []byte) {
	const boundary = "slowslowslow"
	head = fmt.Appendf(nil, "--%s\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n%d\r\n--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, id, boundary)
	return "multipart/form-data; boundary=" + boundary, head
}

// slowRequest POSTs to path a body announced as 1 MiB that starts with head
// and then trickles one byte every gap (never, if gap is 0), until the hub
// answers or ctx ends. It returns the HTTP status and responseCode, or
// zeros if the connection ended without an answer.
func slowRequest(ctx context.Context, addr, path, user, pass, contentType string, head []byte, gap time.Duration) (status, code int) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, 0
	}
	defer conn.Close()
	done := make(chan struct{})
	defer close(done)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", path, addr, auth, contentType, 1<<20, head)
	if gap > 0 {
		go func() {
			t := time.NewTicker(gap)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if _, err := conn.Write([]byte{'x'}); err != nil {
						return
					}
				}
			}
		}()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var doc intaketest.Response
	b, _ := io.ReadAll(resp.Body)
	_ = xml.Unmarshal(b, &doc)
	return resp.StatusCode, doc.Code
}

// Kinds of open file descriptors that openFDs counts.
const (
	fdSocket       = "socket"
	fdSegment      = "segment"       // an evidence segment with records
	fdEmptySegment = "empty segment" // or removed
	fdOther        = "other"
)

// openFDs counts the process's open file descriptors by kind.
func openFDs(tb testing.TB) map[string]int {
	tb.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skip("no /proc/self/fd:", err)
	}
	n := map[string]int{}
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		switch {
		case err != nil:
			// closed since ReadDir
		case strings.HasPrefix(target, "socket:"):
			n[fdSocket]++
		case strings.HasSuffix(target, ".seg"):
			if fi, err := os.Stat(target); err == nil && fi.Size() > 0 {
				n[fdSegment]++
			} else {
				n[fdEmptySegment]++
			}
		case strings.HasSuffix(target, ".seg (deleted)"):
			n[fdEmptySegment]++
		default:
			n[fdOther]++
		}
	}
	return n
}

// emptySegments lists the evidence segment files that hold nothing.
func emptySegments(tb testing.TB, h *testHub) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(h.Dir, "evidence", "segments"))
	if err != nil {
		tb.Fatal(err)
	}
	var empty []string
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Size() == 0 {
			empty = append(empty, e.Name())
		}
	}
	return empty
}

// latencies collects request durations from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) time(f func()) {
	start := time.Now()
	f()
	l.mu.Lock()
	l.d = append(l.d, time.Since(start))
	l.mu.Unlock()
}

// quantile returns the q-quantile (nearest rank) and the count.
func (l *latencies) quantile(q float64) (time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)], len(s)
}

// reporterFlows runs submit, upload, finish as c until ctx ends, timing
// each request, and returns the requests that failed (the first few of
// them too, to show).
func reporterFlows(ctx context.Context, c *intaketest.Client, lat *latencies) (failed int, first []error) {
	fail := func(err error) {
		failed++
		if len(first) < 3 {
			first = append(first, err)
		}
	}
	for n := 0; ctx.Err() == nil; n++ {
		var id int64
		var err error
		lat.time(func() { id, err = c.Submit(context.Background(), []byte(intaketest.MinimalReport)) })
		if err != nil {
			fail(fmt.Errorf("submit: %w", err))
			continue
		}
		lat.time(func() {
			_, err = c.Upload(context.Background(), id, "f.bin", strings.NewReader(strings.Repeat("v", 1024+n)))
		})
		if err != nil {
			fail(fmt.Errorf("upload: %w", err))
		}
		lat.time(func() { _, err = c.Finish(context.Background(), id) })
		if err != nil {
			fail(fmt.Errorf("finish: %w", err))
		}
	}
	return failed, first
}

// TestSlowUploadsDoNotLockOut reproduces the attack of issue 9, point 1:
// one reporter opens 520 uploads that trickle, more than the hub's 512
// request slots. Before, every other reporter, /audit and /healthz got 503
// for as long as the upload timeout allowed (2 hours), and 512 empty segment
// files and descriptors stayed behind. Now the reporter holds at most its
// share of slots, each for at most one rate window, and the others are
// served throughout.
func TestSlowUploadsDoNotLockOut(t *testing.T) {
	if testing.Short() {
		t.Skip("an attack of several seconds")
	}
	h := MustOpenAuditHub(t, func(s *server.Server) {
		// The default window is a minute; a second keeps the test short.
		s.MinBodyRateWindow = time.Second
	})
	ctx := context.Background()
	attacker := &intaketest.Client{BaseURL: h.Base, User: "example-slow", Password: "pw-" + crypto.GeneratePassword()}
	h.addReporter(t, attacker.User, attacker.Password)
	id, err := attacker.Submit(ctx, []byte(intaketest.MinimalReport))
	if err != nil {
		t.Fatal(err)
	}
	victim := h.client()
	victim.HTTP = clientFrom(t, "127.0.0.1")
	if _, err := victim.Status(ctx); err != nil { // signs in before the attack
		t.Fatal(err)
	}
	fdsBefore := openFDs(t)

	attackers := 520
	if raceEnabled {
		attackers = 52
	}
	attack, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	ct, head := slowUploadHead(id)
	var cutOff, busy, other atomic.Int64
	var wg sync.WaitGroup
	for range attackers {
		wg.Go(func() {
			for attack.Err() == nil {
				// One byte every 100 ms: 10 bytes/s against a minimum
				// of 1,024.
				status, code := slowRequest(attack, hostPort(h.testHub), h.Prefix+"/upload", attacker.User, attacker.Password, ct, head, 100*time.Millisecond)
				switch {
				case status == 200 && code == 4200:
					cutOff.Add(1)
				case status == 503:
					busy.Add(1)
					// The attacker comes back at once after a cut-off,
					// and after a refusal as soon as Retry-After says.
					select {
					case <-attack.Done():
					case <-time.After(time.Second):
					}
				case attack.Err() == nil:
					other.Add(1)
					time.Sleep(100 * time.Millisecond) // no hot loop on errors
				}
			}
		})
	}
	var (
		lat, probes latencies
		failed      int
		failures    []error
	)
	// The others start once the attack is in full swing.
	const rampUp = 500 * time.Millisecond
	wg.Go(func() {
		time.Sleep(rampUp)
		failed, failures = reporterFlows(attack, victim, &lat)
	})
	wg.Go(func() {
		time.Sleep(rampUp)
		for attack.Err() == nil {
			for _, path := range []string{"/healthz", "/audit/checkpoint"} {
				var st int
				probes.time(func() { st, _ = h.get(t, path, false) })
				if st != 200 {
					t.Errorf("GET %s during the attack: HTTP %d", path, st)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Wait()

	p50, n := lat.quantile(0.50)
	p99, _ := lat.quantile(0.99)
	pp99, pn := probes.quantile(0.99)
	t.Logf("during %d slow uploads of one reporter: other reporter %d requests (%d failed), p50 %v, p99 %v; /healthz and /audit %d requests, p99 %v; attacker: %d cut off (4200), %d turned away (503), %d other",
		attackers, n, failed, p50.Round(time.Millisecond), p99.Round(time.Millisecond), pn, pp99.Round(time.Millisecond), cutOff.Load(), busy.Load(), other.Load())
	// The figure stated in the report: on two shared cores the other
	// reporter's p99 stays well under a second.
	if p99 > time.Second && !raceEnabled {
		t.Errorf("other reporter's p99 %v during the attack, want under 1s", p99)
	}
	if failed > 0 || (n < 10 && !raceEnabled) {
		t.Errorf("other reporter: %d of %d requests failed during the attack, e.g. %v", failed, n, failures)
	}
	if cutOff.Load() == 0 {
		t.Error("no slow upload was cut off")
	}

	// Nothing stays behind: no empty segments, no descriptors. An upload
	// the hub cut off may still be cleaning up when its client has seen
	// the cut: its handler is given the same 3 seconds as the sockets.
	empty := emptySegments(t, h.testHub)
	for deadline := time.Now().Add(3 * time.Second); len(empty) > 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		empty = emptySegments(t, h.testHub)
	}
	if len(empty) > 0 {
		t.Errorf("%d empty segment files left: %v", len(empty), empty)
	}
	// Descriptors: the connections are gone; segments stay open only if
	// they hold records (the pool keeps them for the next uploads), at
	// most one per upload the hub ran at once.
	victim.HTTP.Transport.(*http.Transport).CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	socketsBefore := fdsBefore[fdSocket]
	var fds map[string]int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fds = openFDs(t); fds[fdSocket] <= socketsBefore {
			break
		}
	}
	t.Logf("open descriptors before the attack %v, after %v", fdsBefore, fds)
	if fds[fdSocket] > socketsBefore {
		t.Errorf("%d sockets open after the attack, %d before", fds[fdSocket], socketsBefore)
	}
	if fds[fdEmptySegment] > 0 {
		t.Errorf("%d empty segments held open", fds[fdEmptySegment])
	}
	if n := fds[fdSegment]; n > server.DefaultMaxUploadsPerReporter+1 {
		t.Errorf("%d segments open; want at most the %d uploads that could run at once", n, server.DefaultMaxUploadsPerReporter+1)
	}
}

// TestReporterShare: a reporter's requests beyond its share are turned away
// with 503 and Retry-After, while another reporter is served.
func TestReporterShare(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) {
		s.MaxUploadsPerReporter = 2
		s.MaxInFlightPerReporter = 3
		s.MinBodyRate = 0 // the held uploads send nothing
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := h.submit(t)
	ct, head := slowUploadHead(id)
	held := make(chan struct{}, 3)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 {
		wg.Go(func() {
			held <- struct{}{}
			slowRequest(ctx, hostPort(h), h.Prefix+"/upload", h.User, h.Pass, ct, head, 0)
		})
	}
	<-held
	<-held
	other := &intaketest.Client{BaseURL: h.Base, User: "example-other", Password: "pw-" + crypto.GeneratePassword()}
	h.addReporter(t, other.User, other.Password)

	// Until both uploads hold their slots, a third may still get in.
	var st, code int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ctx3, cancel3 := context.WithTimeout(ctx, 200*time.Millisecond)
		st, code = slowRequest(ctx3, hostPort(h), h.Prefix+"/upload", h.User, h.Pass, ct, head, 0)
		cancel3()
		if st == 503 {
			break
		}
	}
	if st != 503 || code != 1000 {
		t.Fatalf("third concurrent upload: HTTP %d, code %d; want 503, 1000", st, code)
	}
	// Uploads are limited apart from other requests: status still works
	// (a third request of three), and so does another reporter's upload.
	wantCode(t, h.do(t, "GET", "status", "", nil, true), 0)
	oid, err := other.Submit(ctx, []byte(intaketest.MinimalReport))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Upload(ctx, oid, "x", strings.NewReader("other")); err != nil {
		t.Errorf("another reporter's upload: %v", err)
	}
	r := h.do(t, "POST", "upload", ct, strings.NewReader(""), true)
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		t.Errorf("upload beyond the share: HTTP %d, Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	wantCode(t, r, 1000)
	if !strings.Contains(r.Doc.Description, "uploads from this reporter") {
		t.Errorf("description %q", r.Doc.Description)
	}
}

// TestMinBodyRate: bodies below the minimum rate are cut off with the API's
// error, whether they trickle, stop, or stop after a fast start; a body at
// full speed is never cut off.
func TestMinBodyRate(t *testing.T) {
	h := MustOpenHub(t, func(s *server.Server) {
		s.MinBodyRate = 64 << 10
		s.MinBodyRateWindow = 300 * time.Millisecond
	})
	id := h.submit(t)
	ctx := context.Background()
	t.Run("Trickle", func(t *testing.T) {
		start := time.Now()
		ct, head := slowUploadHead(id)
		st, code := slowRequest(ctx, hostPort(h), h.Prefix+"/upload", h.User, h.Pass, ct, head, 10*time.Millisecond)
		if st != 200 || code != 4200 {
			t.Errorf("trickling upload: HTTP %d, code %d; want 200, 4200", st, code)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cut off after %v", d)
		}
	})
	t.Run("Silent", func(t *testing.T) {
		st, code := slowRequest(ctx, hostPort(h), h.Prefix+"/submit", h.User, h.Pass, "text/xml", []byte("<report>"), 0)
		if st != 200 || code != 4000 {
			t.Errorf("silent submit: HTTP %d, code %d; want 200, 4000", st, code)
		}
		ct, head := slowUploadHead(id)
		st, code = slowRequest(ctx, hostPort(h), h.Prefix+"/finish", h.User, h.Pass, ct, head[:40], 0)
		if st != 200 || code != 4000 {
			t.Errorf("silent finish: HTTP %d, code %d; want 200, 4000", st, code)
		}
	})
	t.Run("FastThenSilent", func(t *testing.T) {
		// More than a window's quota at once does not buy idle time
		// beyond the next window.
		ct, head := slowUploadHead(id)
		head = append(head, strings.Repeat("z", 200<<10)...)
		start := time.Now()
		st, code := slowRequest(ctx, hostPort(h), h.Prefix+"/upload", h.User, h.Pass, ct, head, 0)
		if st != 200 || code != 4200 {
			t.Errorf("HTTP %d, code %d; want 200, 4200", st, code)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cut off after %v", d)
		}
	})
	t.Run("FullSpeed", func(t *testing.T) {
		// 8 MiB in windows of 300 ms: far above 64 KiB/s on loopback.
		up, err := h.client().Upload(ctx, id, "big.bin", strings.NewReader(strings.Repeat("f", 8<<20)))
		if err != nil || up.FileID == "" {
			t.Errorf("full-speed upload: %v", err)
		}
	})
	if empty := emptySegments(t, h); len(empty) > 0 {
		t.Errorf("empty segment files left: %v", empty)
	}
}

// TestLimitsValidated: a zero limit fails Open instead of failing every
// request.
func TestLimitsValidated(t *testing.T) {
	s := server.New(nil, nil, nil)
	s.Addr = "127.0.0.1:0"
	s.MaxInFlightPerReporter = 0
	if err := s.Open(); err == nil || !strings.Contains(err.Error(), "MaxInFlightPerReporter") {
		t.Errorf("Open = %v", err)
		s.Close(context.Background())
	}
}
