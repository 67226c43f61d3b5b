// Package hub assembles a running Guardian hub from its parts: the store,
// the evidence and its keys, the audit log, the triage pipeline with its
// delivery jobs (notifications, digests, escalation), the hash-list
// matcher, the network file, and the HTTP server with the intake and the
// partner API. "guardian serve" and "guardian demo"
// open one with [Open]; so do the benchmarks, so that what they measure is
// the hub as it runs in production, with the same hooks, jobs and
// settings.
//
// [Open] starts the parts in dependency order and binds the listener last;
// [Hub.Close] stops them in reverse. A start that fails at any step stops
// what it had started and returns the error, so a taken port or an
// unreadable key ends the process instead of leaving workers running.
package hub

import (
	"cmp"
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/hashlist"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/passkey"
	"github.com/guardian-network/guardian/pdq"
	"github.com/guardian-network/guardian/postgres"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/server"
	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/web"
)

// StoreConfig is where a hub's data lives.
type StoreConfig struct {
	Data     string // directory for the SQLite file, evidence and keys
	Database string // empty: SQLite in Data; postgres://...: PostgreSQL
}

// DatabaseFile is the name of the SQLite database in the data directory.
const DatabaseFile = "guardian.db"

// The store seals report documents with crypto's sealer on the master key.
var _ sqlstore.Sealer = (*crypto.DocumentSealer)(nil)

// Open opens the store with opts, making the data directory private first
// (see [StoreConfig.MakeDataDir]). A command that never delivers a
// referral leaves opts.OnReferral nil; one that never reads or writes
// report documents leaves opts.Sealer nil.
func (c StoreConfig) Open(ctx context.Context, opts sqlstore.Options) (*sqlstore.Store, error) {
	if err := c.MakeDataDir(opts.Logger); err != nil {
		return nil, err
	}
	switch {
	case c.Database == "":
		return sqlite.Open(ctx, filepath.Join(c.Data, DatabaseFile), opts)
	case strings.HasPrefix(c.Database, "postgres://"), strings.HasPrefix(c.Database, "postgresql://"):
		return postgres.Open(ctx, c.Database, opts)
	}
	return nil, errors.New("--database must be empty (SQLite) or a postgres:// URL")
}

// MakeDataDir creates the data directory with mode 0700, or makes an
// existing one that its group or others may access 0700, logging a warning
// that says so: it holds the master key, the evidence and the SQLite
// database. (os.MkdirAll leaves an existing directory as it is, and one made
// by mkdir or a test's TempDir is usually 0755.) A directory it cannot
// change is refused, with the chmod to run. A nil logger is slog.Default.
func (c StoreConfig) MakeDataDir(logger *slog.Logger) error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	fi, err := os.Stat(c.Data)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", c.Data)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(c.Data, 0o700); err != nil {
		return fmt.Errorf("data directory %s may be read by other users (mode %04o) and cannot be changed (%w): it holds the master key, the evidence and the database; run: chmod 700 %s",
			c.Data, perm, err, c.Data)
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn("made the data directory private: it holds the master key, the evidence and the database",
		slog.String("path", c.Data), slog.String("mode_was", fmt.Sprintf("%04o", perm)), slog.String("mode", "0700"))
	return nil
}

// CheckPrivate refuses a data directory that its group or others may
// access, and an SQLite database file (or its -wal or -shm) that they may,
// as the key files are refused: the directory holds the master key and the
// evidence, the database every report's metadata. The error says which
// chmod to run. A directory or file that does not exist yet passes: Open
// creates them private.
func (c StoreConfig) CheckPrivate() error {
	fi, err := os.Stat(c.Data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("data directory %s may be read by other users (mode %04o): it holds the master key, the evidence and the database; run: chmod 700 %s", c.Data, perm, c.Data)
	}
	if c.Database != "" {
		return nil
	}
	var open []string
	var mode fs.FileMode
	for _, suffix := range []string{"", "-wal", "-shm"} {
		path := filepath.Join(c.Data, DatabaseFile) + suffix
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if open == nil {
				mode = perm
			}
			open = append(open, path)
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("database %s may be read by other users (mode %04o); run: chmod 600 %s", open[0], mode, strings.Join(open, " "))
	}
	return nil
}

