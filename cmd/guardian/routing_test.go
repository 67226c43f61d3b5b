package main

import (
	"bufio"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/internal/intaketest"
)

// reloadEvent is a network.reload audit event as stored.
type reloadEvent struct {
	ActorName, ObjectID, Outcome, Reason string
}

// MustReloadEvents returns the network.reload events of the SQLite store
// in data, oldest first.
func MustReloadEvents(tb testing.TB, data string) []reloadEvent {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "guardian.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT actor_name, object_id, outcome, reason FROM audit_events WHERE action = 'network.reload' ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var evs []reloadEvent
	for rows.Next() {
		var e reloadEvent
		if err := rows.Scan(&e.ActorName, &e.ObjectID, &e.Outcome, &e.Reason); err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return evs
}

// MustWaitReloadEvents waits until the store in data holds n
// network.reload events and returns them.
func MustWaitReloadEvents(tb testing.TB, data string, n int) []reloadEvent {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		evs := MustReloadEvents(tb, data)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d network.reload events after %v, want %d: %+v", len(evs), waitTimeout, n, evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// MustWriteNetwork writes content to path and returns its digest.
func MustWriteNetwork(tb testing.TB, path string, content []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// MustAddToken adds a token with role to the store in data and returns it.
func MustAddToken(tb testing.TB, data, name, role string) string {
	tb.Helper()
	out := MustRunGuardian(tb, "token", "add", name, "--role", role, "--data", data)
	m := regexp.MustCompile(`(?m)^token: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("token add printed %q", out)
	}
	return m[1]
}

// postReload calls POST /admin/network/reload with token (none if empty)
// and returns the status and body.
func postReload(tb testing.TB, h *hubProcess, token string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/admin/network/reload", nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestNetworkReload changes a running hub's network file and reloads it by
// SIGHUP and by the administrators' endpoint: a valid file is taken, an
// invalid one refused with the old network kept, each attempt audited.
func TestNetworkReload(t *testing.T) {
	demo, err := os.ReadFile("../../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	path := filepath.Join(t.TempDir(), "network.yaml")
	startDigest := MustWriteNetwork(t, path, demo)
	admin := MustAddToken(t, data, "ops", "admin")
	auditor := MustAddToken(t, data, "court-auditor", "auditor")
	h := StartHub(t, "--data", data, "--network", path)

	evs := MustWaitReloadEvents(t, data, 1)
	if got, want := evs[0], (reloadEvent{"guardian serve", startDigest, "success", "start"}); got != want {
		t.Errorf("start event %+v, want %+v", got, want)
	}
	// changed returns the demo with another duty address: a valid file of
	// a different digest each time.
	changed := func(addr string) []byte {
		b := []byte(strings.Replace(string(demo), "de-bka-cac-duty@example.org", addr, 1))
		if string(b) == string(demo) {
			t.Fatal("the demo network has no de-bka-cac-duty@example.org to change")
		}
		return b
	}
	invalid := []byte("hub:\n  name: [unterminated\n")

	t.Run("SIGHUP", func(t *testing.T) {
		n := len(MustReloadEvents(t, data))
		digest := MustWriteNetwork(t, path, changed("de-bka-cac-sighup@example.org"))
		if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		evs := MustWaitReloadEvents(t, data, n+1)
		if got, want := evs[n], (reloadEvent{"SIGHUP", digest, "success", "changed"}); got != want {
			t.Errorf("event %+v, want %+v", got, want)
		}

		// An invalid file is refused: the event names the network kept.
		MustWriteNetwork(t, path, invalid)
		if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		evs = MustWaitReloadEvents(t, data, n+2)
		if got, want := evs[n+1], (reloadEvent{"SIGHUP", digest, "failure", "invalid"}); got != want {
			t.Errorf("event %+v, want %+v", got, want)
		}
		h.MustWaitLog(t, "network file refused")
	})

	t.Run("Endpoint", func(t *testing.T) {
		n := len(MustReloadEvents(t, data))
		digest := MustWriteNetwork(t, path, changed("de-bka-cac-endpoint@example.org"))
		status, body := postReload(t, h, admin)
		if status != http.StatusOK {
			t.Fatalf("reload: HTTP %d %s", status, body)
		}
		var got struct {
			Network string `json:"network"`
			Changed bool   `json:"changed"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("reload answered %q: %v", body, err)
		}
		if got.Network != digest || !got.Changed {
			t.Errorf("reload answered %+v, want network %s changed", got, digest)
		}
		evs := MustWaitReloadEvents(t, data, n+1)
		if got, want := evs[n], (reloadEvent{"ops", digest, "success", "changed"}); got != want {
			t.Errorf("event %+v, want %+v", got, want)
		}

		// The same file again is a success without change.
		if status, body := postReload(t, h, admin); status != http.StatusOK || !strings.Contains(body, `"changed":false`) {
			t.Errorf("unchanged reload: HTTP %d %s", status, body)
		}

		// An invalid file is refused and the network in force stays.
		MustWriteNetwork(t, path, invalid)
		status, body = postReload(t, h, admin)
		if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
			t.Errorf("invalid file: HTTP %d %s, want 400 or 422", status, body)
		}
		evs = MustWaitReloadEvents(t, data, n+3)
		if got, want := evs[n+2], (reloadEvent{"ops", digest, "failure", "invalid"}); got != want {
			t.Errorf("event %+v, want %+v", got, want)
		}
	})

	t.Run("Unauthorized", func(t *testing.T) {
		MustWriteNetwork(t, path, changed("de-bka-cac-intruder@example.org"))
		n := len(MustReloadEvents(t, data))
		for _, tt := range []struct {
			name, token string
			want        int
		}{
			{"NoToken", "", http.StatusUnauthorized},
			{"UnknownToken", "gdn_" + strings.Repeat("x", 43), http.StatusUnauthorized},
			{"AuditorToken", auditor, http.StatusForbidden},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if got, body := postReload(t, h, tt.token); got != tt.want {
					t.Errorf("HTTP %d %s, want %d", got, body, tt.want)
				}
			})
		}
		if evs := MustReloadEvents(t, data); len(evs) != n {
			t.Errorf("refused requests reloaded the network: %+v", evs[n:])
		}
	})
}

