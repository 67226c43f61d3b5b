package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/internal/demo"
	"github.com/guardian-network/guardian/internal/intaketest"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/web"
)

// demoOrigin names the demo hub's audit log in its checkpoints.
const demoOrigin = "demo-hub.example.org/audit"

// demoReporter is the reporting account the demo creates.
const demoReporter = "demo"

// demoLoginsFile keeps the demo people's passwords and TOTP secrets in the
// demo directory (mode 0600), since the store keeps only hashes and
// sealed secrets. For the demo only: real people's are shown once.
const demoLoginsFile = "demo-logins.json"

// demoMailFrom is the sender of the demo hub's notifications.
const demoMailFrom = "guardian@demo-hub.example.org"

// DemoCommand runs the whole network on one machine: a hub on SQLite in
// its own data directory, marked as a demo's (people sign in with the
// password alone; every page says DEMO), with the demo network, one person
// per role at the hub and at four agencies, an SMTP catcher whose mail the
// hub's pages show, and a simulated reporting service that submits
// synthetic reports through the intake API.
type DemoCommand struct {
	Stdout, Stderr io.Writer

	// Ready, if set, receives the hub's base URL once it listens and the
	// sign-in details are printed.
	Ready func(url string)
}

// demoPerson is one demo login, as kept in demoLoginsFile.
type demoPerson struct {
	Name         string        `json:"name"`
	Password     string        `json:"password"`
	TOTPSecret   string        `json:"totpSecret"` // base32, for an authenticator app
	Role         guardian.Role `json:"role"`
	Organisation string        `json:"organisation"` // hub:ID or agency:ID
	DisplayName  string        `json:"displayName"`
	Language     string        `json:"language"`
	TimeZone     string        `json:"timeZone"`
}

// demoPeople are the demo's people: every hub role, and the agencies'
// roles at the demo network's Paraguayan and German partners, its Buenos
// Aires liaison office and its domestic agency.
var demoPeople = []demoPerson{
	{Name: "hub-admin", Role: guardian.RoleHubAdmin, Organisation: "hub:demo-hub", DisplayName: "Hub administrator (demo)", Language: "en", TimeZone: "America/New_York"},
	{Name: "hub-analyst", Role: guardian.RoleHubAnalyst, Organisation: "hub:demo-hub", DisplayName: "Hub analyst (demo)", Language: "en", TimeZone: "America/New_York"},
	{Name: "hub-supervisor", Role: guardian.RoleHubSupervisor, Organisation: "hub:demo-hub", DisplayName: "Hub supervisor (demo)", Language: "en", TimeZone: "America/New_York"},
	{Name: "auditor", Role: guardian.RoleAuditor, Organisation: "hub:demo-hub", DisplayName: "Auditor (demo)", Language: "en", TimeZone: "America/New_York"},
	{Name: "py-investigator", Role: guardian.RoleAgencyInvestigator, Organisation: "agency:py-fiscalia-cyber", DisplayName: "Investigadora (demo)", Language: "es", TimeZone: "America/Asuncion"},
	{Name: "py-supervisor", Role: guardian.RoleAgencySupervisor, Organisation: "agency:py-fiscalia-cyber", DisplayName: "Supervisor (demo)", Language: "es", TimeZone: "America/Asuncion"},
	{Name: "de-investigator", Role: guardian.RoleAgencyInvestigator, Organisation: "agency:de-bka-cac", DisplayName: "Ermittlerin (demo)", Language: "de", TimeZone: "Europe/Berlin"},
	{Name: "ar-liaison", Role: guardian.RoleLiaisonOfficer, Organisation: "agency:lo-buenos-aires", DisplayName: "Oficial de enlace (demo)", Language: "es", TimeZone: "America/Argentina/Buenos_Aires"},
	{Name: "us-investigator", Role: guardian.RoleAgencyInvestigator, Organisation: "agency:us-federal-cac", DisplayName: "Investigator (demo)", Language: "en", TimeZone: "America/New_York"},
}

