package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
)

// AuditKeyFile is the name of the checkpoint signing key in the data
// directory.
const AuditKeyFile = "audit-signing.key"

// loadMasterKey reads the master key. A key file given explicitly must
// exist. The default one in data is created on first start, but never when
// the store already holds reports: their keys were wrapped by a key that is
// now missing, and a fresh key would silently make every one unreadable.
func loadMasterKey(ctx context.Context, file, data string, store guardian.Store) (*crypto.MasterKey, error) {
	if file != "" {
		mk, err := crypto.LoadMasterKey(file)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		return mk, nil
	}
	path := filepath.Join(data, "master.key")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		reports, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.submit", Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("check store before creating a master key: %w", err)
		}
		if len(reports) > 0 {
			return nil, fmt.Errorf("master key %s is missing but the store holds reports encrypted under it; restore it from backup (or set GUARDIAN_MASTER_KEY_FILE)", path)
		}
	}
	mk, err := crypto.LoadOrCreateMasterKey(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return mk, nil
}

// LoadAuditKey loads the checkpoint signing key from data, creating it on
// first start for origin (empty: the key's own, or HOSTNAME/audit).
func LoadAuditKey(data, origin string) (note.Signer, string, error) {
	path := filepath.Join(data, AuditKeyFile)
	if origin == "" {
		if b, err := os.ReadFile(path); err == nil {
			if s, err := note.NewSigner(strings.TrimSpace(string(b))); err == nil {
				origin = s.Name()
			}
		}
	}
	if origin == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "guardian"
		}
		origin = host + "/audit"
	}
	signer, vkey, err := auditlog.LoadOrCreateSigningKey(path, origin)
	if err != nil {
		return nil, "", fmt.Errorf("audit signing key: %w", err)
	}
	return signer, vkey, nil
}