// DefaultWorkers is how many jobs of each queue a hub on this store runs
// at once unless configured: reports triaged and routed, and
// notifications sent. Either kind of job spends most of its time waiting
// for its writes to commit (a routing, a notification's record) or for a
// webhook's answer. On SQLite the jobs in flight share the single writer's
// commits: at 160 reports/s on 2 cores, 4 triage workers fell behind within
// minutes (19,700 reports waiting after 6 minutes) where 16 kept up, and at
// 180/s 4 delivery workers left priority 1 webhooks waiting up to 12 s
// (docs/performance.md, "End to end"). On PostgreSQL each job holds one of
// the pool's connections for its transaction, and 16 triage workers made
// routing slower than 4, contending for the pool of 10 (docs/routing.md).
func (c StoreConfig) DefaultWorkers() int {
	if c.Database == "" {
		return 16
	}
	return 4
}

// RiverDriver returns River's driver for the store's database kind on db,
// the store's write database ([sqlstore.Store.DB]), or nil for an
// insert-only client ([jobs.NewEnqueuer]).
func (c StoreConfig) RiverDriver(db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if c.Database == "" {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}

// Config is everything a hub is opened with. The zero value of a field is
// its documented default.
type Config struct {
	Store   StoreConfig
	Migrate bool // apply pending migrations; otherwise an outdated store is refused

	Addr          string // listen address; default 127.0.0.1:8080
	Prefix        string // path of the intake API; default server.DefaultPrefix
	MaxUploadSize int64  // default server.DefaultMaxUploadSize

	MasterKeyFile string // default master.key in Store.Data, created on first start
	AuditOrigin   string // checkpoint origin; default the key's, or HOSTNAME/audit
	Network       string // network file; default network.yaml in Store.Data
	GeoIP         string // MaxMind-format country database; default the embedded table

	// TLSCert and TLSKey are PEM files of the certificate and key the hub
	// serves HTTPS with (re-read by Reload, on SIGHUP); without them it
	// speaks plain HTTP, for a TLS proxy in front or for loopback.
	TLSCert, TLSKey string

	// ConfigureServer, if set, adjusts the server's limits (the flags of
	// serve) before it listens.
	ConfigureServer func(*server.Server)

	// Audit integrates the audit log and signs checkpoints in the
	// background, as a hub must. Only a benchmark that shows what the log
	// costs turns it off (NoAuditIntegration).
	NoAuditIntegration bool

	Logger *slog.Logger // default slog.Default()

	// Routed, if set, is called after each report's routing commits (for
	// metrics and benchmarks).
	Routed func(reportID int64)
	// TriageWorkers is how many reports are triaged and routed at once;
	// default Store.DefaultWorkers().
	TriageWorkers int

	// PublicURL is the hub's address as the agencies reach it, for the
	// links that notifications carry; default http://Addr (which must
	// then be on loopback: notify.ParseLinks wants https elsewhere).
	PublicURL string
	// SMTP is the relay that e-mail notifications go through. Without an
	// address every e-mail notification is recorded as failed, saying so.
	SMTP notify.MailerConfig
	// WebhookTimeout bounds one webhook post; default 15 seconds.
	WebhookTimeout time.Duration
	// WebhookTLS is the webhook client's TLS configuration; nil uses the
	// system roots. Tests and benchmarks give their receiver's.
	WebhookTLS *tls.Config
	// WebhookDial, if set, makes the webhook client's connections
	// (notify.WebhookConfig.DialContext): the demo's receiver.
	WebhookDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Clock is the hub's clock for deadlines, escalation and sessions;
	// default guardian.SystemClock. Tests move it.
	Clock guardian.Clock
	// ConfigureAPI, if set, adjusts the partner API's limits and policies
	// before it opens.
	ConfigureAPI func(*api.Handler)
	// Demo is guardian demo's mode: people sign in with the password
	// alone and every web page carries the DEMO banner. Open refuses it
	// unless the store was created by guardian demo (IsDemo).
	Demo bool
	// Mailbox, if set, is shown to the hub's staff at /hub/mail: the
	// demo's SMTP catcher.
	Mailbox web.Mailbox
}

// Hub is a running hub.
type Hub struct {
	Store    *sqlstore.Store
	Evidence *evidence.Store
	Server   *server.Server
	AuditLog *auditlog.Log
	Pipeline *jobs.Pipeline
	Network  *NetworkReloader
	API      *api.Handler
	Web      *web.Handler

	cert    *server.Certificate // nil without TLS
	logger  *slog.Logger
	closers []func(ctx context.Context) error
}

// onClose registers fn to run when the hub closes, before everything
// registered earlier.
func (h *Hub) onClose(fn func(ctx context.Context) error) {
	h.closers = append(h.closers, fn)
}

// Close stops what Open started, newest first: the listener (requests in
// flight get until ctx ends), the background work, the pipeline, the
// stores; last, the final events go into a checkpoint.
func (h *Hub) Close(ctx context.Context) error {
	var errs []error
	for i := len(h.closers) - 1; i >= 0; i-- {
		errs = append(errs, h.closers[i](ctx))
	}
	h.closers = nil
	return errors.Join(errs...)
}

// URL returns the base URL the hub serves on.
func (h *Hub) URL() string { return h.Server.URL() }

// Open starts every part of the hub in order, binding the listener last.
func Open(ctx context.Context, cfg Config) (_ *Hub, err error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h := &Hub{logger: logger}
	defer func() {
		if err != nil {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if cerr := h.Close(closeCtx); cerr != nil {
				logger.Error("stop after failed start", slog.Any("error", cerr))
			}
		}
	}()

	// The network file is read before the store is opened: a hub must
	// not accept reports it cannot route, and a start refused for want
	// of one leaves no new database behind.
	reloader, err := ReadNetwork(NetworkPath(cfg.Network, cfg.Store.Data))
	if err != nil {
		return nil, err
	}
	// The data directory is made private, and a database that others may
	// read is refused, like the key files.
	if err := cfg.Store.MakeDataDir(logger); err != nil {
		return nil, err
	}
	if err := cfg.Store.CheckPrivate(); err != nil {
		return nil, err
	}

	// The master key comes before the store, which seals and opens report
	// documents with it.
	mk, err := loadMasterKey(ctx, cfg.MasterKeyFile, cfg.Store.Data, func(ctx context.Context) (bool, error) {
		return storeHoldsReports(ctx, cfg.Store, cfg.Migrate, logger)
	})
	if err != nil {
		return nil, err
	}

	// The store is given the referral hook when it opens: a store that
	// can deliver a referral cannot forget to notify the agency or
	// schedule its escalation. (A finished report needs no hook: the
	// store queues it for routing itself.)
	enq, err := jobs.NewEnqueuer(cfg.Store.RiverDriver(nil))
	if err != nil {
		return nil, fmt.Errorf("delivery jobs: %w", err)
	}
	store, err := cfg.Store.Open(ctx, sqlstore.Options{Migrate: cfg.Migrate, Logger: logger, Now: cfg.Clock,
		OnReferral: enq.OnReferral, Sealer: crypto.NewDocumentSealer(mk)})
	if err != nil {
		return nil, openStoreError(err)
	}
	h.Store = store
	h.onClose(func(context.Context) error { return store.Close() })
	if cfg.Demo {
		if demo, err := store.IsDemo(ctx); err != nil {
			return nil, err
		} else if !demo {
			return nil, errors.New("demo mode needs a store created by guardian demo: this one was not")
		}
	}
	river := cfg.Store.RiverDriver(store.DB())
	if err := jobs.Migrate(ctx, river, logger); err != nil {
		return nil, fmt.Errorf("triage pipeline: %w", err)
	}
	if n, err := jobs.AdoptTriageJobs(ctx, river, store); err != nil {
		return nil, fmt.Errorf("triage pipeline: %w", err)
	} else if n > 0 {
		logger.Info("River's triage jobs moved to the routing queue", slog.Int("reports", n))
	}

	h.Network = &NetworkReloader{r: reloader, store: store, logger: logger}
	if err := h.Network.record(ctx, guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian serve"}, "start"); err != nil {
		return nil, err
	}
	geoDB, closeGeo, err := OpenGeo(cfg.GeoIP)
	if err != nil {
		return nil, err
	}
	h.onClose(func(context.Context) error { return closeGeo() })

	if h.Evidence, err = openEvidence(ctx, cfg.Store.Data, store, logger); err != nil {
		return nil, err
	}
	h.onClose(func(context.Context) error { return h.Evidence.Close() })

	signer, vkey, err := LoadAuditKey(cfg.Store.Data, cfg.AuditOrigin)
	if err != nil {
		return nil, err
	}
	h.AuditLog = auditlog.New(store, signer, signer.Name(), logger)
	// A key other than the one the database's log was signed with must stop
	// the hub here, not fail in the background every 250 ms.
	if err := h.AuditLog.Check(ctx); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if _, err := h.AuditLog.Integrate(ctx); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// Runs last of all at close: the last events of this process go into
	// a checkpoint before it leaves.
	h.onClose(func(ctx context.Context) error {
		if _, err := h.AuditLog.Integrate(ctx); err != nil {
			return fmt.Errorf("final audit integration: %w", err)
		}
		return nil
	})

	// The PDQ index of the hash lists, loaded now so that the first report
	// does not wait for it; the matcher follows later imports itself.
	known, err := hashlist.NewMatcher(store, pdq.MatchDistance)
	if err != nil {
		return nil, err
	}
	lists, pdqEntries, err := known.Refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("hash lists: %w", err)
	}
	logger.Info("hash lists loaded", slog.Int("lists", lists), slog.Int("pdqEntries", pdqEntries))

	delivery, err := deliveryConfig(cfg, store, h.Network, mk, logger)
	if err != nil {
		return nil, err
	}
	h.Pipeline, err = jobs.NewPipeline(jobs.PipelineConfig{
		Driver:   river,
		Queue:    store,
		Router:   newRouter(store, h.Network, geoDB, cfg.Routed, known),
		Delivery: delivery,
		Logger:   logger,
		Workers:  cmp.Or(cfg.TriageWorkers, cfg.Store.DefaultWorkers()),
		// Notifications, digests and escalations, beside triage.
		DeliveryWorkers: cfg.Store.DefaultWorkers(),
	})
	if err != nil {
		return nil, fmt.Errorf("triage pipeline: %w", err)
	}
	if err := h.Pipeline.Start(ctx); err != nil {
		return nil, fmt.Errorf("triage pipeline: %w", err)
	}
	h.onClose(h.Pipeline.Stop)

	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	expirer := &jobs.Expirer{Store: store, Evidence: h.Evidence, Logger: logger}
	wg.Go(func() { expirer.Run(bg) })
	if !cfg.NoAuditIntegration {
		wg.Go(func() { h.AuditLog.Run(bg) })
	}
	h.onClose(func(context.Context) error { stopBackground(); wg.Wait(); return nil })

	srv := server.New(store, h.Evidence, mk)
	srv.ReloadNetwork = h.Network.Reload
	srv.AuditLog, srv.AuditVerifierKey, srv.Tokens = h.AuditLog, vkey, store
	srv.Logger = logger
	srv.Addr = cfg.Addr
	if srv.Addr == "" {
		srv.Addr = "127.0.0.1:8080"
	}
	if cfg.Prefix != "" {
		srv.Prefix = cfg.Prefix
	}
	if cfg.MaxUploadSize > 0 {
		srv.MaxUploadSize = cfg.MaxUploadSize
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
		}
		if h.cert, err = server.LoadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, err
		}
		srv.TLS = h.cert
	}
	if cfg.ConfigureServer != nil {
		cfg.ConfigureServer(srv)
	}

	// The partner API shares the listener; it authenticates its own
	// callers (people and partners' tokens) and asks package access.
	h.API = &api.Handler{Store: store, Routing: store, Delivery: store, Users: store, Access: store, HashLists: store,
		Evidence: h.Evidence, MasterKey: mk, Network: h.Network.r.Network, Now: cfg.Clock,
		Reroute: h.Pipeline.Reroute, Logger: logger, SecureCookies: srv.TLS != nil, SkipSecondFactor: cfg.Demo}
	if cfg.ConfigureAPI != nil {
		cfg.ConfigureAPI(h.API)
	}
	if err := h.API.Open(); err != nil {
		return nil, err
	}
	// Registered before the server's close, so it runs after it: the
	// last requests' failed sign-ins are counted too.
	h.onClose(h.API.Close)
	srv.API = h.API
	// The web pages are served through the API's chain and services.
	h.Web = &web.Handler{API: h.API, Users: store, Passkeys: store, Audit: store, Log: h.AuditLog, AuditVerifierKey: vkey, Demo: cfg.Demo, Mailbox: cfg.Mailbox,
		GeoAttribution: geoAttribution(cfg.GeoIP),
		SecureCookies:  srv.TLS != nil, Logger: logger}
	if err := h.Web.Open(); err != nil {
		return nil, err
	}
	srv.Pages = h.Web
	if err := srv.Open(); err != nil {
		return nil, err
	}
	h.Server = srv
	h.onClose(srv.Close)
	if rp, err := relyingParty(cfg.PublicURL, srv.URL()); err != nil {
		logger.Warn("passkeys are off", slog.Any("error", err))
	} else {
		h.Web.SetRelyingParty(rp)
	}

	logger.Info("guardian is serving", slog.String("url", srv.URL()), slog.String("intake", srv.URL()+srv.Prefix))
	return h, nil
}