// Run prepares the demo store and serves until ctx is cancelled.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	fset := flag.NewFlagSet("guardian demo", flag.ContinueOnError)
	fset.SetOutput(c.Stderr)
	data := fset.String("data", "./guardian-demo", "directory of the demo hub")
	addr := fset.String("addr", "127.0.0.1:8080", "address to listen on (loopback: the demo's people sign in without a second factor)")
	reports := fset.Int("reports", 300, "synthetic reports the simulated reporting service submits; 0 for none")
	every := fset.Duration("report-every", 3500*time.Millisecond, "mean pause between two simulated reports (each drawn from half to one and a half of it)")
	seed := fset.Uint64("seed", 0, "seed of the simulated reports (the same seed, the same reports); 0 picks one")
	logLevel := fset.String("log-level", "info", "debug, info, warn or error")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usageError{cmd: "demo", msg: fmt.Sprintf("unexpected argument %q", fset.Arg(0))}
	}
	if *reports < 0 || *every <= 0 {
		return usageError{cmd: "demo", msg: "--reports must be 0 or more and --report-every positive"}
	}
	logger, err := newLogger(c.Stderr, *logLevel, "text")
	if err != nil {
		return usageError{cmd: "demo", msg: err.Error()}
	}
	if ok, err := onLoopback(*addr); err == nil && !ok {
		logger.Warn("the demo listens beyond loopback: anyone who reaches it can sign in with a printed password alone",
			slog.String("addr", *addr))
	}
	if err := ensureDemoNetwork(*data); err != nil {
		return err
	}
	// The network the hub routes on: the demo's, or what was made of it
	// in the demo directory.
	n, err := network.Load(filepath.Join(*data, "network.yaml"))
	if err != nil {
		return fmt.Errorf("demo network: %w", err)
	}
	cfg := StoreConfig{Data: *data}
	password, people, secrets, err := prepareDemo(ctx, cfg, n, c.Stderr)
	if err != nil {
		return err
	}
	hooks, err := demo.StartWebhookCatcher("127.0.0.1:0", webhookHosts(n), secrets, logger)
	if err != nil {
		return err
	}
	defer hooks.Close()

	catcher, err := demo.StartMailCatcher("127.0.0.1:0", logger)
	if err != nil {
		return err
	}
	defer catcher.Close()

	// The simulated reporter starts once the hub listens and stops with
	// it.
	simCtx, stopSim := context.WithCancel(ctx)
	var sim sync.WaitGroup
	defer func() { stopSim(); sim.Wait() }()

	serve := &ServeCommand{Stdout: c.Stdout, Stderr: c.Stderr}
	serve.configure = func(hc *hub.Config) {
		hc.Demo = true
		hc.Mailbox = demoMailbox{catcher, hooks}
		// The catcher is on loopback and speaks no TLS.
		hc.SMTP = notify.MailerConfig{Addr: catcher.Addr(), From: demoMailFrom, Timeout: 10 * time.Second}
		// The agencies' webhooks (at example.org) go to the webhook
		// catcher, whose certificate the hub trusts.
		hc.WebhookDial = hooks.Dial
		hc.WebhookTLS = &tls.Config{RootCAs: hooks.RootCAs(), MinVersion: tls.VersionTLS12}
	}
	serve.Ready = func(url string) {
		printDemo(c.Stdout, *data, url, password, people, *reports, *every)
		if *reports > 0 {
			r := &demo.Reporter{
				Client:   &intaketest.Client{BaseURL: url + "/ispws", User: demoReporter, Password: password, HTTP: &http.Client{Timeout: time.Minute}},
				Network:  n,
				Count:    *reports,
				Seed:     *seed,
				MinPause: *every / 2, MaxPause: *every * 3 / 2,
				Logger: logger,
			}
			sim.Go(func() {
				if err := r.Run(simCtx); err != nil {
					logger.Error("demo reporter", slog.Any("error", err))
				}
			})
		}
		if c.Ready != nil {
			c.Ready(url)
		}
	}
	return serve.Run(ctx, []string{"--data", *data, "--addr", *addr, "--database", "", "--migrate",
		"--audit-origin", demoOrigin, "--log-level", *logLevel})
}

// demoMailbox shows the catchers' mail and webhooks on the hub's pages.
type demoMailbox struct {
	c     *demo.MailCatcher
	hooks *demo.WebhookCatcher
}

func (m demoMailbox) Webhooks() []web.DemoWebhook {
	hooks, _ := m.hooks.Webhooks()
	out := make([]web.DemoWebhook, len(hooks))
	for i, h := range hooks {
		out[i] = web.DemoWebhook{Received: h.Received, Agency: h.Agency, URL: h.URL, ID: h.ID, Verified: h.Verified, Body: h.Body}
	}
	return out
}

func (m demoMailbox) Messages() []web.DemoMail {
	mails := m.c.Messages()
	out := make([]web.DemoMail, len(mails))
	for i, x := range mails {
		out[i] = web.DemoMail{Received: x.Received, From: x.From, To: x.To, Subject: x.Subject, Body: x.Body}
	}
	return out
}

