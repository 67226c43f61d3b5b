package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/sqlstore"
)

// What the administrative commands (user, token, webhook) share. Each
// parses --data and --database and a fixed number of arguments, opens the
// store as it is (migrating is migrate's), may read the master key or check
// an organisation in the network file, and records what it did as the
// system acting under the command's name. The secrets they make are kept
// hashed or sealed, so they are printed once.

// adminFlags returns the flag set of the administrative command name
// ("guardian user add"), with --data and --database; its errors go to
// stderr.
func adminFlags(name string, stderr io.Writer, store *StoreConfig) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	store.register(fs)
	return fs
}

// parseArgs parses args into fs and returns its n positional arguments;
// any other number is usage.
func parseArgs(fs *flag.FlagSet, args []string, n int, usage usageError) ([]string, error) {
	pos, err := parseFlagsAndArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, usage
	}
	return pos, nil
}

// masterKeyFlag adds --master-key-file to fs for a command that seals
// what under the master key, and returns where its value goes.
func masterKeyFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("master-key-file", "", "master key file, which "+what+" is encrypted under; default master.key in --data (GUARDIAN_MASTER_KEY_FILE)")
}

// openAdmin opens the store for an administrative command, logging to
// stderr.
func (c *StoreConfig) openAdmin(ctx context.Context, stderr io.Writer) (*sqlstore.Store, error) {
	store, err := c.open(ctx, false, stderrLogger(stderr))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// loadNetwork reads the network file of --network, or network.yaml in the
// data directory; path names it in messages.
func loadNetwork(nc NetworkConfig, data string) (n *guardian.Network, path string, err error) {
	path = hub.NetworkPath(nc.File, data)
	n, err = network.Load(path)
	if err != nil {
		return nil, path, fmt.Errorf("network file: %w", err)
	}
	return n, path, nil
}

// checkMembership loads the network file and checks that o is in it and
// may hold roles: a person or a token of an organisation the network does
// not know could never be authorised to anything.
func checkMembership(nc NetworkConfig, data string, o guardian.Organisation, roles []guardian.Role) (*guardian.Network, error) {
	n, path, err := loadNetwork(nc, data)
	if err != nil {
		return nil, err
	}
	if err := guardian.CheckMembership(n, o, roles); err != nil {
		return nil, fmt.Errorf("%s (network file %s)", guardian.ErrorMessage(err), path)
	}
	return n, nil
}

// adminEvent starts the audit event of what the administrative command
// named command did: the system acted, at an administrator's hands.
func adminEvent(command string, cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: guardian.ActorSystem, Name: command},
		Category: cat,
		Action:   action,
	}
}

// printShownOnce ends the output of a secret that the hub keeps only
// hashed or sealed: it cannot be shown again, so say how to pass it on.
func printShownOnce(w io.Writer, advice string) {
	fmt.Fprintf(w, "(shown once: %s)\n", advice)
}
