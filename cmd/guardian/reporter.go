package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
)

// ReporterCommand administers reporting services.
type ReporterCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
}

// Run handles "reporter add NAME".
func (c *ReporterCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{cmd: "reporter", msg: "usage: guardian reporter add NAME"}
	}
	fs := flag.NewFlagSet("guardian reporter add", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{cmd: "reporter", msg: "usage: guardian reporter add NAME"}
	}
	name := pos[0]
	if err := validReporterName(name); err != nil {
		return usageError{cmd: "reporter", msg: err.Error()}
	}

	store, err := c.Store.open(ctx, false, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	password := crypto.GeneratePassword()
	hash, err := crypto.HashPassword(password)
	if err != nil {
		return err
	}
	r := &guardian.Reporter{Name: name, PasswordHash: hash}
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian reporter add"},
		Category:   guardian.CategoryPermission,
		Action:     "reporter.create",
		ObjectKind: "reporter",
	}
	if err := store.CreateReporter(ctx, r, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("a reporter named %q already exists", name)
	} else if err != nil {
		return fmt.Errorf("create reporter: %w", err)
	}
	fmt.Fprintf(c.Stdout, "username: %s\npassword: %s\n", name, password)
	return nil
}

// validReporterName accepts names that work as an HTTP Basic user name: no
// colon (it separates the password), no spaces or control characters.
func validReporterName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("a reporter name must have 1 to 64 characters")
	}
	if strings.ContainsFunc(name, func(r rune) bool {
		return r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) {
		return fmt.Errorf("a reporter name must not contain ':', spaces or control characters")
	}
	return nil
}