// deliveryConfig is what the delivery jobs (notifications, digests,
// escalation) need: the stores, the network, the SMTP relay, the webhook
// client and the links.
func deliveryConfig(cfg Config, store *sqlstore.Store, nr *NetworkReloader, mk *crypto.MasterKey, logger *slog.Logger) (*jobs.DeliveryConfig, error) {
	links, err := publicLinks(cfg, logger)
	if err != nil {
		return nil, err
	}
	var mailer *notify.Mailer
	if cfg.SMTP.Addr != "" {
		if mailer, err = notify.NewMailer(cfg.SMTP); err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
	} else {
		logger.Warn("no SMTP relay configured (--smtp-addr): e-mail notifications will be recorded as failed")
	}
	return &jobs.DeliveryConfig{Deliveries: store, Secrets: store, Users: store, Network: nr.r.Network,
		Mailer: mailer, Webhooks: notify.NewWebhookClient(notify.WebhookConfig{Timeout: cfg.WebhookTimeout, TLSConfig: cfg.WebhookTLS, DialContext: cfg.WebhookDial}),
		Links: links, MasterKey: mk, Clock: cfg.Clock, Logger: logger}, nil
}

// publicLinks makes the links of notifications from cfg.PublicURL, or, when
// it is not set, from the listen address. A listen address that cannot be a
// link (plain HTTP beyond loopback, which Open already warns about) gives
// links to localhost, with a warning: the hub still serves, and the
// operator learns to set --public-url.
func publicLinks(cfg Config, logger *slog.Logger) (notify.Links, error) {
	if cfg.PublicURL != "" {
		links, err := notify.ParseLinks(cfg.PublicURL)
		if err != nil {
			return notify.Links{}, fmt.Errorf("--public-url: %w", err)
		}
		return links, nil
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return notify.Links{}, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "localhost"
	}
	if links, err := notify.ParseLinks(scheme + "://" + net.JoinHostPort(host, port)); err == nil {
		return links, nil
	}
	logger.Warn("notifications will link to localhost: set --public-url to the address agencies reach the hub at",
		slog.String("addr", addr))
	return notify.ParseLinks("http://" + net.JoinHostPort("localhost", port))
}

