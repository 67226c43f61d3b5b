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
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
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
	AuditOrigin   string
	LogLevel      string
	LogFormat     string
	Network       string // network file; default network.yaml in --data
	GeoIP         string // MaxMind-format country database; default the embedded table

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
	fs.StringVar(&c.AuditOrigin, "audit-origin", "", "origin line of the audit log's checkpoints, e.g. hub.example.org/audit; fixed when the signing key is first created (default: the key's, or HOSTNAME/audit) (GUARDIAN_AUDIT_ORIGIN)")
	fs.StringVar(&c.Network, "network", "", "network file of agencies and agreements; default network.yaml in --data; reloaded on SIGHUP and POST /admin/network/reload (GUARDIAN_NETWORK)")
	fs.StringVar(&c.GeoIP, "geoip", "", "IP-to-country database in MaxMind DB format (GeoLite2/DB-IP country); default the embedded DB-IP table (GUARDIAN_GEOIP)")
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

	// The network is validated before anything is served: a hub must not
	// accept reports it cannot route.
	nr, err := loadNetwork(ctx, networkPath(c.Network, c.Store.Data), store, logger)
	if err != nil {
		return err
	}
	geoDB, closeGeo, err := openGeo(c.GeoIP)
	if err != nil {
		return err
	}
	defer closeGeo()

	mk, err := c.loadMasterKey(ctx, store)
	if err != nil {
		return err
	}

	ev := evidence.NewStore(filepath.Join(c.Store.Data, "evidence"))
	if err := ev.Open(); err != nil {
		return fmt.Errorf("open evidence store: %w", err)
	}
	defer ev.Close()
	// Before serving, nothing can be mid-upload, so every blob without a
	// committed row is a leftover of a crash or of an interrupted expiry.
	if n, err := jobs.CollectOrphanBlobs(ctx, store, ev); err != nil {
		return fmt.Errorf("collect orphan blobs: %w", err)
	} else if n > 0 {
		logger.Info("removed orphan evidence blobs", slog.Int("count", n))
	}

	signer, vkey, err := c.loadAuditKey()
	if err != nil {
		return err
	}
	alog := auditlog.New(store, signer, signer.Name(), logger)
	// A key other than the one the database's log was signed with must stop
	// the hub here, not fail in the background every 250 ms.
	if err := alog.Check(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if _, err := alog.Integrate(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}

	// The pipeline starts before the server, so that the finish hook is in
	// place before the first report can be finished.
	pipeline, err := startPipeline(ctx, &c.Store, store, nr, geoDB, logger)
	if err != nil {
		return fmt.Errorf("triage pipeline: %w", err)
	}
	stopSIGHUP := nr.reloadOnSIGHUP(ctx)
	defer stopSIGHUP()

	srv := server.New(store, ev, mk)
	srv.ReloadNetwork = nr.Reload
	srv.AuditLog, srv.AuditVerifierKey, srv.Tokens = alog, vkey, store
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

	auditDone := make(chan struct{})
	go func() {
		defer close(auditDone)
		alog.Run(expiryCtx)
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
	if perr := pipeline.Stop(shutdownCtx); perr != nil {
		logger.Error("stop triage pipeline", slog.Any("error", perr))
	}
	store.ClearFinishHooks()
	stopExpiry()
	<-expiryDone
	<-auditDone
	// Put the last events of this process into a checkpoint before leaving.
	if _, ierr := alog.Integrate(shutdownCtx); ierr != nil {
		logger.Error("final audit integration failed", slog.Any("error", ierr))
	}
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

// loadAuditKey loads the checkpoint signing key from --data, creating it on
// first start for the --audit-origin (or HOSTNAME/audit).
func (c *ServeCommand) loadAuditKey() (note.Signer, string, error) {
	path := filepath.Join(c.Store.Data, auditKeyFile)
	origin := c.AuditOrigin
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

// stderrLogger is the logger of the administrative commands.
func stderrLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
