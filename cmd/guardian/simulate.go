package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/internal/simulate"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/sqlstore"
)

// SimulateCommand drives a hub with synthetic traffic through its real
// APIs and measures it end to end (package internal/simulate).
type SimulateCommand struct {
	Stdout, Stderr io.Writer
}

const simulateUsage = `usage: guardian simulate --url URL (--reporter NAME:PASSWORD ... | --data DIR --reporters N)
                         [--rate R] (--count N | --duration D) [--seed S]
                         [--agency-bots [--agency-token AGENCY:TOKEN ... --hub-token TOKEN]]
                         [--webhook-listen ADDR [--webhook-secret AGENCY:SECRET ...]] [--record FILE]`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// Run handles "simulate".
func (c *SimulateCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("guardian simulate", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	var store StoreConfig
	var netCfg NetworkConfig
	fs.StringVar(&store.Data, "data", "", "data directory of the hub's store, for --reporters, and for --agency-bots and webhook secrets without tokens given (GUARDIAN_DATA)")
	fs.StringVar(&store.Database, "database", "", "with --data: empty for SQLite inside it, or the postgres:// URL of the hub's store (GUARDIAN_DATABASE)")
	netCfg.register(fs)
	keyFile := masterKeyFlag(fs, "the webhook secrets")
	hubURL := fs.String("url", "", "the hub's base URL, such as http://127.0.0.1:8080 (GUARDIAN_URL)")
	var reporterFlags, agencyTokens, webhookSecrets listFlag
	fs.Var(&reporterFlags, "reporter", "a reporting service's NAME:PASSWORD (repeatable); reports are shared among them in turn")
	reporters := fs.Int("reporters", 0, "with --data: register N reporting services for this run, as 'guardian reporter add' does")
	rate := fs.Float64("rate", 10, "mean reports per second")
	count := fs.Int("count", 0, "reports to send (0: until --duration)")
	duration := fs.Duration("duration", 0, "how long to send (0: until --count)")
	seed := fs.Uint64("seed", 1, "the traffic's seed: the same seed sends the same reports in the same bursts")
	burst := fs.Int("burst", 5, "the most reports sent at once in a burst")
	senders := fs.Int("senders", 64, "the most reports in flight at once")
	suspects := fs.Int("suspects", 10000, "reported users per country, drawn with a Zipf law so that some recur")
	bots := fs.Bool("agency-bots", false, "simulate the agencies: acknowledge and answer referrals through the partner API")
	fs.Var(&agencyTokens, "agency-token", "an agency bot's AGENCY:TOKEN, an API token of the agency (repeatable; without --data)")
	hubToken := fs.String("hub-token", "", "a hub analyst's API token, with which a bot confirms referrals held for confirmation (without --data)")
	ackDelay := fs.Duration("ack-delay", 2*time.Second, "mean delay before a bot acknowledges (or confirms) a referral it has seen, drawn from an exponential law; 0 for at once")
	replyShare := fs.Float64("reply-share", 0.2, "share of acknowledged referrals a bot answers with a message (negative for none)")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often a bot lists its inbox (a webhook makes it look at once)")
	webhookListen := fs.String("webhook-listen", "", "address of an HTTPS receiver for the hub's webhooks, such as 127.0.0.1:9443 (see docs/operations.md)")
	webhookDir := fs.String("webhook-dir", "", "directory of the receiver's certificate; default simulate-webhook in --data, or ./guardian-simulate-webhook")
	fs.Var(&webhookSecrets, "webhook-secret", "AGENCY:whsec_... to verify an agency's webhooks (repeatable; with --data the simulator sets them itself)")
	webhookSetup := fs.Bool("webhook-setup", false, "make the receiver's certificate, print how to point the hub at it, and exit")
	drain := fs.Duration("drain", time.Minute, "with bots: the longest wait, once every report is sent, for their referrals to be acknowledged")
	quiet := fs.Duration("quiet", 10*time.Second, "with bots: stop waiting once nothing has happened for this long")
	trackFor := fs.Duration("track-for", 5*time.Minute, "how long a finished report is followed waiting for its referrals")
	recordPath := fs.String("record", "", "write a JSON line to this file for each report whose finish the hub acknowledged and each webhook received (id, body SHA-256), for checks after the run (the soak check)")
	every := fs.Duration("progress-every", 5*time.Second, "how often to print a progress line to stderr (0: never)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	pprofAddr := fs.String("pprof", "", "loopback address (127.0.0.1:PORT) to serve Go's profiling endpoints on, /debug/pprof/, to profile the simulator itself")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	usage := func(msg string) error { return usageError{cmd: "simulate", msg: msg + "\n" + simulateUsage} }
	if fs.NArg() > 0 {
		return usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	logger, err := newLogger(c.Stderr, *logLevel, "text")
	if err != nil {
		return usageError{cmd: "simulate", msg: err.Error()}
	}
	certDir := *webhookDir
	if certDir == "" {
		certDir = "guardian-simulate-webhook"
		if store.Data != "" {
			certDir = filepath.Join(store.Data, "simulate-webhook")
		}
	}
	if *webhookSetup {
		return c.webhookSetup(*webhookListen, certDir, store.Data, netCfg)
	}

	switch {
	case *hubURL == "":
		return usage("--url is required")
	case *rate <= 0:
		return usage("--rate must be positive")
	case *count <= 0 && *duration <= 0:
		return usage("give --count or --duration")
	case *count < 0 || *duration < 0:
		return usage("--count and --duration cannot be negative")
	case len(reporterFlags) == 0 && *reporters <= 0:
		return usage("give --reporter NAME:PASSWORD, or --reporters N with --data")
	case *reporters > 0 && store.Data == "":
		return usage("--reporters needs --data: the simulator registers them in the hub's store")
	case *reporters > 1000:
		return usage("--reporters is at most 1000")
	case !*bots && (len(agencyTokens) > 0 || *hubToken != ""):
		return usage("--agency-token and --hub-token need --agency-bots")
	case *bots && store.Data == "" && len(agencyTokens) == 0 && *hubToken == "":
		return usage("--agency-bots needs --data (to make the bots' API tokens) or --agency-token AGENCY:TOKEN")
	}
	if u, err := url.Parse(*hubURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usage(fmt.Sprintf("--url %q is not an http:// or https:// URL", *hubURL))
	}
	if *pprofAddr != "" {
		if err := checkLoopback(*pprofAddr); err != nil {
			return usage("--pprof: " + err.Error())
		}
		stop, err := servePprof(*pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	cfg := simulate.Config{
		URL: *hubURL, Rate: *rate, Count: *count, Duration: *duration, Seed: *seed, Burst: *burst,
		Senders: *senders, Suspects: *suspects, AckDelay: *ackDelay, ReplyShare: *replyShare, Poll: *poll,
		WebhookListen: *webhookListen, WebhookCertDir: certDir, WebhookSecrets: map[string]notify.WebhookSecret{},
		Drain: *drain, Quiet: *quiet, TrackFor: *trackFor, ProgressEvery: *every, Logger: logger,
	}
	if *every > 0 {
		cfg.Progress = c.Stderr
	}
	if *replyShare == 0 {
		cfg.ReplyShare = -1 // the engine's zero is its default
	}
	for _, s := range reporterFlags {
		name, password, ok := strings.Cut(s, ":")
		if !ok || name == "" || password == "" {
			return usage(fmt.Sprintf("--reporter %q is not NAME:PASSWORD", s))
		}
		cfg.Reporters = append(cfg.Reporters, simulate.Credentials{Name: name, Password: password})
	}
	for _, s := range agencyTokens {
		agency, token, ok := strings.Cut(s, ":")
		if !ok || agency == "" || token == "" {
			return usage(fmt.Sprintf("--agency-token %q is not AGENCY:TOKEN", s))
		}
		cfg.Agencies = append(cfg.Agencies, simulate.AgencyBot{Agency: agency, Token: token})
	}
	cfg.HubToken = *hubToken
	for _, s := range webhookSecrets {
		agency, secret, ok := strings.Cut(s, ":")
		if !ok {
			// Never echo the value: it may be all secret.
			return usage("--webhook-secret is AGENCY:whsec_...")
		}
		ws, err := notify.ParseWebhookSecret(secret)
		if err != nil {
			return usage(fmt.Sprintf("--webhook-secret for %q: %v", guardian.Clip(agency, 60), err))
		}
		cfg.WebhookSecrets[agency] = ws
	}

	// With --data, the simulator prepares its own reporters, bots and
	// webhook secrets in the hub's store, and revokes the bots' tokens
	// when it is done.
	if store.Data != "" {
		prep := &simulatePrep{store: store, network: netCfg, masterKeyFile: *keyFile, stderr: c.Stderr,
			run: "sim-" + strconv.FormatInt(time.Now().Unix(), 36)}
		if err := prep.prepare(ctx, &cfg, *reporters, *bots && len(agencyTokens) == 0 && *hubToken == ""); err != nil {
			return err
		}
		defer prep.cleanup(context.WithoutCancel(ctx))
	}

	var record *recordFile
	if *recordPath != "" {
		f, err := os.Create(*recordPath)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		record = &recordFile{f: f}
		cfg.Record = record
	}

	fmt.Fprintf(c.Stderr, "simulate: %s, %d reporting services, %.1f reports/s, seed %d", *hubURL, len(cfg.Reporters), *rate, *seed)
	if len(cfg.Agencies) > 0 || cfg.HubToken != "" {
		fmt.Fprintf(c.Stderr, ", %d agency bots", len(cfg.Agencies))
		if cfg.HubToken != "" {
			fmt.Fprint(c.Stderr, " and a hub analyst bot")
		}
	}
	if *webhookListen != "" {
		fmt.Fprintf(c.Stderr, ", webhooks at https://%s%s{agency}", *webhookListen, simulate.WebhookPath)
	}
	fmt.Fprintln(c.Stderr)
	sum, err := simulate.Run(ctx, cfg)
	if record != nil {
		if cerr := record.close(); cerr != nil && err == nil {
			err = fmt.Errorf("--record %s: %w", *recordPath, cerr)
		}
	}
	if err != nil {
		return err
	}
	sum.Print(c.Stdout)
	if ctx.Err() != nil {
		fmt.Fprintln(c.Stdout, "(interrupted: the figures cover what was done)")
	}
	return nil
}

// recordFile is the --record file: it keeps the first write error, so
// that a record with a hole in it fails the command instead of passing
// for complete.
type recordFile struct {
	f   *os.File
	err error
}

func (r *recordFile) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.f.Write(p)
	r.err = err
	return n, err
}

func (r *recordFile) close() error {
	err := r.f.Close()
	if r.err != nil {
		return r.err
	}
	return err
}

// webhookSetup makes the receiver's certificate and prints how to point a
// hub at it.
func (c *SimulateCommand) webhookSetup(listen, certDir, data string, nc NetworkConfig) error {
	if listen == "" {
		return usageError{cmd: "simulate", msg: "--webhook-setup needs --webhook-listen ADDR (the address the hub will post to)"}
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usageError{cmd: "simulate", msg: fmt.Sprintf("--webhook-listen %q: %v", listen, err)}
	}
	cert, err := simulate.EnsureWebhookCert(certDir, host)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(cert)
	fmt.Fprintf(c.Stdout, "certificate: %s\n", abs)
	fmt.Fprintf(c.Stdout, "1. Give each agency whose webhooks are to be measured, in the hub's network file:\n")
	fmt.Fprintf(c.Stdout, "     duty:\n       webhook: https://%s%sAGENCY-ID\n", listen, simulate.WebhookPath)
	fmt.Fprintf(c.Stdout, "2. Start the hub trusting the receiver's certificate:\n     SSL_CERT_FILE=%s guardian serve ...\n", abs)
	fmt.Fprintf(c.Stdout, "3. Run guardian simulate with --webhook-listen %s", listen)
	if data != "" {
		fmt.Fprintf(c.Stdout, " --data %s (it sets the agencies' webhook secrets)\n", data)
	} else {
		fmt.Fprint(c.Stdout, " and --webhook-secret AGENCY:SECRET for each (guardian webhook secret AGENCY prints one)\n")
	}
	return nil
}

// simulatePrep registers what a run needs in the hub's store.
type simulatePrep struct {
	store         StoreConfig
	network       NetworkConfig
	masterKeyFile string
	stderr        io.Writer
	run           string // prefix of the names it creates

	tokens []*guardian.APIToken // the API tokens made, revoked at the end
}

func (p *simulatePrep) prepare(ctx context.Context, cfg *simulate.Config, reporters int, bots bool) error {
	if reporters == 0 && !bots && cfg.WebhookListen == "" {
		return nil
	}
	n, path, err := loadNetwork(p.network, p.store.Data)
	if err != nil {
		return err
	}
	st, err := p.store.openAdmin(ctx, p.stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	for i := 1; i <= reporters; i++ {
		name := fmt.Sprintf("%s-%d", p.run, i)
		password := crypto.GeneratePassword()
		hash, err := crypto.HashPassword(password)
		if err != nil {
			return err
		}
		ev := adminEvent("guardian simulate", guardian.CategoryPermission, "reporter.create")
		ev.ObjectKind = "reporter"
		if err := st.CreateReporter(ctx, &guardian.Reporter{Name: name, PasswordHash: hash}, ev); err != nil {
			return fmt.Errorf("create reporter %s: %w", name, err)
		}
		cfg.Reporters = append(cfg.Reporters, simulate.Credentials{Name: name, Password: password})
	}
	if bots {
		for _, a := range n.Agencies {
			role := guardian.RoleAgencyInvestigator
			if a.Kind == guardian.AgencyLiaison {
				role = guardian.RoleLiaisonOfficer
			}
			token, err := p.token(ctx, st, a.ID, guardian.AgencyOrganisation(a.ID), role)
			if err != nil {
				return err
			}
			cfg.Agencies = append(cfg.Agencies, simulate.AgencyBot{Agency: a.ID, Token: token})
		}
		token, err := p.token(ctx, st, "hub", guardian.HubOrganisation(n.Hub.ID), guardian.RoleHubAnalyst)
		if err != nil {
			return err
		}
		cfg.HubToken = token
	}
	if cfg.WebhookListen != "" {
		if err := p.webhookSecrets(ctx, st, n, path, cfg); err != nil {
			return err
		}
	}
	return nil
}

// token makes an API token for a bot, for a day.
func (p *simulatePrep) token(ctx context.Context, st *sqlstore.Store, name string, o guardian.Organisation, role guardian.Role) (string, error) {
	secret, hash := identity.GenerateAPIToken()
	t := &guardian.APIToken{Name: p.run + "-" + name, Hash: hash, Organisation: o, Role: role, ExpiresAt: time.Now().UTC().Add(24 * time.Hour)}
	ev := adminEvent("guardian simulate", guardian.CategoryPermission, "token.create")
	ev.Reason = string(role)
	if err := st.CreateAPIToken(ctx, t, ev); err != nil {
		return "", fmt.Errorf("create the API token of the %s bot: %w", name, err)
	}
	p.tokens = append(p.tokens, t)
	return secret, nil
}

// webhookSecrets gives a new webhook secret to every agency whose webhook,
// in the network file, is the simulator's receiver, and keeps it to
// verify what arrives.
func (p *simulatePrep) webhookSecrets(ctx context.Context, st *sqlstore.Store, n *guardian.Network, path string, cfg *simulate.Config) error {
	var ours []*guardian.Agency
	for _, a := range n.Agencies {
		u, err := url.Parse(a.Duty.Webhook)
		if err == nil && a.Duty.Webhook != "" && u.Host == cfg.WebhookListen && strings.HasPrefix(u.Path, simulate.WebhookPath) {
			ours = append(ours, a)
		}
	}
	if len(ours) == 0 {
		fmt.Fprintf(p.stderr, "simulate: no agency of %s has its webhook at https://%s%s: no webhook will arrive (see guardian simulate --webhook-setup)\n",
			path, cfg.WebhookListen, simulate.WebhookPath)
		return nil
	}
	mk, err := hub.LoadMasterKey(p.masterKeyFile, p.store.Data)
	if err != nil {
		return err
	}
	for _, a := range ours {
		if _, given := cfg.WebhookSecrets[a.ID]; given {
			continue
		}
		secret := notify.GenerateWebhookSecret()
		if err := st.SetWebhookSecret(ctx, a.ID, notify.SealWebhookSecret(mk, a.ID, secret), adminEvent("guardian simulate", guardian.CategoryPermission, "webhook.secret")); err != nil {
			return fmt.Errorf("set the webhook secret of %s: %w", a.ID, err)
		}
		cfg.WebhookSecrets[a.ID] = secret
	}
	fmt.Fprintf(p.stderr, "simulate: new webhook secrets for %d agencies whose webhook is the simulator's\n", len(ours))
	return nil
}

// cleanup revokes the bots' API tokens.
func (p *simulatePrep) cleanup(ctx context.Context) {
	if len(p.tokens) == 0 {
		return
	}
	logger := stderrLogger(p.stderr)
	st, err := p.store.openAdmin(ctx, p.stderr)
	if err != nil {
		logger.Warn("cannot revoke the bots' API tokens; they expire in a day", slog.Any("error", err))
		return
	}
	defer st.Close()
	for _, t := range p.tokens {
		if err := st.RevokeAPIToken(ctx, t.ID, adminEvent("guardian simulate", guardian.CategoryPermission, "token.revoke")); err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("cannot revoke a bot's API token; it expires in a day", slog.String("token", t.Name), slog.Any("error", err))
		}
	}
}
