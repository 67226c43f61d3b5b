package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/sqlstore"
)

// version is set at link time with -ldflags "-X main.version=..."; otherwise
// it comes from the module's build information.
var version string

// Version returns the binary's version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		if v != "" {
			return v
		}
	}
	return "(devel)"
}

// StoreConfig is where a command finds the hub's store.
type StoreConfig struct {
	Data     string // directory for the SQLite file, evidence and keys
	Database string // empty: SQLite in Data; postgres://...: PostgreSQL
}

// register adds --data and --database to fs.
func (c *StoreConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", "./guardian-data", "directory for the database file, evidence blobs and keys (GUARDIAN_DATA)")
	fs.StringVar(&c.Database, "database", "", "empty for SQLite inside --data, or a postgres:// URL (GUARDIAN_DATABASE)")
}

// hub returns the configuration package hub opens stores with.
func (c *StoreConfig) hub() hub.StoreConfig {
	return hub.StoreConfig{Data: c.Data, Database: c.Database}
}

// open opens the store for a command that never finishes a report,
// creating the data directory if needed.
func (c *StoreConfig) open(ctx context.Context, migrate bool, logger *slog.Logger) (*sqlstore.Store, error) {
	return c.hub().Open(ctx, sqlstore.Options{Migrate: migrate, Logger: logger})
}

// parseFlags parses args into fs after applying GUARDIAN_<NAME> environment
// variables, so that an explicit flag wins over the environment.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "GUARDIAN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("invalid %s: %w", name, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	return fs.Parse(args)
}

// parseFlagsAndArgs is parseFlags for commands with positional arguments: it
// lets flags come before, between or after them ("reporter add NAME --data
// DIR"), and returns the positional arguments.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// newLogger returns the process's logger: text or JSON on stderr-like w.
func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("invalid log format %q (text or json)", format)
}