// TestRouteExplain finishes a report on a live hub and explains its
// routing, as text and as JSON.
func TestRouteExplain(t *testing.T) {
	data := t.TempDir()
	user, password := addReporter(t, "explain-reporter", "--data", data)
	h := StartHub(t, "--data", data)
	ctx := testContext(t)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	// The reported user's verified estimated location is Germany: the
	// demo network refers the report to de-bka-cac.
	report := strings.Replace(intaketest.MinimalReport, "</reporter>", `</reporter>
  <personOrUserReported>
    <espIdentifier>user-explain</espIdentifier>
    <estimatedLocation verified="true" timestamp="2024-03-01T12:00:00Z">
      <countryCode>DE</countryCode>
    </estimatedLocation>
  </personOrUserReported>`, 1)
	id, err := c.Submit(ctx, []byte(report))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Finish(ctx, id); err != nil {
		t.Fatal(err)
	}
	sid := itoa(id)

	// The pipeline routes the report in the background.
	var e struct {
		ReportID   int64 `json:"reportId"`
		Assessment struct {
			Triage struct {
				Priority string `json:"priority"`
			} `json:"triage"`
		} `json:"assessment"`
		Referrals []struct {
			AgencyID  string   `json:"agencyId"`
			Countries []string `json:"countries"`
		} `json:"referrals"`
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		out, err := runGuardian("route", "explain", sid, "--json", "--data", data)
		if err == nil {
			if err := json.Unmarshal([]byte(out), &e); err != nil {
				t.Fatalf("route explain --json printed %q: %v", out, err)
			}
			if len(e.Referrals) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("report %s not routed after %v: %q, %v\n%s", sid, waitTimeout, out, err, h.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("JSON", func(t *testing.T) {
		if e.ReportID != id {
			t.Errorf("reportId %d, want %d", e.ReportID, id)
		}
		if len(e.Referrals) != 1 || e.Referrals[0].AgencyID != "de-bka-cac" || strings.Join(e.Referrals[0].Countries, ",") != "DE" {
			t.Errorf("referrals %+v, want one to de-bka-cac for DE", e.Referrals)
		}
		if e.Assessment.Triage.Priority == "" {
			t.Errorf("assessment without a priority")
		}
	})
	t.Run("Text", func(t *testing.T) {
		out := MustRunGuardian(t, "route", "explain", sid, "--data", data)
		for _, want := range []string{
			"Report " + sid + " (triaged ",
			"\nJurisdiction\n",
			"  DE  ",
			"estimatedLocation",
			"priority " + e.Assessment.Triage.Priority,
			"\nReferrals\n  de-bka-cac  ",
			"countries DE",
			"\nBundle (reports whose files match the same list items)\n  none\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		if out, err := runGuardian("route", "explain", "999999", "--data", data); err == nil {
			t.Errorf("explain of a missing report succeeded: %q", out)
		}
	})
}

// TestRouteExplainKnownContent prints the explanation of a report triaged
// against hash lists: each file's matches at triage, with list, category,
// distance and rotation, and the other reports of its bundle.
func TestRouteExplainKnownContent(t *testing.T) {
	q := 92
	f1 := &guardian.File{ID: strings.Repeat("a", 32), MD5: randomHexString(32), SHA1: randomHexString(40), SHA256: randomHexString(64),
		ImageStatus: guardian.ImageHashed, PDQ: randomHexString(64), PDQQuality: &q}
	f2 := &guardian.File{ID: strings.Repeat("b", 32), MD5: randomHexString(32), SHA1: randomHexString(40), SHA256: randomHexString(64),
		ImageStatus: guardian.ImageNotImage}
	item, md5Item := randomHexString(64), f2.MD5
	e := &explanation{
		ReportID: 7,
		Assessment: &guardian.ReportAssessment{ReportID: 7, Triage: guardian.Triage{
			Label: guardian.LabelInformational, Priority: guardian.Priority3,
			Reasons: []guardian.Reason{{Rule: "known-content", Scale: guardian.ScaleUrgency, Weight: -25,
				Detail: "2 of 2 reported files in hash lists: memes category 2 at distance 6"}},
			Known: &guardian.KnownContent{Lists: 2, Files: 2, MaxDistance: 31, Matches: []guardian.KnownMatch{
				{FileID: f1.ID, List: "memes", ListVersion: "2026.12", Type: guardian.HashPDQ, Hash: item, Category: "2", Distance: 6, Variant: "rot90"},
				{FileID: f2.ID, List: "vics", ListVersion: "1", Type: guardian.HashMD5, Hash: md5Item, Category: ""},
			}},
		}},
		Files: []*guardian.File{f1, f2},
		Bundle: &guardian.HashBundle{Reports: 3, Members: []guardian.HashBundleMember{
			{ReportID: 12, Type: guardian.HashPDQ, Hash: item}, {ReportID: 12, Type: guardian.HashMD5, Hash: md5Item},
			{ReportID: 9, Type: guardian.HashPDQ, Hash: item},
		}},
	}
	var b strings.Builder
	writeExplanation(&b, e)
	out := b.String()
	for _, want := range []string{
		"known-content  urgency  -25.00  2 of 2 reported files in hash lists: memes category 2 at distance 6",
		"  triaged against 2 hash lists (PDQ distance up to 31): 2 of 2 files matched\n",
		"    at triage in hash list memes (version 2026.12): pdq distance 6 (rot90), category 2, item " + item + "\n",
		"    at triage in hash list vics (version 1): exact md5, category -, item " + md5Item + "\n",
		"\nBundle (reports whose files match the same list items)\n  3 other reports (the 2 most recent shown)\n" +
			"  report 12: pdq " + item + ", md5 " + md5Item + "\n  report 9: pdq " + item + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	// A report triaged before the lists existed says so.
	e.Assessment.Triage.Known, e.Bundle = nil, nil
	b.Reset()
	writeExplanation(&b, e)
	if out := b.String(); !strings.Contains(out, "  triaged without the hash lists\n") || !strings.Contains(out, "Bundle (reports whose files match the same list items)\n  none\n") {
		t.Errorf("explanation without lists:\n%s", out)
	}
}

// TestSIGHUPWhileOpening: a SIGHUP that arrives while the hub opens (here,
// while it migrates a new store) does not end the process, whose default
// for SIGHUP is to die: the hub opens, serves, and reloads its network
// once it can.
func TestSIGHUPWhileOpening(t *testing.T) {
	data := t.TempDir()
	demo, err := filepath.Abs(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(guardianBin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--network", demo)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done, serving := make(chan error, 1), make(chan struct{})
	go func() {
		// Drained to the end, so that the hub never blocks on its log.
		sc := bufio.NewScanner(stderr)
		sent, said := false, false
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.Contains(line, "applied migration") {
				sent = cmd.Process.Signal(syscall.SIGHUP) == nil
			}
			if sent && !said && servingURL.MatchString(line) {
				said = true
				close(serving)
			}
		}
		done <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done // closed once the hub has ended, whoever read its end
	})
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("the hub ended before it served: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("the hub did not serve in time")
	}

	evs := MustWaitReloadEvents(t, data, 2)
	if evs[0].Reason != "start" || evs[1].ActorName != "SIGHUP" {
		t.Errorf("network.reload events %+v: want the start's, then the SIGHUP's", evs)
	}
	select {
	case err, ended := <-done:
		if ended {
			t.Fatalf("the hub ended: %v", err)
		}
	default:
	}
}
