//go:build measure

package main

// The end-to-end measurements (issue 12, part 3; docs/performance.md, "End
// to end"). Behind the "measure" build tag, so that "go test ./..." and
// .ci/run never run it:
//
//	go test -tags measure -run TestMeasure/sqlite -timeout 60m -v ./cmd/guardian \
//	    -measure-rates 30,50,80 -measure-step 2m
//
// One real "guardian serve" (the built binary) per store, with every
// agency's webhook at the simulator's HTTPS receiver and its e-mail at a
// catcher in this process, is driven by "guardian simulate" at each rate in
// turn, for -measure-step each, with agency bots acknowledging at once.
// Around each step it logs what the figures need: the simulator's summary,
// River's backlog (jobs not yet completed, by kind) every 15 s during the
// step and after it, the hub's CPU time (utime+stime from /proc/PID/stat),
// its peak and current resident memory (VmHWM, VmRSS), the reports and
// referrals stored, the size of the data directory, and the load average,
// since the machine is shared.
//
// With -measure-prefill N, a short seed at a gentle rate first makes real
// rows of every kind, and the hub is stopped while they are copied in SQL
// until the store holds N reports (measure_prefill_test.go), then
// restarted on the grown store for the steps:
//
//	go test -tags measure -run TestMeasure/sqlite -timeout 120m -v ./cmd/guardian \
//	    -measure-prefill 1000000 -measure-rates 30,50 -measure-step 2m

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/internal/demo"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

var (
	measureRates = flag.String("measure-rates", "30,50,80", "the simulator's rates (reports/s), one step each, in turn on one hub")
	measureStep  = flag.Duration("measure-step", 2*time.Minute, "how long the simulator sends at each rate")
	measureSeed  = flag.Int("measure-seed", 1, "the simulator's first seed (each step adds its index)")

	measurePrefill     = flag.Int64("measure-prefill", 0, "grow the store to this many reports before the steps, copying a real seed's rows in SQL (0: no prefill)")
	measurePrefillSeed = flag.Int("measure-prefill-seed", 1000, "with -measure-prefill: reports the real seed sends, at 50/s, as the copies' templates")
	measureVerify      = flag.Bool("measure-audit-verify", false, "after the steps, stop the hub and run guardian audit verify on the store (slow on a large store)")
	measureHubFlags    = flag.String("measure-hub-flags", "", "more flags for guardian serve, space-separated (such as --triage-workers 8)")
	measureProfile     = flag.String("measure-profile", "", "directory to write CPU profiles of the hub and the simulator into, 60 s from the middle of each step (hub-RATE.pprof, sim-RATE.pprof)")
)

func TestMeasure(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMeasure(t, nil) })
	t.Run("postgres", func(t *testing.T) { testMeasure(t, []string{"--database", storetest.PostgresDSN(t)}) })
}

