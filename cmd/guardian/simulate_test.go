package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// simulateNetwork writes the demo network with every agency's webhook at
// the simulator's receiver on addr, and returns its path.
func simulateNetwork(t *testing.T, addr string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	agency := regexp.MustCompile(`^  - id: (\S+)`)
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := agency.FindStringSubmatch(line); m != nil {
			cur = m[1]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "webhook: ") {
			continue
		}
		out = append(out, line)
		if strings.HasPrefix(line, "      email: [") {
			out = append(out, "      webhook: https://"+addr+"/hooks/"+cur)
		}
	}
	path := filepath.Join(t.TempDir(), "network.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runSimulate runs "guardian simulate" in this process and returns its
// summary (stdout) and progress (stderr).
func runSimulate(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	if err := Run(testContext(t), append([]string{"simulate"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("guardian simulate %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// summaryInt reads a number the summary prints after label.
func summaryInt(t *testing.T, summary, label string) int {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + ` (\d+)`).FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("the summary has no %q:\n%s", label, summary)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestSimulate runs the simulator against a real hub as an operator
// would: it registers its reporters and bots in the hub's store, sends
// reports at a low rate, the bots confirm and acknowledge every referral,
// the hub's webhooks reach the simulator's receiver with valid
// signatures, and the summary says so.
func TestSimulate(t *testing.T) {
	data := t.TempDir()
	hookAddr := freeAddr(t)
	network := simulateNetwork(t, hookAddr)

	// The receiver's certificate first, so that the hub trusts it.
	out, _ := runSimulate(t, "--webhook-setup", "--webhook-listen", hookAddr, "--data", data)
	m := regexp.MustCompile(`certificate: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--webhook-setup printed no certificate:\n%s", out)
	}
	t.Setenv("SSL_CERT_FILE", m[1])
	h := StartHub(t, "--data", data, "--migrate", "--network", network)

	summary, progress := runSimulate(t, "--url", h.URL, "--data", data, "--network", network, "--reporters", "3",
		"--agency-bots", "--webhook-listen", hookAddr, "--count", "24", "--rate", "8", "--seed", "7",
		"--ack-delay", "50ms", "--poll", "200ms", "--progress-every", "1s", "--quiet", "20s")
	t.Logf("summary:\n%s", summary)

	if !strings.Contains(summary, "24 reports finished of 24 sent") || !strings.Contains(summary, "errors: none") {
		t.Errorf("the summary reports failures:\n%s\nprogress:\n%s\nhub:\n%s", summary, progress, h.stderr.String())
	}
	if !regexp.MustCompile(`(?m)^simulate: +\d+s +sent \d+ +ok \d+ +errors 0 +rate [0-9.]+/s +finish p50 \S+ p99 \S+`).MatchString(progress) {
		t.Errorf("no progress line on stderr:\n%s", progress)
	}
	for _, e := range []string{"submit", "upload", "fileinfo", "finish"} {
		if !regexp.MustCompile(`(?m)^ +` + e + ` +[1-9]\d* +`).MatchString(summary) {
			t.Errorf("no latency of %s in the summary", e)
		}
	}
	// Every report reached a person: each has a referral that a bot
	// acknowledged, those held for confirmation after the hub bot
	// confirmed them, and nothing is left waiting.
	seen, acked := summaryInt(t, summary, "referrals seen"), summaryInt(t, summary, "acknowledged")
	if seen < 24 || acked != seen {
		t.Errorf("referrals seen %d, acknowledged %d: want every report's, all acknowledged", seen, acked)
	}
	if n := summaryInt(t, summary, "confirmed by the hub bot"); n == 0 {
		t.Errorf("the hub bot confirmed nothing, though the demo network holds referrals for confirmation")
	}
	if n := summaryInt(t, summary, "reports waiting for an acknowledgement at the end:"); n != 0 {
		t.Errorf("%d reports left waiting", n)
	}
	// The urgent referrals' webhooks arrived, signed with the secrets the
	// simulator set.
	if n := summaryInt(t, summary, "; verified"); n == 0 || summaryInt(t, summary, "refused") != 0 || summaryInt(t, summary, ", unverified") != 0 {
		t.Errorf("webhooks: want some, all verified:\n%s", summary)
	}
	if !regexp.MustCompile(`(?m)^ +[E1](, held)? +[1-9]\d* +\S+ / \S+ / \S+ +[1-9]\d* +\S+ / `).MatchString(summary) {
		t.Errorf("no end-to-end row of priority E or 1 with a webhook:\n%s", summary)
	}

	// The same seed sends the same reports; another seed others.
	first := func(summary string) string {
		m := regexp.MustCompile(`(?m)^traffic fingerprint: (\S+).*\nfirst reports: (.*)$`).FindStringSubmatch(summary)
		if m == nil {
			t.Fatalf("no fingerprint in the summary:\n%s", summary)
		}
		return m[1] + " " + m[2]
	}
	user, password := addReporter(t, "repeat-reporter", "--data", data)
	again, _ := runSimulate(t, "--url", h.URL, "--reporter", user+":"+password, "--count", "24", "--rate", "50", "--seed", "7", "--progress-every", "0")
	if first(again) != first(summary) {
		t.Errorf("seed 7 twice: %q, then %q", first(summary), first(again))
	}
	other, _ := runSimulate(t, "--url", h.URL, "--reporter", user+":"+password, "--count", "24", "--rate", "50", "--seed", "8", "--progress-every", "0")
	if first(other) == first(summary) {
		t.Errorf("seeds 7 and 8 sent the same reports: %q", first(other))
	}
	if !strings.Contains(again, "end to end: no bots") {
		t.Errorf("a run without bots claims end-to-end figures:\n%s", again)
	}
}

// TestSimulateUsage: the command refuses what it cannot do before
// sending anything.
func TestSimulateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--count", "1"}, // no URL
		{"--url", "http://127.0.0.1:1", "--count", "1"},                                                 // no reporter
		{"--url", "http://127.0.0.1:1", "--reporter", "a:b"},                                            // neither count nor duration
		{"--url", "http://127.0.0.1:1", "--reporters", "2", "--count", "1"},                             // --reporters without --data
		{"--url", "http://127.0.0.1:1", "--reporter", "a:b", "--count", "1", "--agency-bots"},           // bots without tokens
		{"--url", "http://127.0.0.1:1", "--reporter", "ab", "--count", "1"},                             // not NAME:PASSWORD
		{"--url", "ftp://127.0.0.1:1", "--reporter", "a:b", "--count", "1"},                             // not http
		{"--url", "http://127.0.0.1:1", "--reporter", "a:b", "--count", "1", "--rate", "0"},             // no rate
		{"--url", "http://127.0.0.1:1", "--reporter", "a:b", "--count", "1", "--pprof", "0.0.0.0:6060"}, // profiling off loopback
	} {
		var stdout, stderr strings.Builder
		err := Run(testContext(t), append([]string{"simulate"}, args...), &stdout, &stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("simulate %v: %v, want a usage error", args, err)
		}
	}

	// A hub that does not answer is counted, not fatal.
	summary, _ := runSimulate(t, "--url", "http://"+freeAddr(t), "--reporter", "a:b", "--count", "3", "--rate", "100", "--progress-every", "0")
	if !strings.Contains(summary, "0 reports finished of 3 sent") || !regexp.MustCompile(`submit: connection refused +3`).MatchString(summary) {
		t.Errorf("against nothing:\n%s", summary)
	}
}
