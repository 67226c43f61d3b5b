package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"

	"github.com/guardian-network/guardian"
)

// TokenCommand administers bearer tokens.
type TokenCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
}

// Run handles "token add NAME --role ROLE".
func (c *TokenCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError{cmd: "token", msg: "usage: guardian token add NAME --role auditor|admin"}
	}
	fs := flag.NewFlagSet("guardian token add", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	role := fs.String("role", "", "the token's role: auditor or admin")
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || *role == "" {
		return usageError{cmd: "token", msg: "usage: guardian token add NAME --role auditor|admin"}
	}
	if *role != guardian.RoleAuditor && *role != guardian.RoleAdmin {
		return usageError{cmd: "token", msg: fmt.Sprintf("unknown role %q (auditor or admin)", *role)}
	}
	if err := validReporterName(pos[0]); err != nil {
		return usageError{cmd: "token", msg: err.Error()}
	}
	store, err := c.Store.open(ctx, false, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	secret := newTokenSecret()
	sum := sha256.Sum256([]byte(secret))
	t := &guardian.Token{Name: pos[0], Role: *role, Hash: hex.EncodeToString(sum[:])}
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorSystem, Name: "guardian token add"},
		Category:   guardian.CategoryPermission,
		Action:     "token.create",
		ObjectKind: "token",
	}
	if err := store.CreateToken(ctx, t, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("a token named %q already exists", pos[0])
	} else if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	fmt.Fprintf(c.Stdout, "name: %s\nrole: %s\ntoken: %s\n", t.Name, t.Role, secret)
	return nil
}

// newTokenSecret returns a bearer token with 256 bits of entropy. The prefix
// makes tokens recognisable to secret scanners.
func newTokenSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "gdn_" + base64.RawURLEncoding.EncodeToString(b[:])
}
