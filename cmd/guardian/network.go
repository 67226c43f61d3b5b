package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/network"
)

// NetworkConfig is where the hub finds its network file.
type NetworkConfig struct {
	File string // empty: network.yaml in the data directory
}

// register adds --network to fs.
func (c *NetworkConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.File, "network", "", "the network file: agencies and agreements (default network.yaml in --data) (GUARDIAN_NETWORK)")
}

// path returns the network file's path for the data directory data.
func (c *NetworkConfig) path(data string) string {
	if c.File != "" {
		return c.File
	}
	return filepath.Join(data, "network.yaml")
}

// NetworkCommand works with network files.
type NetworkCommand struct {
	Stdout, Stderr io.Writer
}

const networkUsage = "usage: guardian network check [-v] [FILE]"

// Run handles "network check [FILE]": it validates a network file, prints
// every problem with its line, or a summary of who receives what.
func (c *NetworkCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError{cmd: "network", msg: networkUsage}
	}
	fs := flag.NewFlagSet("guardian network check", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.Stderr, "%s\n\nChecks a network file; without FILE, the one serve would use.\n\n", networkUsage)
		fs.PrintDefaults()
	}
	var cfg NetworkConfig
	cfg.register(fs)
	// The same default as the store's --data, so that a bare "network
	// check" checks the file "serve" would load.
	data := fs.String("data", "./guardian-data", "data directory whose network.yaml to check (GUARDIAN_DATA)")
	verbose := fs.Bool("v", false, "list every country with access and the agency that receives its reports")
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	path := cfg.path(*data)
	switch len(pos) {
	case 0:
	case 1:
		path = pos[0]
	default:
		return usageError{cmd: "network", msg: networkUsage}
	}

	n, err := network.Load(path)
	var problems network.ErrorList
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(c.Stderr, p)
		}
		if len(problems) == 1 {
			return fmt.Errorf("%s: 1 problem; nothing was changed", path)
		}
		return fmt.Errorf("%s: %d problems; nothing was changed", path, len(problems))
	} else if err != nil {
		return err
	}
	printNetwork(c.Stdout, path, n, *verbose)
	return nil
}

// printNetwork summarises a valid network: what an operator checks before
// reloading a hub with it.
func printNetwork(w io.Writer, path string, n *guardian.Network, verbose bool) {
	kinds := make(map[guardian.AgencyKind]int)
	for _, a := range n.Agencies {
		kinds[a.Kind]++
	}
	covered := n.CoveredCountries()
	var direct int
	for _, c := range covered {
		if n.AgreementFor(c).Channel == guardian.ChannelDirect {
			direct++
		}
	}
	fallback, domestic := n.FallbackAgreement(), n.DomesticAgreement()
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-17s%s\n", label+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "%s: valid (sha256 %s)\n", path, n.Digest)
	row("hub", "%s (%s), %s", n.Hub.ID, n.Hub.Name, n.Hub.Country)
	row("agencies", "%d (%d partner, %d liaison, %d fallback, %d domestic)", len(n.Agencies),
		kinds[guardian.AgencyPartner], kinds[guardian.AgencyLiaison], kinds[guardian.AgencyFallback], kinds[guardian.AgencyDomestic])
	row("with access", "%d countries (%d through partners, %d through liaison offices)", len(covered), direct, len(covered)-direct)
	row("other countries", "%s (fallback)", fallback.Agency)
	if len(domestic.Countries) > 0 {
		row("at home", "%s (domestic), for %s", domestic.Agency, strings.Join(domestic.Countries, ", "))
	}
	row("no location", "%s (domestic), and the analysts' queue", domestic.Agency)
	if !verbose {
		return
	}
	fmt.Fprintln(w)
	for _, c := range covered {
		ag := n.AgreementFor(c)
		name, _ := network.CountryName(c)
		line := fmt.Sprintf("%s  %-32s %s (%s)", c, name, ag.Agency, ag.Channel)
		if lo, ok := n.LiaisonFor(c); ok && lo != ag {
			line += fmt.Sprintf("; %s supports", lo.Agency)
		}
		fmt.Fprintln(w, line)
	}
}
