package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/notify"
)

// WebhookCommand administers the secrets that agencies' webhooks are
// signed with. They live in the store, sealed under the master key, and
// not in the network file, which every agency sees.
type WebhookCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	Network        NetworkConfig
}

const webhookUsage = `usage: guardian webhook secret AGENCY [--data DIR] [--database URL] [--network FILE] [--master-key-file FILE]`

// Run handles "webhook secret AGENCY": a new secret, replacing the
// agency's old one, stored sealed and printed once.
func (c *WebhookCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "secret" {
		return usageError{cmd: "webhook", msg: webhookUsage}
	}
	fs := flag.NewFlagSet("guardian webhook secret", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	c.Network.register(fs)
	var keyFile string
	fs.StringVar(&keyFile, "master-key-file", "", "master key file, which the secret is encrypted under; default master.key in --data (GUARDIAN_MASTER_KEY_FILE)")
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{cmd: "webhook", msg: webhookUsage}
	}
	agencyID := pos[0]
	path := hub.NetworkPath(c.Network.File, c.Store.Data)
	n, err := network.Load(path)
	if err != nil {
		return fmt.Errorf("network file: %w", err)
	}
	agency, ok := n.Agency(agencyID)
	if !ok {
		return fmt.Errorf("agency %q is not in the network file %s", guardian.Clip(agencyID, 64), path)
	}
	mk, err := hub.LoadMasterKey(keyFile, c.Store.Data)
	if err != nil {
		return err
	}
	store, err := c.Store.open(ctx, false, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	secret := notify.GenerateWebhookSecret()
	ev := &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian webhook secret"},
		Category: guardian.CategoryPermission,
		Action:   "webhook.secret",
	}
	if err := store.SetWebhookSecret(ctx, agency.ID, notify.SealWebhookSecret(mk, agency.ID, secret), ev); err != nil {
		return fmt.Errorf("store webhook secret: %w", err)
	}
	fmt.Fprintf(c.Stdout, "agency: %s\nsecret: %s\n", agency.ID, secret)
	if agency.Duty.Webhook == "" {
		fmt.Fprintf(c.Stdout, "note: the network file gives %s no webhook yet; the secret is used once it does\n", agency.ID)
	} else {
		fmt.Fprintf(c.Stdout, "webhook: %s\n", agency.Duty.Webhook)
	}
	fmt.Fprintln(c.Stdout, "(shown once: give it to the agency over a secure channel; it replaces any earlier secret at once)")
	return nil
}