func testMeasure(t *testing.T, storeArgs []string) {
	ctx := context.Background()
	data := t.TempDir()
	hookAddr := freeAddr(t)
	netPath := simulateNetwork(t, hookAddr)
	mail, err := demo.StartMailCatcher("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mail.Close()
	out := MustRunGuardian(t, "simulate", "--webhook-setup", "--webhook-listen", hookAddr, "--data", data)
	m := regexp.MustCompile(`certificate: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--webhook-setup printed no certificate:\n%s", out)
	}
	t.Setenv("SSL_CERT_FILE", m[1])
	// Info, not debug: a debug line per request would be part of the cost
	// (and StartHub waits for the info line "guardian is serving").
	hubArgs := append([]string{"--data", data, "--migrate", "--network", netPath, "--log-level", "info",
		"--smtp-addr", mail.Addr(), "--smtp-from", "guardian@hub.example.org", "--smtp-require-tls=false"}, storeArgs...)
	hubArgs = append(hubArgs, strings.Fields(*measureHubFlags)...)
	var hubPprof, simPprof string
	if *measureProfile != "" {
		hubPprof, simPprof = freeAddr(t), freeAddr(t)
		hubArgs = append(hubArgs, "--pprof", hubPprof)
	}
	h := StartHub(t, hubArgs...)
	pid := h.cmd.Process.Pid
	postgres := len(storeArgs) == 2

	cfg := StoreConfig{Data: data}
	if len(storeArgs) == 2 {
		cfg.Database = storeArgs[1]
	}
	st, err := openWithMasterKey(ctx, cfg, "", stderrLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state := func(when string) {
		t.Logf("[%s] load %s; hub cpu %.1f s; %s; reports %d, referrals %d; data dir %s; backlog %s",
			when, loadAvg(), cpuSeconds(t, pid), memStatus(pid), count(st, "reports"), count(st, "referrals"),
			dirSize(data), backlog(ctx, st))
	}
	state("start")

	if *measurePrefill > 0 {
		base := reserveIDs(ctx, t, st, postgres, *measurePrefill)
		began := time.Now()
		args := append([]string{"simulate", "--url", h.URL, "--data", data, "--network", netPath, "--reporters", "16",
			"--agency-bots", "--ack-delay", "0", "--webhook-listen", hookAddr, "--senders", "64",
			"--rate", "50", "--count", strconv.Itoa(*measurePrefillSeed), "--seed", strconv.Itoa(*measureSeed + 1000),
			"--progress-every", "15s", "--drain", "1m", "--quiet", "10s"}, storeArgs...)
		sim := exec.Command(guardianBin, args...)
		sim.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		sim.Stdout, sim.Stderr = &stdout, &stderr
		if err := sim.Run(); err != nil {
			t.Fatalf("prefill seed: simulate: %v\n%s", err, stderr.String())
		}
		t.Logf("prefill seed, summary:\n%s", stdout.String())
		for j := 0; j < 12 && backlogTotal(ctx, st) > 0; j++ {
			time.Sleep(5 * time.Second)
		}
		state("seeded")
		perReport(ctx, t, st, postgres, data, "seeded")
		h.Stop(t)
		t.Logf("prefill: seed and stop took %s", time.Since(began).Round(time.Second))

		began = time.Now()
		prefill(ctx, t, st, postgres, data, base, *measurePrefill)
		t.Logf("prefill: took %s", time.Since(began).Round(time.Second))
		perReport(ctx, t, st, postgres, data, "prefilled")

		began = time.Now()
		h = StartHub(t, hubArgs...)
		pid = h.cmd.Process.Pid
		t.Logf("prefill: hub restarted in %s", time.Since(began).Round(time.Millisecond))
		state("restarted")
	}

	for i, r := range strings.Split(*measureRates, ",") {
		rate := strings.TrimSpace(r)
		cpu0 := cpuSeconds(t, pid)
		began := time.Now()
		state(fmt.Sprintf("before %s/s", rate))
		args := append([]string{"simulate", "--url", h.URL, "--data", data, "--network", netPath, "--reporters", "16",
			"--agency-bots", "--ack-delay", "0", "--webhook-listen", hookAddr, "--senders", "256",
			"--rate", rate, "--duration", measureStep.String(), "--seed", strconv.Itoa(*measureSeed + i),
			"--progress-every", "15s", "--drain", "1m", "--quiet", "10s"}, storeArgs...)
		if simPprof != "" {
			args = append(args, "--pprof", simPprof)
		}
		sim := exec.Command(guardianBin, args...)
		sim.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		sim.Stdout, sim.Stderr = &stdout, &stderr
		if err := sim.Start(); err != nil {
			t.Fatal(err)
		}
		if *measureProfile != "" {
			// Both profiles over the same minute from the step's middle,
			// once the step has settled.
			at := *measureStep/2 - 30*time.Second
			go profileCPU(t, hubPprof, filepath.Join(*measureProfile, "hub-"+rate+".pprof"), at)
			go profileCPU(t, simPprof, filepath.Join(*measureProfile, "sim-"+rate+".pprof"), at)
		}
		done := make(chan error, 1)
		go func() { done <- sim.Wait() }()
		tick := time.NewTicker(15 * time.Second)
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-tick.C:
				state(fmt.Sprintf("%s/s +%s", rate, time.Since(began).Round(time.Second)))
			}
		}
		tick.Stop()
		if err != nil {
			t.Errorf("simulate at %s/s: %v\n%s", rate, err, stderr.String())
		}
		cpu := cpuSeconds(t, pid) - cpu0
		wall := time.Since(began).Seconds()
		t.Logf("simulate at %s/s, progress:\n%s", rate, stderr.String())
		t.Logf("simulate at %s/s, summary:\n%s", rate, stdout.String())
		t.Logf("step %s/s: hub cpu %.1f s over %.0f s wall = %.2f cores", rate, cpu, wall, cpu/wall)
		if ps := sim.ProcessState; ps != nil {
			// The simulator shares the machine with the hub: its CPU is
			// what the hub could not have.
			simCPU := (ps.UserTime() + ps.SystemTime()).Seconds()
			t.Logf("step %s/s: simulator cpu %.1f s = %.2f cores", rate, simCPU, simCPU/wall)
		}
		state(fmt.Sprintf("after %s/s", rate))
		// Let the hub drain whatever is left before the next step, so
		// that one step's backlog does not count against the next.
		for j := 0; j < 12 && backlogTotal(ctx, st) > 0; j++ {
			time.Sleep(5 * time.Second)
		}
		state(fmt.Sprintf("drained after %s/s", rate))
		perReport(ctx, t, st, postgres, data, fmt.Sprintf("after %s/s", rate))
	}
	h.Stop(t)
	if *measureVerify {
		began := time.Now()
		out, err := runGuardian(append([]string{"audit", "verify", "--data", data}, storeArgs...)...)
		if err != nil {
			t.Errorf("guardian audit verify: %v\n%s", err, out)
		}
		t.Logf("guardian audit verify in %s:\n%s", time.Since(began).Round(time.Millisecond), out)
	}
}

// profileCPU waits for at, then writes a 60-second CPU profile from the
// profiling endpoints at addr to path.
func profileCPU(t *testing.T, addr, path string, at time.Duration) {
	time.Sleep(max(at, 0))
	resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=60")
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", resp.Status, b)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	t.Logf("profile written: %s", path)
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuSeconds is the process's user and system time, from /proc/PID/stat.
func cpuSeconds(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Logf("read stat: %v", err)
		return 0
	}
	// The command may hold spaces: the fields after it follow its ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14 of the whole line
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / 100                 // USER_HZ is 100 on Linux
}

func memStatus(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") || strings.HasPrefix(l, "VmRSS:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

func count(st *sqlstore.Store, table string) int64 {
	var n int64
	if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		return -1
	}
	return n
}

// backlog is the routing queue's reports, and River's jobs not yet
// completed, by kind and state.
func backlog(ctx context.Context, st *sqlstore.Store) string {
	var out []string
	if n := count(st, `reports WHERE route_order IS NOT NULL`); n != 0 {
		out = append(out, fmt.Sprintf("routing/queued=%d", n))
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT kind, CAST(state AS TEXT), count(*) FROM river_job
		WHERE CAST(state AS TEXT) NOT IN ('completed', 'cancelled', 'discarded') GROUP BY kind, CAST(state AS TEXT) ORDER BY kind`)
	if err != nil {
		return "error: " + err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return "error: " + err.Error()
		}
		out = append(out, fmt.Sprintf("%s/%s=%d", kind, state, n))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// backlogTotal counts the reports waiting to be routed and the jobs that
// are due now or running (not the digests scheduled for later).
func backlogTotal(ctx context.Context, st *sqlstore.Store) int64 {
	var n int64
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job
		WHERE CAST(state AS TEXT) IN ('available', 'running', 'retryable')`).Scan(&n); err != nil {
		return -1
	}
	return n + count(st, `reports WHERE route_order IS NOT NULL`)
}

// dirSize sums the data directory's files, and its evidence apart from
// the rest (anything under a directory whose name holds "evidence" or
// "blob").
func dirSize(dir string) string {
	total, ev := dirBytes(dir)
	return fmt.Sprintf("%.1f MB (evidence %.1f MB)", float64(total)/1e6, float64(ev)/1e6)
}

// dirBytes is dirSize in bytes.
func dirBytes(dir string) (total, ev int64) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		total += info.Size()
		rel, _ := filepath.Rel(dir, p)
		if strings.Contains(rel, "evidence") || strings.Contains(rel, "blob") {
			ev += info.Size()
		}
		return nil
	})
	return total, ev
}
