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

	"github.com/guardian-network/guardian/auditlog"
)

const origin = "hub.example.org/audit"

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
