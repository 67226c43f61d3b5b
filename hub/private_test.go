package hub_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/hub"
)

// TestDataPrivate: a hub creates its data directory 0700 and its database
// 0600 (the WAL and shared-memory files with it), makes an existing
// directory that others may read 0700, and refuses to start on a database
// that others may read, saying which chmod to run.
func TestDataPrivate(t *testing.T) {
	cfg := func(data string) hub.Config {
		return hub.Config{
			Store:       hub.StoreConfig{Data: data},
			Addr:        "127.0.0.1:0",
			Network:     filepath.Join("..", "examples", "network-demo.yaml"),
			AuditOrigin: "test.example.org/audit",
			Logger:      slog.New(slog.DiscardHandler),
		}
	}
	wantMode := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}

	data := filepath.Join(t.TempDir(), "data")
	h, err := hub.Open(t.Context(), cfg(data))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(data, hub.DatabaseFile)
	wantMode(data, 0o700)
	for _, path := range []string{db, db + "-wal", db + "-shm", filepath.Join(data, hub.MasterKeyFile)} {
		wantMode(path, 0o600)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("database", func(t *testing.T) {
		if err := os.Chmod(db, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(db, 0o600)
		h, err := hub.Open(t.Context(), cfg(data))
		if err == nil {
			h.Close(ctx)
			t.Fatal("a hub started on a database others may read")
		}
		if want := "run: chmod 600 " + db; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "may be read by other users") {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if err := os.Chmod(data, 0o755); err != nil {
			t.Fatal(err)
		}
		h, err := hub.Open(t.Context(), cfg(data))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		wantMode(data, 0o700)
	})
}

func TestCheckPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := hub.StoreConfig{Data: filepath.Join(dir, "missing")}
	if err := c.CheckPrivate(); err != nil {
		t.Errorf("a data directory not yet created: %v", err)
	}
	c.Data = dir
	db := filepath.Join(dir, hub.DatabaseFile)
	for _, name := range []string{db, db + "-wal"} {
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CheckPrivate(); err != nil {
		t.Errorf("private files: %v", err)
	}
	if err := os.Chmod(db+"-wal", 0o640); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckPrivate(); err == nil || !strings.Contains(err.Error(), "chmod 600 "+db+"-wal") {
		t.Errorf("a WAL others may read: %v", err)
	}
	// On PostgreSQL there is no database file to check, but the
	// directory still holds the keys and the evidence.
	c.Database = "postgres://example.invalid/guardian"
	if err := c.CheckPrivate(); err != nil {
		t.Errorf("PostgreSQL with a stray SQLite file: %v", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := c.CheckPrivate(); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("a directory others may enter: %v", err)
	}
}