// openStoreError adds to an error of opening the store what to do about an
// outdated schema.
func openStoreError(err error) error {
	if errors.Is(err, guardian.ErrSchemaOutdated) {
		return fmt.Errorf("%w\n(the store needs migrating: run 'guardian migrate' or start with --migrate)", err)
	}
	return fmt.Errorf("open store: %w", err)
}

// openEvidence opens the evidence store in data and removes the blobs no
// file row names. Before serving nothing can be mid-upload, so every such
// blob is a leftover of a crash or of an interrupted expiry.
func openEvidence(ctx context.Context, data string, store guardian.Store, logger *slog.Logger) (*evidence.Store, error) {
	ev := evidence.NewStore(filepath.Join(data, "evidence"))
	if err := ev.Open(); err != nil {
		return nil, fmt.Errorf("open evidence store: %w", err)
	}
	n, err := jobs.CollectOrphanBlobs(ctx, store, ev)
	if err != nil {
		ev.Close()
		return nil, fmt.Errorf("collect orphan blobs: %w", err)
	}
	if n > 0 {
		logger.Info("removed orphan evidence blobs", slog.Int("count", n))
	}
	return ev, nil
}

// OpenGeo opens a MaxMind-format country database, or the embedded country
// table when path is empty.
func OpenGeo(path string) (geo.Resolver, func() error, error) {
	if path == "" {
		return geo.Embedded(), func() error { return nil }, nil
	}
	db, err := geo.OpenMMDB(path)
	if err != nil {
		return nil, nil, fmt.Errorf("geoip database: %w", err)
	}
	return db, db.Close, nil
}

