package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/guardian-network/guardian/jobs"
)

// MigrateCommand applies pending migrations to the store.
type MigrateCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
}

// Run opens the store with migration allowed and reports its version.
func (c *MigrateCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("guardian migrate", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "migrate", msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	store, err := c.Store.open(ctx, true, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer store.Close()
	// River's tables (the job queue) follow ours, with River's migrator.
	if err := jobs.Migrate(ctx, c.Store.hub().RiverDriver(store.DB()), stderrLogger(c.Stderr)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	current, latest, err := store.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	fmt.Fprintf(c.Stdout, "schema version %d of %d: up to date\n", current, latest)
	return nil
}