// prepareDemo makes the demo store ready: marked as a demo's (which only
// an empty store can be), with the demo reporter and the demo people. It
// returns the reporter's password and the people's logins, which it keeps
// in the demo directory on first run and reads back afterwards.
func prepareDemo(ctx context.Context, cfg StoreConfig, n *guardian.Network, stderr io.Writer) (string, []demoPerson, map[string]notify.WebhookSecret, error) {
	store, err := cfg.open(ctx, true, stderrLogger(stderr))
	if err != nil {
		return "", nil, nil, fmt.Errorf("open demo store: %w", err)
	}
	defer store.Close()
	ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian demo"},
		Category: guardian.CategoryPrivileged, Action: "hub.demo"}
	if err := store.MarkDemo(ctx, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return "", nil, nil, fmt.Errorf("%s holds a hub that guardian demo did not create (%s); give the demo a directory of its own with --data",
			cfg.Data, guardian.ErrorMessage(err))
	} else if err != nil {
		return "", nil, nil, err
	}
	password, err := ensureDemoReporter(ctx, store, cfg.Data)
	if err != nil {
		return "", nil, nil, err
	}
	mk, err := demoMasterKey(ctx, store, cfg.Data)
	if err != nil {
		return "", nil, nil, err
	}
	people, err := ensureDemoPeople(ctx, store, mk, cfg.Data)
	if err != nil {
		return "", nil, nil, err
	}
	secrets, err := demoWebhookSecrets(ctx, store, mk, n)
	if err != nil {
		return "", nil, nil, err
	}
	return password, people, secrets, nil
}

// demoWebhookSecrets gives every agency of n with a webhook a new webhook
// secret at each start, as "guardian webhook secret" would, and returns
// them for the webhook catcher, which checks the hub's signatures with
// them as the agencies' receivers would.
func demoWebhookSecrets(ctx context.Context, store *sqlstore.Store, mk *crypto.MasterKey, n *guardian.Network) (map[string]notify.WebhookSecret, error) {
	secrets := make(map[string]notify.WebhookSecret)
	for _, a := range n.Agencies {
		if a.Duty.Webhook == "" {
			continue
		}
		secret := notify.GenerateWebhookSecret()
		ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian demo"},
			Category: guardian.CategoryPermission, Action: "webhook.secret"}
		if err := store.SetWebhookSecret(ctx, a.ID, notify.SealWebhookSecret(mk, a.ID, secret), ev); err != nil {
			return nil, fmt.Errorf("demo webhook secret of %s: %w", a.ID, err)
		}
		secrets[a.ID] = secret
	}
	return secrets, nil
}

// webhookHosts maps the host of each agency's webhook URL to the agency.
func webhookHosts(n *guardian.Network) map[string]string {
	hosts := make(map[string]string)
	for _, a := range n.Agencies {
		if u, err := url.Parse(a.Duty.Webhook); err == nil && a.Duty.Webhook != "" {
			hosts[u.Hostname()] = a.ID
		}
	}
	return hosts
}

// ensureDemoReporter creates the demo reporter on first run and keeps its
// password in the demo directory (mode 0600), since the store keeps only a
// hash. This is for the demo only: real reporters' passwords are shown once.
func ensureDemoReporter(ctx context.Context, store *sqlstore.Store, data string) (string, error) {
	credPath := filepath.Join(data, "demo-password")
	if _, err := store.FindReporterByName(ctx, demoReporter); err == nil {
		b, err := os.ReadFile(credPath)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("the demo reporter exists but %s is gone; remove %s to start afresh", credPath, data)
		} else if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return "", err
	}
	password := crypto.GeneratePassword()
	hash, err := crypto.HashPassword(password)
	if err != nil {
		return "", err
	}
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian demo"},
		Category:   guardian.CategoryPermission,
		Action:     "reporter.create",
		ObjectKind: "reporter",
	}
	if err := store.CreateReporter(ctx, &guardian.Reporter{Name: demoReporter, PasswordHash: hash}, ev); err != nil {
		return "", fmt.Errorf("create demo reporter: %w", err)
	}
	if err := os.WriteFile(credPath, []byte(password+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep demo password: %w", err)
	}
	return password, nil
}

