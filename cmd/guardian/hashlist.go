package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hashlist"
)

// maxHashListFile bounds the size of a hash list file, which is parsed into
// memory whole before it is imported in one transaction.
const maxHashListFile = 2 << 30

// HashListCommand administers the hash lists of known content.
type HashListCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
}

const hashListUsage = `usage: guardian hashlist import FILE --name NAME --source SOURCE [--format csv|vics] [--version V] [--categories SCHEME] [--force]
       guardian hashlist list
       guardian hashlist remove NAME`

// Run handles "hashlist import|list|remove".
func (c *HashListCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{cmd: "hashlist", msg: hashListUsage}
	}
	switch args[0] {
	case "import":
		return c.runImport(ctx, args[1:])
	case "list":
		return c.runList(ctx, args[1:])
	case "remove":
		return c.runRemove(ctx, args[1:])
	}
	return usageError{cmd: "hashlist", msg: hashListUsage}
}

func (c *HashListCommand) runImport(ctx context.Context, args []string) error {
	fs := adminFlags("guardian hashlist import", c.Stderr, &c.Store)
	name := fs.String("name", "", "the list's name, which a newer version of it keeps (required)")
	source := fs.String("source", "", "who the list comes from (required)")
	format := fs.String("format", "", "csv (type,hash,category rows) or vics (Project VIC JSON); default from the file name")
	version := fs.String("version", "", "the list's version, compared in natural order; default the import time")
	categories := fs.String("categories", "", "the category scheme of the list's categories; default vics for a VICS file")
	force := fs.Bool("force", false, "replace the stored list even if its version is newer or equal")
	pos, err := parseArgs(fs, args, 1, usageError{cmd: "hashlist", msg: hashListUsage})
	if err != nil {
		return err
	}
	if *name == "" || *source == "" {
		return usageError{cmd: "hashlist", msg: hashListUsage}
	}
	file := pos[0]
	if *format == "" {
		*format = "csv"
		if strings.HasSuffix(strings.ToLower(file), ".json") {
			*format = "vics"
		}
	}
	var parse func(io.Reader) ([]guardian.HashListEntry, error)
	switch *format {
	case "csv":
		parse = hashlist.ParseCSV
	case "vics":
		parse = hashlist.ParseVICS
		if *categories == "" {
			*categories = "vics"
		}
	default:
		return usageError{cmd: "hashlist", msg: fmt.Sprintf("unknown format %q (csv or vics)", *format)}
	}
	if *version == "" {
		*version = time.Now().UTC().Format("20060102T150405Z")
	}

	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	lr := &io.LimitedReader{R: f, N: maxHashListFile + 1}
	entries, err := parse(lr)
	if lr.N <= 0 {
		return fmt.Errorf("%s is larger than %d bytes", file, int64(maxHashListFile))
	}
	var pe *hashlist.ParseError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s refused, nothing imported: %w", file, err)
	case err != nil:
		return fmt.Errorf("%s: %w", file, err)
	}

	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	l := &guardian.HashList{Name: *name, Source: *source, Categories: *categories, Version: *version, Format: *format}
	ev := hashListEvent("hashlist.import", *name)
	err = store.ImportHashList(ctx, l, entries, *force, ev)
	if guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("%s\nTry: --version with a newer version, or --force to replace it anyway", guardian.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "imported %s version %s: %d hashes\n", l.Name, l.Version, l.Entries)
	return nil
}

func (c *HashListCommand) runList(ctx context.Context, args []string) error {
	fs := adminFlags("guardian hashlist list", c.Stderr, &c.Store)
	if _, err := parseArgs(fs, args, 0, usageError{cmd: "hashlist", msg: hashListUsage}); err != nil {
		return err
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	lists, err := store.FindHashLists(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tHASHES\tFORMAT\tCATEGORIES\tSOURCE\tIMPORTED")
	for _, l := range lists {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", l.Name, l.Version, l.Entries, l.Format, orDash(l.Categories), l.Source,
			l.ImportedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

func (c *HashListCommand) runRemove(ctx context.Context, args []string) error {
	fs := adminFlags("guardian hashlist remove", c.Stderr, &c.Store)
	pos, err := parseArgs(fs, args, 1, usageError{cmd: "hashlist", msg: hashListUsage})
	if err != nil {
		return err
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.RemoveHashList(ctx, pos[0], hashListEvent("hashlist.remove", pos[0]))
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return fmt.Errorf("there is no hash list named %q", pos[0])
	} else if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "removed %s\n", pos[0])
	return nil
}

// hashListEvent is the audit event of a change to a hash list, made by the
// person running the command.
func hashListEvent(action, name string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorUser, Name: operatorName()},
		Category:   guardian.CategoryPrivileged,
		Action:     action,
		ObjectKind: "hash_list",
		ObjectID:   name,
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
