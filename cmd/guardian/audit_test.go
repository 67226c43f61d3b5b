package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/internal/intaketest"
)

// TestAuditCommands runs the audit log's command-line tools against a real
// hub: the verifier key, an auditor token, a witness following the hub's
// checkpoints, and offline verification that names the tampered index.
func TestAuditCommands(t *testing.T) {
	data := t.TempDir()
	user, password := addReporter(t, "audit-reporter", "--data", data)
	h := StartHub(t, "--data", data, "--audit-origin", "hub.example.org/audit")
	ctx := testContext(t)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	flow := func(n int) {
		for range n {
			id, err := c.Submit(ctx, []byte(intaketest.MinimalReport))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Finish(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	flow(5)

	key := strings.TrimSpace(MustRunGuardian(t, "audit", "key", "--data", data))
	if !regexp.MustCompile(`^hub\.example\.org/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$`).MatchString(key) {
		t.Fatalf("audit key printed %q", key)
	}
	out := MustRunGuardian(t, "token", "add", "court-auditor", "--role", "auditor", "--data", data)
	if !regexp.MustCompile(`(?m)^token: gdn_[A-Za-z0-9_-]{43}$`).MatchString(out) {
		t.Errorf("token add printed %q", out)
	}
	if _, err := runGuardian("token", "add", "x", "--role", "root", "--data", data); err == nil {
		t.Errorf("token add accepted an unknown role")
	}

	// A witness: the first run needs the key, later runs remember it.
	cp := filepath.Join(t.TempDir(), "hub-checkpoint")
	if _, err := runGuardian("audit", "verify", "--url", h.URL+"/audit", "--checkpoint", cp); err == nil {
		t.Errorf("the first witness run without --key succeeded")
	}
	out = MustRunGuardian(t, "audit", "verify", "--url", h.URL+"/audit", "--checkpoint", cp, "--key", key)
	if !strings.Contains(out, "first checkpoint saved") {
		t.Errorf("first witness run: %q", out)
	}
	flow(5)
	// The hub puts new events into a checkpoint in the background, and a
	// run that finds the saved size unchanged prints "grew from N to N":
	// wait for a checkpoint that is larger, so that a consistency proof
	// between two sizes is what gets checked.
	grew := regexp.MustCompile(`grew from (\d+) to (\d+) entries`)
	waitGrown := func() string {
		deadline := time.Now().Add(waitTimeout)
		for {
			out := MustRunGuardian(t, "audit", "verify", "--url", h.URL+"/audit", "--checkpoint", cp)
			if m := grew.FindStringSubmatch(out); m != nil && m[1] != m[2] {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("the hub's checkpoint did not grow in %v: %q", waitTimeout, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if out := waitGrown(); !strings.Contains(out, "consistently") {
		t.Errorf("second witness run: %q", out)
	}
	// A witness with the wrong key refuses.
	otherKey := strings.Replace(key, "hub.example.org", "other.example.org", 1)
	if _, err := runGuardian("audit", "verify", "--url", h.URL+"/audit", "--checkpoint", cp, "--key", otherKey); err == nil {
		t.Errorf("a witness with another key accepted the checkpoint")
	}
	h.Stop(t)

	// Offline: the intact store verifies...
	out = MustRunGuardian(t, "audit", "verify", "--data", data)
	if !strings.HasPrefix(out, "ok: ") {
		t.Errorf("verify: %q", out)
	}
	// ...and one changed row is found at its index.
	db, err := sql.Open("sqlite", filepath.Join(data, "guardian.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var index int64
	if err := db.QueryRowContext(ctx, `SELECT leaf_index FROM audit_leaves l JOIN audit_events e ON e.id = l.event_id WHERE e.action = 'report.finish' ORDER BY leaf_index LIMIT 1 OFFSET 2`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TRIGGER audit_events_no_update`,
		`UPDATE audit_events SET client_addr = '203.0.113.66' WHERE id = (SELECT event_id FROM audit_leaves WHERE leaf_index = ` + itoa(index) + `)`,
	} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out, err = runGuardian("audit", "verify", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "differs at index "+itoa(index)+":") {
		t.Errorf("verify of a tampered store: %q, %v; want a failure at index %d", out, err, index)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
