package auditlog_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian/auditlog"
)

const origin = "hub.example.org/audit"

func TestCheckpointText(t *testing.T) {
	c := auditlog.Checkpoint{Origin: origin, TreeSize: 1234, RootHash: tlog.Hash{1, 2, 3}}
	text := c.Text()
	want := "hub.example.org/audit\n1234\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	if string(text) != want {
		t.Fatalf("Text() = %q, want %q", text, want)
	}
	got, err := auditlog.ParseCheckpoint(text)
	if err != nil || got != c {
		t.Errorf("ParseCheckpoint = %+v, %v", got, err)
	}
	// Extension lines are allowed.
	if got, err := auditlog.ParseCheckpoint([]byte(want + "timestamp 1\n")); err != nil || got != c {
		t.Errorf("with an extension line: %+v, %v", got, err)
	}
	for _, bad := range []string{
		"", want[:len(want)-1], "hub\n1234\n", "\n1234\nAQID\n", "hub\n01234\n" + strings.Split(want, "\n")[2] + "\n",
		"hub\n-1\n" + strings.Split(want, "\n")[2] + "\n", "hub\n1\nAQID\n", "hub\nx\n" + strings.Split(want, "\n")[2] + "\n",
		want + "\n",
	} {
		if _, err := auditlog.ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", bad)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	signer, vkey := mustKey(t, origin)
	c := auditlog.Checkpoint{Origin: origin, TreeSize: 5, RootHash: tlog.Hash{9}}
	signed, err := note.Sign(&note.Note{Text: string(c.Text())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := auditlog.OpenCheckpoint(signed, vkey); err != nil || got != c {
		t.Errorf("OpenCheckpoint = %+v, %v", got, err)
	}
	_, otherKey := mustKey(t, origin)
	if _, err := auditlog.OpenCheckpoint(signed, otherKey); err == nil {
		t.Error("opened with another key")
	}
	forged := bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1)
	if _, err := auditlog.OpenCheckpoint(forged, vkey); err == nil {
		t.Error("opened a changed checkpoint")
	}
	// A key of another name does not sign this origin's checkpoints.
	elsewhere, elsewhereKey := mustKey(t, "elsewhere.example/audit")
	signed, _ = note.Sign(&note.Note{Text: string(c.Text())}, elsewhere)
	if _, err := auditlog.OpenCheckpoint(signed, elsewhereKey); err == nil {
		t.Error("opened a checkpoint signed by a key named for another origin")
	}
}

func mustKey(t *testing.T, origin string) (note.Signer, string) {
	t.Helper()
	s, v, err := auditlog.LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "key"), origin)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func TestLoadOrCreateSigningKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "audit-signing.key")
	s, vkey, err := auditlog.LoadOrCreateSigningKey(path, origin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, origin+"+") || s.Name() != origin {
		t.Errorf("verifier key %q, signer %q", vkey, s.Name())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	// The second start reads the same key.
	s2, vkey2, err := auditlog.LoadOrCreateSigningKey(path, origin)
	if err != nil || vkey2 != vkey || s2.KeyHash() != s.KeyHash() {
		t.Errorf("reloaded: %q, %v; want %q", vkey2, err, vkey)
	}
	if _, err := note.NewVerifier(vkey); err != nil {
		t.Errorf("verifier key: %v", err)
	}
	// The secret never shows.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", slog.Any("signer", s))
	for _, shown := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), logged.String()} {
		if strings.Contains(shown, "PRIVATE") || !strings.Contains(shown, vkey) {
			t.Errorf("signer shows as %q", shown)
		}
	}

	if _, _, err := auditlog.LoadOrCreateSigningKey(path, "other.example/audit"); err == nil {
		t.Error("loaded a key for another origin")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auditlog.LoadOrCreateSigningKey(path, origin); err == nil {
		t.Error("loaded a key file that others can read")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("PRIVATE+KEY+nonsense\n"), 0o600)
	if _, _, err := auditlog.LoadOrCreateSigningKey(bad, origin); err == nil || strings.Contains(err.Error(), "nonsense") {
		t.Errorf("malformed key: %v", err)
	}
}
