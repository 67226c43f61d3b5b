package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/server"
)

// ServeCommand runs the hub.
type ServeCommand struct {
	Stdout, Stderr io.Writer

	Store         StoreConfig
	Addr          string
	Prefix        string
	Migrate       bool
	MasterKeyFile string
	MaxUploadSize int64
	LogLevel      string
	LogFormat     string

	// Ready, if set, receives the server's base URL once it listens.
	Ready func(url string)
}

// Run parses the flags and serves until ctx is cancelled.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("guardian serve", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on (GUARDIAN_ADDR)")
	fs.StringVar(&c.Prefix, "prefix", server.DefaultPrefix, "path of the CyberTipline intake API (GUARDIAN_PREFIX)")
	fs.BoolVar(&c.Migrate, "migrate", false, "apply pending database migrations before serving (GUARDIAN_MIGRATE)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "master key file; default master.key in --data, created on first start (GUARDIAN_MASTER_KEY_FILE)")
	fs.Int64Var(&c.MaxUploadSize, "max-upload-size", server.DefaultMaxUploadSize, "largest accepted file, in bytes (GUARDIAN_MAX_UPLOAD_SIZE)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error (GUARDIAN_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json (GUARDIAN_LOG_FORMAT)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "serve", msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if c.MaxUploadSize <= 0 {
		return usageError{cmd: "serve", msg: "--max-upload-size must be positive"}
	}
	logger, err := newLogger(c.Stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return usageError{cmd: "serve", msg: err.Error()}
	}

	store, err := c.Store.open(ctx, c.Migrate, logger)
	if errors.Is(err, guardian.ErrSchemaOutdated) {
		return fmt.Errorf("%w\n(the store needs migrating: run 'guardian migrate' or start with --migrate)", err)
	} else if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	mk, err := c.loadMasterKey(ctx, store)
	if err != nil {
		return err
	}

	ev := evidence.NewStore(filepath.Join(c.Store.Data, "evidence"))
	if err := ev.Open(); err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	// Before serving, nothing can be mid-upload, so every blob without a
	// committed row is a leftover of a crash or of an interrupted expiry.
	if n, err := jobs.CollectOrphanBlobs(ctx, store, ev); err != nil {
		return fmt.Errorf("collect orphan blobs: %w", err)
	} else if n > 0 {
		logger.Info("removed orphan evidence blobs", slog.Int("count", n))
	}

	srv := server.New(store, ev, mk)
	srv.Logger = logger
	srv.Addr = c.Addr
	srv.Prefix = c.Prefix
	srv.MaxUploadSize = c.MaxUploadSize
	if err := srv.Open(); err != nil {
		return err
	}
	expirer := &jobs.Expirer{Store: store, Evidence: ev, Logger: logger}
	expiryDone := make(chan struct{})
	expiryCtx, stopExpiry := context.WithCancel(ctx)
	go func() {
		defer close(expiryDone)
		expirer.Run(expiryCtx)
	}()

	logger.Info("guardian is serving", slog.String("url", srv.URL()), slog.String("intake", srv.URL()+srv.Prefix), slog.String("version", Version()))
	if c.Ready != nil {
		c.Ready(srv.URL())
	}
	<-ctx.Done()

	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = srv.Close(shutdownCtx)
	stopExpiry()
	<-expiryDone
	return err
}

// loadMasterKey reads the master key. A key file given explicitly must
// exist. The default one in --data is created on first start, but never when
// the store already holds reports: their keys were wrapped by a key that is
// now missing, and a fresh key would silently make every one unreadable.
func (c *ServeCommand) loadMasterKey(ctx context.Context, store guardian.Store) (*crypto.MasterKey, error) {
	if c.MasterKeyFile != "" {
		mk, err := crypto.LoadMasterKey(c.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		return mk, nil
	}
	path := filepath.Join(c.Store.Data, "master.key")
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

// stderrLogger is the logger of the administrative commands.
func stderrLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