// newRouter is the routing service the pipeline's jobs call.
func newRouter(store *sqlstore.Store, nr *NetworkReloader, g geo.Resolver, routed func(int64), known *hashlist.Matcher) *routing.Service {
	return &routing.Service{Store: store, Network: nr.r.Network, Geo: g, Routed: routed, Known: known}
}

// Reload re-reads the network file and, with TLS, the certificate pair, for
// actor. A file that fails to load leaves what is in force and is logged
// (and, for the network, recorded).
func (h *Hub) Reload(ctx context.Context, actor guardian.Actor) {
	h.Network.Reload(ctx, actor)
	if h.cert == nil {
		return
	}
	if err := h.cert.Reload(); err != nil {
		h.logger.Error("TLS certificate refused; the one in use stays", slog.Any("error", err))
		return
	}
	h.logger.Info("TLS certificate reloaded", slog.String("cert", h.cert.CertFile))
}

// NotifySIGHUP starts catching SIGHUP, whose default action ends the
// process, and returns the channel that receives it: a process calls it
// before Open, so that a SIGHUP while the hub opens waits for
// ReloadOnSIGHUP instead of killing the hub.
func NotifySIGHUP() chan os.Signal {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	return sig
}

// ReloadOnSIGHUP calls Reload on every SIGHUP that sig (from NotifySIGHUP)
// receives, one received while the hub opened included, until ctx ends or
// stop is called, which stops catching SIGHUP.
func (h *Hub) ReloadOnSIGHUP(ctx context.Context, sig chan os.Signal) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				h.Reload(ctx, guardian.Actor{Kind: guardian.ActorSystem, Name: "SIGHUP"})
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		<-done
	}
}

// relyingParty makes the passkeys' relying party from the hub's public
// URL, or, without one, from the loopback address it listens on, as
// "localhost": WebAuthn takes no IP address as its id.
func relyingParty(publicURL, listening string) (*passkey.RelyingParty, error) {
	base := publicURL
	if base == "" {
		u, err := url.Parse(listening)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && !ip.IsLoopback() {
			return nil, fmt.Errorf("the hub listens on %s: passkeys need --public-url with a host name", u.Host)
		}
		base = u.Scheme + "://localhost:" + u.Port()
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("public URL: %w", err)
	}
	return passkey.New(u.Hostname(), []string{u.Scheme + "://" + u.Host}, "Guardian")
}

// geoAttribution is the credit the IP geolocation data asks pages to
// show: the embedded table's (DB-IP's licence requires it); a database of
// the operator's own carries its own terms.
func geoAttribution(path string) string {
	if path == "" {
		return geo.Embedded().Info().Attribution
	}
	return ""
}