// ensureDemoPeople reads the demo logins, or makes and keeps them on first
// run (before any account exists, so that none is without its password),
// and creates each person the store does not hold yet.
func ensureDemoPeople(ctx context.Context, store *sqlstore.Store, mk *crypto.MasterKey, data string) ([]demoPerson, error) {
	path := filepath.Join(data, demoLoginsFile)
	var people []demoPerson
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &people); err != nil {
			return nil, fmt.Errorf("%s: %w; remove %s to start afresh", path, err, data)
		}
	case errors.Is(err, fs.ErrNotExist):
		people = make([]demoPerson, len(demoPeople))
		for i, p := range demoPeople {
			p.Password, p.TOTPSecret = demoPassword(), identity.GenerateTOTPKey().Base32()
			people[i] = p
		}
		b, err := json.MarshalIndent(people, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("keep demo logins: %w", err)
		}
	default:
		return nil, err
	}

	for _, p := range people {
		if _, err := store.FindUserByName(ctx, p.Name); err == nil {
			continue
		} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
			return nil, err
		}
		if err := createDemoPerson(ctx, store, mk, p); err != nil {
			return nil, err
		}
	}
	return people, nil
}

// createDemoPerson creates p, vetted and trained for a year, with a TOTP
// secret too, so that the second factor can be tried on a hub run without
// demo mode.
func createDemoPerson(ctx context.Context, store *sqlstore.Store, mk *crypto.MasterKey, p demoPerson) error {
	org, err := guardian.ParseOrganisation(p.Organisation)
	if err != nil {
		return err
	}
	key, err := identity.ParseTOTPKey(p.TOTPSecret)
	if err != nil {
		return fmt.Errorf("demo person %s: %w", p.Name, err)
	}
	hash, err := identity.HashPassword(p.Password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	until := time.Now().AddDate(1, 0, 0).UTC()
	u := &guardian.User{
		Name: p.Name, DisplayName: p.DisplayName, Email: p.Name + "@example.org", Organisation: org,
		Roles: []guardian.Role{p.Role}, PasswordHash: hash, TOTPSecret: mk.SealUserSecret(p.Name, key.Bytes()),
		VettingExpiresAt: &until, TrainingExpiresAt: &until, Language: p.Language, TimeZone: p.TimeZone,
	}
	ev := adminEvent("guardian demo", guardian.CategoryPermission, "user.create")
	ev.Reason = string(p.Role)
	if err := store.CreateUser(ctx, u, ev); err != nil {
		return fmt.Errorf("create demo person %s: %w", p.Name, err)
	}
	return nil
}

// demoMasterKey loads the demo hub's master key, creating it when the
// store holds no report yet (as the hub would on its first start): the
// people's TOTP secrets are sealed under it.
func demoMasterKey(ctx context.Context, store *sqlstore.Store, data string) (*crypto.MasterKey, error) {
	path := filepath.Join(data, hub.MasterKeyFile)
	if _, err := os.Stat(path); err == nil {
		return hub.LoadMasterKey("", data)
	}
	reports, err := store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.submit", Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(reports) > 0 {
		return nil, fmt.Errorf("master key %s is missing but the demo store holds reports; remove %s to start afresh", path, data)
	}
	mk, err := crypto.LoadOrCreateMasterKey(path)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return mk, nil
}

// demoPassword is a password short enough to type: 20 characters of
// a–z and 2–7 (100 bits) in groups of five.
func demoPassword() string {
	var b [13]byte
	rand.Read(b[:])
	s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:20]
	return s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:]
}

// printDemo prints where everything is and how to sign in.
func printDemo(w io.Writer, data, url, password string, people []demoPerson, reports int, every time.Duration) {
	fmt.Fprintf(w, `
Guardian demo hub in %[1]s: the whole network on this machine.
DEMO mode: people sign in with the password alone, and every page says DEMO.

  web pages:    %[2]s/          (sign in with a login below)
  caught mail:  %[2]s/hub/mail  (the e-mail and webhooks the hub sent; hub staff)
  intake API:   %[2]s/ispws     (reporter %[3]s, password %[4]s)
  partner API:  %[2]s/api/v1    (described at %[2]s/api/v1/openapi.json)
  audit log:    %[2]s/audit/checkpoint

Logins (kept in %[5]s, with TOTP secrets for trying the second factor):
`, data, url, demoReporter, password, filepath.Join(data, demoLoginsFile))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPASSWORD\tROLE\tORGANISATION")
	for _, p := range people {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Password, p.Role, p.Organisation)
	}
	tw.Flush()
	if reports > 0 {
		fmt.Fprintf(w, "\nA simulated reporting service submits %d synthetic reports, one every %v or so.\n", reports, every)
	}
	fmt.Fprintf(w, "  try: curl -u %s:%s %s/ispws/status\n\n", demoReporter, password, url)
}
