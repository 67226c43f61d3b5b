package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"path/filepath"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/sqlstore"
)

// MigrateCommand applies pending migrations to the store, and encrypts the
// report documents that an older guardian stored in the clear.
type MigrateCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	MasterKeyFile  string // default master.key in --data, if it exists
}

// Run opens the store with migration allowed and reports its version. With
// the master key (master.key in --data, or --master-key-file) the store
// seals the documents still in the clear as it opens; without it only the
// schema moves, and serve seals them when it starts.
func (c *MigrateCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("guardian migrate", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "master key file, to encrypt report documents stored in the clear by an older guardian; default master.key in --data if it exists (GUARDIAN_MASTER_KEY_FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "migrate", msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	logger := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts := sqlstore.Options{Migrate: true, Logger: logger}
	mk, err := hub.LoadMasterKey(c.MasterKeyFile, c.Store.Data)
	switch {
	case err == nil:
		opts.Sealer = crypto.NewDocumentSealer(mk)
	case c.MasterKeyFile == "" && errors.Is(err, iofs.ErrNotExist):
		// A new data directory, or a key kept elsewhere: the schema
		// alone, and a word below if documents wait for the key.
	default:
		return fmt.Errorf("migrate: %w", err)
	}
	store, err := c.Store.hub().Open(ctx, opts)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer store.Close()
	// River's tables (the job queue) follow ours, with River's migrator.
	river := c.Store.hub().RiverDriver(store.DB())
	if err := jobs.Migrate(ctx, river, stderrLogger(c.Stderr)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Triage jobs an older guardian left in River join the store's
	// routing queue (schema version 15).
	if _, err := jobs.AdoptTriageJobs(ctx, river, store); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, latest, err := store.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	fmt.Fprintf(c.Stdout, "schema version %d of %d: up to date\n", current, latest)
	if opts.Sealer == nil {
		n, err := store.CountUnsealed(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(c.Stdout, "report documents in %d rows are still unencrypted: no master key at %s\n"+
				"(serve encrypts them when it starts; or run migrate again with --master-key-file)\n",
				n, filepath.Join(c.Store.Data, hub.MasterKeyFile))
		}
	}
	return nil
}
