package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
)

// mustNotHold fails tb if the SQLite database in data, or its WAL, holds
// s anywhere in its bytes.
func mustNotHold(tb testing.TB, data, s string) {
	tb.Helper()
	for _, name := range []string{"guardian.db", "guardian.db-wal"} {
		b, err := os.ReadFile(filepath.Join(data, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			tb.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			tb.Errorf("%s holds %q in the clear", name, s)
		}
	}
}

// TestReportShowDecrypts: what a hub stores is encrypted on disk, and
// "report show" reads it with the master key, and only with it.
func TestReportShowDecrypts(t *testing.T) {
	data := t.TempDir()
	user, password := addReporter(t, "sealed-reporter", "--data", data)
	h := StartHub(t, "--data", data)
	ctx := testContext(t)
	c := &intaketest.Client{BaseURL: h.URL + "/ispws", User: user, Password: password}
	suspect := "suspect-" + itoa(int64(os.Getpid())) + "@example.org"
	report := strings.Replace(intaketest.MinimalReport, "</reporter>", `</reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <email>`+suspect+`</email>
    </personOrUserReportedPerson>
  </personOrUserReported>`, 1)
	id, err := c.Submit(ctx, []byte(report))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Finish(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.Stop(t)
	mustNotHold(t, data, suspect)

	show := []string{"report", "show", itoa(id), "--data", data, "--justification", "test: read a sealed report"}
	out := MustRunGuardian(t, show...)
	var v struct {
		Document json.RawMessage `json:"document"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || !strings.Contains(string(v.Document), suspect) {
		t.Errorf("report show printed no document with %q: %v\n%s", suspect, err, out)
	}

	other := filepath.Join(t.TempDir(), "other.key")
	if _, err := crypto.LoadOrCreateMasterKey(other); err != nil {
		t.Fatal(err)
	}
	if out, err := runGuardian(append(show, "--master-key-file", other)...); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("report show with another master key: %v\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(data, "master.key"), filepath.Join(data, "master.key.bak")); err != nil {
		t.Fatal(err)
	}
	if out, err := runGuardian(show...); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("report show without the master key: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err == nil {
		t.Error("report show created a master key")
	}
}

// TestMigrateSealsDocuments: "guardian migrate" moves a store of schema
// version 4, whose report documents are in the clear, to the current
// schema; without the master key it says the documents wait for it, with
// the key it encrypts them.
func TestMigrateSealsDocuments(t *testing.T) {
	data := t.TempDir()
	ctx := t.Context()
	mk, err := crypto.LoadOrCreateMasterKey(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	// A store as guardian wrote it before version 5.
	old := fstest.MapFS{}
	names, _ := fs.Glob(sqlite.Migrations(), "*.sql")
	for _, name := range names[:4] {
		b, err := fs.ReadFile(sqlite.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	s, err := sqlite.Open(ctx, filepath.Join(data, "guardian.db"), sqlstore.Options{Migrations: old, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(data, "guardian.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dk, _ := crypto.GenerateDataKey()
	suspect := "old-suspect@example.org"
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO reporters (id, name, password_hash, created_at) VALUES (1, 'old-reporter', 'x', 0)`, nil},
		{`INSERT INTO reports (id, reporter_id, state, opened_at, modified_at, finished_at, xml, document, wrapped_key)
			VALUES (1, 1, 'finished', 0, 0, 0, ?, ?, ?)`,
			[]any{[]byte(`<report><email>` + suspect + `</email></report>`), `{"email": "` + suspect + `"}`, mk.WrapDataKey(dk, 1)}},
	} {
		if _, err := db.ExecContext(ctx, q.query, q.args...); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
	}
	db.Close()

	key, aside := filepath.Join(data, "master.key"), filepath.Join(data, "elsewhere.key")
	if err := os.Rename(key, aside); err != nil {
		t.Fatal(err)
	}
	out := MustRunGuardian(t, "migrate", "--data", data)
	if !strings.Contains(out, "up to date") || !strings.Contains(out, "report documents in 1 rows are still unencrypted") {
		t.Errorf("migrate without the key printed:\n%s", out)
	}

	out = MustRunGuardian(t, "migrate", "--data", data, "--master-key-file", aside)
	if !strings.Contains(out, "up to date") || strings.Contains(out, "unencrypted") {
		t.Errorf("migrate with the key printed:\n%s", out)
	}
	mustNotHold(t, data, suspect)
	if err := os.Rename(aside, key); err != nil {
		t.Fatal(err)
	}
	out = MustRunGuardian(t, "report", "show", "1", "--data", data, "--justification", "test: read a migrated report")
	if !strings.Contains(out, suspect) {
		t.Errorf("report show after migrating lacks %q:\n%s", suspect, out)
	}
}
