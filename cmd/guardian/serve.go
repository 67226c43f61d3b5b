package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/notify"
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
	TLSCert       string
	TLSKey        string
	Limits        serveLimits
	Notify        serveNotify
	TriageWorkers int
	Pprof         string // loopback address of the profiling endpoints; empty: none

	// Ready, if set, receives the server's base URL once it listens.
	Ready func(url string)

	// configure, if set, adjusts the hub's configuration after the flags
	// (guardian demo's mode, mail catcher and mailbox): not a flag, so
	// that no serve command line can turn demo mode on.
	configure func(*hub.Config)
}

// maxTriageWorkers bounds --triage-workers: past a few per core, workers
// only contend for the store's connections (docs/routing.md).
const maxTriageWorkers = 64

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
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS with, TLS 1.2 and 1.3 only; re-read on SIGHUP (GUARDIAN_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert (GUARDIAN_TLS_KEY)")
	c.Limits.register(fs)
	c.Notify.register(fs)
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error (GUARDIAN_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json (GUARDIAN_LOG_FORMAT)")
	fs.IntVar(&c.TriageWorkers, "triage-workers", 0, "reports triaged and routed at once; 0: by the store, 16 on SQLite, 4 on PostgreSQL (GUARDIAN_TRIAGE_WORKERS)")
	fs.StringVar(&c.Pprof, "pprof", "", "loopback address (127.0.0.1:PORT) to serve Go's profiling endpoints on, /debug/pprof/; off by default (GUARDIAN_PPROF)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{cmd: "serve", msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if c.MaxUploadSize <= 0 {
		return usageError{cmd: "serve", msg: "--max-upload-size must be positive"}
	}
	if c.TriageWorkers < 0 || c.TriageWorkers > maxTriageWorkers {
		return usageError{cmd: "serve", msg: fmt.Sprintf("--triage-workers must be 0 (by the store) to %d", maxTriageWorkers)}
	}
	if c.Pprof != "" {
		if err := checkLoopback(c.Pprof); err != nil {
			return usageError{cmd: "serve", msg: "--pprof: " + err.Error()}
		}
	}
	logger, err := newLogger(c.Stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return usageError{cmd: "serve", msg: err.Error()}
	}
	smtp, err := c.Notify.mailer()
	if err != nil {
		return err
	}
	cfg := hub.Config{
		Store:           c.Store.hub(),
		Migrate:         c.Migrate,
		Addr:            c.Addr,
		Prefix:          c.Prefix,
		MaxUploadSize:   c.MaxUploadSize,
		MasterKeyFile:   c.MasterKeyFile,
		AuditOrigin:     c.AuditOrigin,
		Network:         c.Network,
		GeoIP:           c.GeoIP,
		TLSCert:         c.TLSCert,
		TLSKey:          c.TLSKey,
		Logger:          logger,
		ConfigureServer: c.Limits.apply,
		PublicURL:       c.Notify.publicURL,
		SMTP:            smtp,
		WebhookTimeout:  c.Notify.webhookTimeout,
		TriageWorkers:   c.TriageWorkers,
	}
	if c.configure != nil {
		c.configure(&cfg)
	}
	// The profiling endpoints listen before the hub says it is serving,
	// so that whoever waits for that line finds them too.
	stopPprof := func() {}
	if c.Pprof != "" {
		if stopPprof, err = servePprof(c.Pprof, logger); err != nil {
			return err
		}
	}
	defer stopPprof()
	sighup := hub.NotifySIGHUP()
	defer signal.Stop(sighup)
	h, err := hub.Open(ctx, cfg)
	if err != nil {
		return err
	}
	stopSIGHUP := h.ReloadOnSIGHUP(ctx, sighup)
	logger.Info("guardian version", slog.String("version", Version()))
	if c.Ready != nil {
		c.Ready(h.URL())
	}
	<-ctx.Done()
	logger.Info("shutting down")
	stopSIGHUP()
	// Requests in flight get up to 30 seconds.
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return h.Close(closeCtx)
}

// stderrLogger is the logger of the administrative commands.
func stderrLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// serveNotify are the flags of notifications (docs/notifications.md): where
// links point, the SMTP relay and webhook timeouts. They live in flags and
// files, not in the network file, which every agency shares.
type serveNotify struct {
	publicURL                    string
	smtpAddr, smtpFrom, smtpUser string
	smtpPasswordFile             string
	smtpRequireTLS, smtpImplicit bool
	smtpTimeout, webhookTimeout  time.Duration
}

func (n *serveNotify) register(fs *flag.FlagSet) {
	fs.StringVar(&n.publicURL, "public-url", "", "the hub's address as agencies reach it, for the links in notifications; https (http only on loopback); default http://ADDR (GUARDIAN_PUBLIC_URL)")
	fs.StringVar(&n.smtpAddr, "smtp-addr", "", "SMTP relay host:port for e-mail notifications; without it they are recorded as failed (GUARDIAN_SMTP_ADDR)")
	fs.StringVar(&n.smtpFrom, "smtp-from", "", "sender address of notifications, e.g. guardian@hub.example.org (GUARDIAN_SMTP_FROM)")
	fs.StringVar(&n.smtpUser, "smtp-user", "", "user name for the relay's AUTH PLAIN, only ever sent over TLS (GUARDIAN_SMTP_USER)")
	fs.StringVar(&n.smtpPasswordFile, "smtp-password-file", "", "file holding the relay's password (GUARDIAN_SMTP_PASSWORD_FILE)")
	fs.BoolVar(&n.smtpRequireTLS, "smtp-require-tls", true, "refuse to send e-mail unless the relay offers STARTTLS (GUARDIAN_SMTP_REQUIRE_TLS)")
	fs.BoolVar(&n.smtpImplicit, "smtp-implicit-tls", false, "TLS from the first byte (SMTPS, port 465) instead of STARTTLS (GUARDIAN_SMTP_IMPLICIT_TLS)")
	fs.DurationVar(&n.smtpTimeout, "smtp-timeout", 30*time.Second, "bound on one e-mail's whole exchange with the relay (GUARDIAN_SMTP_TIMEOUT)")
	fs.DurationVar(&n.webhookTimeout, "webhook-timeout", 15*time.Second, "bound on one webhook post (GUARDIAN_WEBHOOK_TIMEOUT)")
}

// mailer returns the relay's configuration, reading the password file.
func (n *serveNotify) mailer() (notify.MailerConfig, error) {
	cfg := notify.MailerConfig{Addr: n.smtpAddr, From: n.smtpFrom, Username: n.smtpUser,
		RequireTLS: n.smtpRequireTLS, ImplicitTLS: n.smtpImplicit, Timeout: n.smtpTimeout}
	if n.smtpAddr != "" && n.smtpFrom == "" {
		return cfg, usageError{cmd: "serve", msg: "--smtp-addr needs --smtp-from"}
	}
	if n.smtpPasswordFile != "" {
		b, err := os.ReadFile(n.smtpPasswordFile)
		if err != nil {
			return cfg, fmt.Errorf("SMTP password: %w", err)
		}
		cfg.Password = strings.TrimRight(string(b), "\r\n")
	}
	return cfg, nil
}

// serveLimits are the flags of the server's fair-sharing and sign-in limits
// (docs/security.md); their defaults are the server's, which a large
// reporter sending at full speed does not meet.
type serveLimits struct {
	maxInFlight, perReporter, uploadsPerReporter, audit int
	minBodyRate                                         int64
	minBodyRateWindow                                   time.Duration
	lockAfter                                           int
	lockDuration                                        time.Duration
}

func (l *serveLimits) register(fs *flag.FlagSet) {
	fs.IntVar(&l.maxInFlight, "max-in-flight", server.DefaultMaxInFlight, "intake requests in flight, hub-wide, before 503 (GUARDIAN_MAX_IN_FLIGHT)")
	fs.IntVar(&l.perReporter, "max-in-flight-per-reporter", server.DefaultMaxInFlightPerReporter, "intake requests in flight per reporter (GUARDIAN_MAX_IN_FLIGHT_PER_REPORTER)")
	fs.IntVar(&l.uploadsPerReporter, "max-uploads-per-reporter", server.DefaultMaxUploadsPerReporter, "uploads in flight per reporter (GUARDIAN_MAX_UPLOADS_PER_REPORTER)")
	fs.IntVar(&l.audit, "max-in-flight-audit", server.DefaultMaxInFlightAudit, "/audit and /admin requests in flight, apart from the intake (GUARDIAN_MAX_IN_FLIGHT_AUDIT)")
	fs.Int64Var(&l.minBodyRate, "min-body-rate", server.DefaultMinBodyRate, "bytes per second a request body must keep up over each --min-body-rate-window, or be cut off; 0 turns it off (GUARDIAN_MIN_BODY_RATE)")
	fs.DurationVar(&l.minBodyRateWindow, "min-body-rate-window", server.DefaultMinBodyRateWindow, "window of --min-body-rate (GUARDIAN_MIN_BODY_RATE_WINDOW)")
	fs.IntVar(&l.lockAfter, "lock-after", server.DefaultLockAfter, "failed sign-ins in a row that lock a reporter account name (GUARDIAN_LOCK_AFTER)")
	fs.DurationVar(&l.lockDuration, "lock-duration", server.DefaultLockDuration, "how long such a lock lasts (GUARDIAN_LOCK_DURATION)")
}

// apply sets the limits on the server; Open refuses values that make no
// sense.
func (l *serveLimits) apply(s *server.Server) {
	s.MaxInFlight = l.maxInFlight
	s.MaxInFlightPerReporter = l.perReporter
	s.MaxUploadsPerReporter = l.uploadsPerReporter
	s.MaxInFlightAudit = l.audit
	s.MinBodyRate = l.minBodyRate
	s.MinBodyRateWindow = l.minBodyRateWindow
	s.LockAfter = l.lockAfter
	s.LockDuration = l.lockDuration
}
