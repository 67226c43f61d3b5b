package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/sqlstore"
)

// TokenCommand administers bearer tokens: the auditor and admin tokens of
// /audit and /admin (guardian.Token), and the API tokens of partners'
// machine clients (guardian.APIToken), scoped to an agency and a role.
type TokenCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	Network        NetworkConfig
}

const tokenUsage = `usage: guardian token add NAME --role auditor|admin
       guardian token add NAME --agency ID --role ROLE [--expires DAYSd|DATE]
       guardian token list
       guardian token revoke NAME`

// Run handles "token add", "token list" and "token revoke".
func (c *TokenCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{cmd: "token", msg: tokenUsage}
	}
	switch args[0] {
	case "add":
		return c.add(ctx, args[1:])
	case "list":
		return c.list(ctx, args[1:])
	case "revoke":
		return c.revoke(ctx, args[1:])
	}
	return usageError{cmd: "token", msg: tokenUsage}
}

func (c *TokenCommand) add(ctx context.Context, args []string) error {
	fs := adminFlags("guardian token add", c.Stderr, &c.Store)
	c.Network.register(fs)
	role := fs.String("role", "", "the token's role: auditor or admin, or with --agency a role of the agency")
	agency := fs.String("agency", "", "the agency of the network file whose machine client the token is (an API token)")
	var expires expiryFlag
	fs.Var(&expires, "expires", fmt.Sprintf("with --agency: when the token expires, as days (90d) or a date (YYYY-MM-DD); default %dd, at most %dd",
		identity.DefaultAPITokenLifetime/(24*time.Hour), identity.MaxAPITokenLifetime/(24*time.Hour)))
	usage := usageError{cmd: "token", msg: tokenUsage}
	pos, err := parseArgs(fs, args, 1, usage)
	if err != nil {
		return err
	}
	if *role == "" {
		return usage
	}
	if err := validReporterName(pos[0]); err != nil {
		return usageError{cmd: "token", msg: strings.Replace(err.Error(), "a reporter name", "a token name", 1)}
	}
	if *agency != "" {
		return c.addAPIToken(ctx, pos[0], guardian.AgencyOrganisation(*agency), *role, expires)
	}
	if expires.set {
		return usageError{cmd: "token", msg: "--expires needs --agency: auditor and admin tokens do not expire"}
	}
	if *role != guardian.RoleAuditor && *role != guardian.RoleAdmin {
		return usageError{cmd: "token", msg: fmt.Sprintf("unknown role %q (auditor or admin, or a role of an agency with --agency)", *role)}
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	secret := newTokenSecret()
	sum := sha256.Sum256([]byte(secret))
	t := &guardian.Token{Name: pos[0], Role: *role, Hash: hex.EncodeToString(sum[:])}
	ev := adminEvent(fs.Name(), guardian.CategoryPermission, "token.create")
	ev.ObjectKind = "token"
	if err := store.CreateToken(ctx, t, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("a token named %q already exists", pos[0])
	} else if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	fmt.Fprintf(c.Stdout, "name: %s\nrole: %s\ntoken: %s\n", t.Name, t.Role, secret)
	return nil
}

// addAPIToken creates an API token for a machine client of the agency,
// after checking in the network file that the agency exists and may hold
// the role.
func (c *TokenCommand) addAPIToken(ctx context.Context, name string, o guardian.Organisation, roleName string, expires expiryFlag) error {
	role, err := guardian.ParseRole(roleName)
	if err != nil {
		return usageError{cmd: "token", msg: guardian.ErrorMessage(err)}
	}
	if _, err := checkMembership(c.Network, c.Store.Data, o, []guardian.Role{role}); err != nil {
		return err
	}
	now := time.Now().UTC()
	expiresAt, err := expires.at(now)
	if err != nil {
		return usageError{cmd: "token", msg: err.Error()}
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()

	secret, hash := identity.GenerateAPIToken()
	t := &guardian.APIToken{Name: name, Hash: hash, Organisation: o, Role: role, ExpiresAt: expiresAt}
	ev := adminEvent("guardian token add", guardian.CategoryPermission, "token.create")
	ev.Reason = string(role)
	if err := store.CreateAPIToken(ctx, t, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("an API token named %q already exists", name)
	} else if err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	fmt.Fprintf(c.Stdout, "name: %s\norganisation: %s\nrole: %s\nexpires: %s\ntoken: %s\n",
		t.Name, t.Organisation, t.Role, t.ExpiresAt.Format(time.RFC3339), secret)
	printShownOnce(c.Stdout, "hand it to the agency over a secure channel")
	return nil
}

// expiryFlag is --expires: a number of days ("90d") from now, or the last
// day of the token's life (YYYY-MM-DD, until the end of that day in UTC).
type expiryFlag struct {
	set  bool
	days int
	date time.Time
}

func (f *expiryFlag) String() string {
	switch {
	case !f.set:
		return ""
	case f.days > 0:
		return strconv.Itoa(f.days) + "d"
	}
	return f.date.Format(time.DateOnly)
}

func (f *expiryFlag) Set(s string) error {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(d)
		if err != nil || days <= 0 {
			return fmt.Errorf("want a number of days such as 90d, or a date as YYYY-MM-DD")
		}
		*f = expiryFlag{set: true, days: days}
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("want a number of days such as 90d, or a date as YYYY-MM-DD")
	}
	*f = expiryFlag{set: true, date: t.Add(24*time.Hour - time.Second)}
	return nil
}

// at returns when a token created at now expires: the default lifetime
// unless the flag was set, and never beyond the longest.
func (f expiryFlag) at(now time.Time) (time.Time, error) {
	t := now.Add(identity.DefaultAPITokenLifetime)
	switch {
	case f.set && f.days > 0:
		if f.days > int(identity.MaxAPITokenLifetime/(24*time.Hour)) {
			return time.Time{}, fmt.Errorf("a token lives at most %d days", identity.MaxAPITokenLifetime/(24*time.Hour))
		}
		t = now.Add(time.Duration(f.days) * 24 * time.Hour)
	case f.set:
		t = f.date
	}
	switch {
	case !t.After(now):
		return time.Time{}, fmt.Errorf("the expiry %s has passed", t.Format(time.DateOnly))
	case t.Sub(now) > identity.MaxAPITokenLifetime:
		return time.Time{}, fmt.Errorf("a token lives at most %d days", identity.MaxAPITokenLifetime/(24*time.Hour))
	}
	return t, nil
}

// list prints the API tokens, revoked ones too, without their hashes.
func (c *TokenCommand) list(ctx context.Context, args []string) error {
	fs := adminFlags("guardian token list", c.Stderr, &c.Store)
	if _, err := parseArgs(fs, args, 0, usageError{cmd: "token", msg: tokenUsage}); err != nil {
		return err
	}
	store, tokens, err := c.apiTokens(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tORGANISATION\tROLE\tCREATED\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range tokens {
		state := "active"
		if err := identity.CheckAPIToken(t, now); err != nil {
			state = "expired"
			if t.RevokedAt != nil {
				state = "revoked"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Organisation, t.Role,
			t.CreatedAt.Format(time.DateOnly), t.ExpiresAt.Format(time.DateOnly), day(t.LastUsedAt), state)
	}
	return tw.Flush()
}

// apiTokens opens the store and reads the API tokens, revoked ones too;
// the caller closes the store.
func (c *TokenCommand) apiTokens(ctx context.Context) (*sqlstore.Store, []*guardian.APIToken, error) {
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := store.FindAPITokens(ctx, guardian.APITokenFilter{IncludeRevoked: true})
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("list API tokens: %w", err)
	}
	return store, tokens, nil
}

// revoke revokes an API token by name.
func (c *TokenCommand) revoke(ctx context.Context, args []string) error {
	fs := adminFlags("guardian token revoke", c.Stderr, &c.Store)
	pos, err := parseArgs(fs, args, 1, usageError{cmd: "token", msg: tokenUsage})
	if err != nil {
		return err
	}
	// Tokens are few (one per partner system): finding one by name in the
	// list keeps the store's contract small.
	store, tokens, err := c.apiTokens(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var t *guardian.APIToken
	for _, tok := range tokens {
		if tok.Name == pos[0] {
			t = tok
		}
	}
	switch {
	case t == nil:
		return fmt.Errorf("no API token named %q", pos[0])
	case t.RevokedAt != nil:
		fmt.Fprintf(c.Stdout, "%s was revoked already, on %s\n", t.Name, t.RevokedAt.Format(time.RFC3339))
		return nil
	}
	if err := store.RevokeAPIToken(ctx, t.ID, adminEvent(fs.Name(), guardian.CategoryPermission, "token.revoke")); err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	fmt.Fprintf(c.Stdout, "revoked %s; it no longer signs in\n", t.Name)
	return nil
}

// newTokenSecret returns a bearer token with 256 bits of entropy. The prefix
// makes tokens recognisable to secret scanners.
func newTokenSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "gdn_" + base64.RawURLEncoding.EncodeToString(b[:])
}
