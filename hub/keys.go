package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/sqlstore"
)

// AuditKeyFile is the name of the checkpoint signing key in the data
// directory.
const AuditKeyFile = "audit-signing.key"

// MasterKeyFile is the name of the master key in the data directory, unless
// another file is named (--master-key-file).
const MasterKeyFile = "master.key"

// LoadMasterKey reads the master key of the hub whose data directory is
// data: file if given, else master.key in data. It never creates one: it is
// for the commands that read what a hub stored (report show, route
// explain), whose documents are sealed under the key.
func LoadMasterKey(file, data string) (*crypto.MasterKey, error) {
	if file == "" {
		file = filepath.Join(data, MasterKeyFile)
	}
	mk, err := crypto.LoadMasterKey(file)
	if err != nil {
		return nil, fmt.Errorf("master key (report documents are encrypted under it): %w", err)
	}
	return mk, nil
}

// loadMasterKey reads the hub's master key. A key file given explicitly must
// exist. The default one in data is created on first start, but never when
// the store already holds reports (holdsReports says): their keys were
// wrapped by a key that is now missing, and a fresh key would silently make
// every one unreadable.
//
// The store cannot be asked through the store the hub runs on, which is
// opened with the key; holdsReports opens it without, only when the key file
// is missing, which is on first start or after a loss.
func loadMasterKey(ctx context.Context, file, data string, holdsReports func(context.Context) (bool, error)) (*crypto.MasterKey, error) {
	if file != "" {
		return LoadMasterKey(file, data)
	}
	path := filepath.Join(data, MasterKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		held, err := holdsReports(ctx)
		if err != nil {
			return nil, fmt.Errorf("check store before creating a master key: %w", err)
		}
		if held {
			return nil, fmt.Errorf("master key %s is missing but the store holds reports encrypted under it; restore it from backup (or set GUARDIAN_MASTER_KEY_FILE)", path)
		}
	}
	mk, err := crypto.LoadOrCreateMasterKey(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return mk, nil
}

// storeHoldsReports opens the store without the master key, only to see
// whether any report was ever submitted to it, and closes it again. A new
// database is created (and migrated) by the way, as the hub's own open would.
func storeHoldsReports(ctx context.Context, c StoreConfig, migrate bool, logger *slog.Logger) (bool, error) {
	store, err := c.Open(ctx, sqlstore.Options{Migrate: migrate, Logger: logger})
	if err != nil {
		return false, openStoreError(err)
	}
	defer store.Close()
	reports, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.submit", Limit: 1})
	if err != nil {
		return false, err
	}
	return len(reports) > 0, nil
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
