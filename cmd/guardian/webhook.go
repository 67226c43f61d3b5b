package main

import (
	"context"
	"fmt"
	"io"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
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
	fs := adminFlags("guardian webhook secret", c.Stderr, &c.Store)
	c.Network.register(fs)
	keyFile := masterKeyFlag(fs, "the secret")
	pos, err := parseArgs(fs, args[1:], 1, usageError{cmd: "webhook", msg: webhookUsage})
	if err != nil {
		return err
	}
	n, path, err := loadNetwork(c.Network, c.Store.Data)
	if err != nil {
		return err
	}
	agency, ok := n.Agency(pos[0])
	if !ok {
		return fmt.Errorf("agency %q is not in the network file %s", guardian.Clip(pos[0], 64), path)
	}
	mk, err := hub.LoadMasterKey(*keyFile, c.Store.Data)
	if err != nil {
		return err
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	secret := notify.GenerateWebhookSecret()
	ev := adminEvent(fs.Name(), guardian.CategoryPermission, "webhook.secret")
	if err := store.SetWebhookSecret(ctx, agency.ID, notify.SealWebhookSecret(mk, agency.ID, secret), ev); err != nil {
		return fmt.Errorf("store webhook secret: %w", err)
	}
	fmt.Fprintf(c.Stdout, "agency: %s\nsecret: %s\n", agency.ID, secret)
	if agency.Duty.Webhook == "" {
		fmt.Fprintf(c.Stdout, "note: the network file gives %s no webhook yet; the secret is used once it does\n", agency.ID)
	} else {
		fmt.Fprintf(c.Stdout, "webhook: %s\n", agency.Duty.Webhook)
	}
	printShownOnce(c.Stdout, "give it to the agency over a secure channel; it replaces any earlier secret at once")
	return nil
}
