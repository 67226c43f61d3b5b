package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/sqlstore"
)

// UserCommand administers the people who sign in to the hub.
type UserCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	Network        NetworkConfig
}

const userUsage = `usage: guardian user add NAME --org hub:ID|agency:ID --role ROLE [--role ROLE ...]
                      [--vetted-until DATE --training-until DATE] [--email ADDR]
       guardian user list
       guardian user disable NAME
       guardian user reset-mfa NAME
       guardian user unlock NAME`

var errUserUsage = usageError{cmd: "user", msg: userUsage}

// rolesFlag collects repeated --role flags.
type rolesFlag []guardian.Role

func (f *rolesFlag) String() string { return fmt.Sprint(*f) }

func (f *rolesFlag) Set(s string) error {
	r, err := guardian.ParseRole(s)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

// dateFlag is an optional YYYY-MM-DD date, the end of that day in UTC.
type dateFlag struct{ t *time.Time }

func (f *dateFlag) String() string {
	if f.t == nil {
		return ""
	}
	return f.t.Format(time.DateOnly)
}

func (f *dateFlag) Set(s string) error {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("want a date as YYYY-MM-DD")
	}
	d = d.Add(24*time.Hour - time.Microsecond)
	f.t = &d
	return nil
}

// Run handles "user add", "list", "disable", "reset-mfa" and "unlock".
func (c *UserCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUserUsage
	}
	switch args[0] {
	case "add":
		return c.add(ctx, args[1:])
	case "list":
		return c.list(ctx, args[1:])
	case "disable":
		return c.disable(ctx, args[1:])
	case "reset-mfa":
		return c.resetMFA(ctx, args[1:])
	case "unlock":
		return c.unlock(ctx, args[1:])
	}
	return errUserUsage
}

func (c *UserCommand) add(ctx context.Context, args []string) error {
	fs := adminFlags("guardian user add", c.Stderr, &c.Store)
	c.Network.register(fs)
	keyFile := masterKeyFlag(fs, "the second-factor secret")
	org := fs.String("org", "", "the organisation: hub:ID or agency:ID of the network file")
	var roles rolesFlag
	fs.Var(&roles, "role", "a role of the organisation (repeat for several)")
	var vetted, trained dateFlag
	fs.Var(&vetted, "vetted-until", "the last day of the person's security vetting (YYYY-MM-DD)")
	fs.Var(&trained, "training-until", "the last day of the person's training certificate (YYYY-MM-DD)")
	email := fs.String("email", "", "the person's e-mail address")
	pos, err := parseArgs(fs, args, 1, errUserUsage)
	if err != nil {
		return err
	}
	if *org == "" || len(roles) == 0 {
		return errUserUsage
	}
	name := strings.ToLower(pos[0])
	if name == "" || len(name) > 254 || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return usageError{cmd: "user", msg: "a user name must have 1 to 254 characters, without spaces or control characters"}
	}
	o, err := guardian.ParseOrganisation(*org)
	if err != nil {
		return usageError{cmd: "user", msg: guardian.ErrorMessage(err)}
	}
	// Checked now, as the mailer will check it: a bad address would
	// otherwise be found only when the person's first notification fails.
	if *email != "" {
		if a, err := notify.ParseAddress(*email); err != nil || a != *email {
			return usageError{cmd: "user", msg: fmt.Sprintf("--email %q is not an e-mail address; give only the address, like ana@example.org", *email)}
		}
	}
	n, err := checkMembership(c.Network, c.Store.Data, o, roles)
	if err != nil {
		return err
	}
	mk, err := hub.LoadMasterKey(*keyFile, c.Store.Data)
	if err != nil {
		return err
	}

	password := newTokenSecret()
	hash, err := identity.HashPassword(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	key := identity.GenerateTOTPKey()
	codes, codeHashes := identity.GenerateRecoveryCodes()
	u := &guardian.User{
		Name: name, Email: *email, Organisation: o, Roles: roles,
		PasswordHash: hash, TOTPSecret: mk.SealUserSecret(name, key.Bytes()), RecoveryCodeHashes: codeHashes,
		VettingExpiresAt: vetted.t, TrainingExpiresAt: trained.t,
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	ev := adminEvent(fs.Name(), guardian.CategoryPermission, "user.create")
	ev.Reason = joinRolesText(roles)
	if err := store.CreateUser(ctx, u, ev); guardian.ErrorCode(err) == guardian.ECONFLICT {
		return fmt.Errorf("a user named %q already exists", name)
	} else if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	fmt.Fprintf(c.Stdout, "name: %s\norganisation: %s\nroles: %s\npassword: %s\n",
		u.Name, u.Organisation, joinRolesText(roles), password)
	printSecondFactor(c.Stdout, n, u.Name, key, codes)
	return nil
}

// printSecondFactor prints a person's new TOTP secret, its otpauth:// URI
// and recovery codes, which are shown this once.
func printSecondFactor(w io.Writer, n *guardian.Network, name string, key *identity.TOTPKey, codes []string) {
	fmt.Fprintf(w, "totp secret: %s\ntotp uri: %s\nrecovery codes:\n", key.Base32(), key.URI("Guardian "+n.Hub.ID, name))
	for _, code := range codes {
		fmt.Fprintf(w, "  %s\n", code)
	}
	printShownOnce(w, "hand them to the person over a secure channel")
}

func (c *UserCommand) list(ctx context.Context, args []string) error {
	fs := adminFlags("guardian user list", c.Stderr, &c.Store)
	if _, err := parseArgs(fs, args, 0, errUserUsage); err != nil {
		return err
	}
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tORGANISATION\tROLES\tVETTED UNTIL\tTRAINED UNTIL\tSTATE")
	for after := int64(0); ; {
		users, err := store.FindUsers(ctx, guardian.UserFilter{AfterID: after})
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		if len(users) == 0 {
			break
		}
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Organisation, joinRolesText(u.Roles),
				day(u.VettingExpiresAt), day(u.TrainingExpiresAt), state)
		}
		after = users[len(users)-1].ID
	}
	return tw.Flush()
}

func day(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.DateOnly)
}

func joinRolesText(roles []guardian.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

// disable disables a user, which also ends their sessions.
func (c *UserCommand) disable(ctx context.Context, args []string) error {
	fs := adminFlags("guardian user disable", c.Stderr, &c.Store)
	store, u, err := c.userArg(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	disabled := true
	ev := adminEvent(fs.Name(), guardian.CategoryPermission, "user.update")
	ev.Reason = "disabled"
	if _, err := store.UpdateUser(ctx, u.ID, guardian.UserUpdate{Disabled: &disabled}, ev); err != nil {
		return fmt.Errorf("disable user: %w", err)
	}
	fmt.Fprintf(c.Stdout, "disabled %s; their sessions are ended\n", u.Name)
	return nil
}

// userArg parses the flags of a command on one user and its one argument,
// the user's name, opens the store and finds the user; the caller closes
// the store.
func (c *UserCommand) userArg(ctx context.Context, fs *flag.FlagSet, args []string) (*sqlstore.Store, *guardian.User, error) {
	pos, err := parseArgs(fs, args, 1, errUserUsage)
	if err != nil {
		return nil, nil, err
	}
	return c.findUser(ctx, pos[0])
}

// findUser opens the store and finds the user named name (in any case);
// the caller closes the store.
func (c *UserCommand) findUser(ctx context.Context, name string) (*sqlstore.Store, *guardian.User, error) {
	store, err := c.Store.openAdmin(ctx, c.Stderr)
	if err != nil {
		return nil, nil, err
	}
	name = strings.ToLower(name)
	u, err := store.FindUserByName(ctx, name)
	if err != nil {
		store.Close()
		if guardian.ErrorCode(err) == guardian.ENOTFOUND {
			return nil, nil, fmt.Errorf("no user named %q", name)
		}
		return nil, nil, fmt.Errorf("find user: %w", err)
	}
	return store, u, nil
}

// resetMFA gives a person a new TOTP secret and recovery codes, for a lost
// device: the old ones stop working and their sessions end.
func (c *UserCommand) resetMFA(ctx context.Context, args []string) error {
	fs := adminFlags("guardian user reset-mfa", c.Stderr, &c.Store)
	c.Network.register(fs)
	keyFile := masterKeyFlag(fs, "the second-factor secret")
	pos, err := parseArgs(fs, args, 1, errUserUsage)
	if err != nil {
		return err
	}
	// The network file names the hub, the issuer the authenticator app
	// shows, as for user add.
	n, _, err := loadNetwork(c.Network, c.Store.Data)
	if err != nil {
		return err
	}
	mk, err := hub.LoadMasterKey(*keyFile, c.Store.Data)
	if err != nil {
		return err
	}
	store, u, err := c.findUser(ctx, pos[0])
	if err != nil {
		return err
	}
	defer store.Close()
	key := identity.GenerateTOTPKey()
	codes, codeHashes := identity.GenerateRecoveryCodes()
	ev := adminEvent(fs.Name(), guardian.CategoryAuthentication, "user.mfa")
	ev.Reason = "reset"
	if err := store.SetUserMFA(ctx, u.ID, mk.SealUserSecret(u.Name, key.Bytes()), codeHashes, ev); err != nil {
		return fmt.Errorf("reset second factor: %w", err)
	}
	fmt.Fprintf(c.Stdout, "name: %s\n", u.Name)
	printSecondFactor(c.Stdout, n, u.Name, key, codes)
	fmt.Fprintln(c.Stdout, "the old secret and recovery codes no longer work; their sessions are ended")
	return nil
}

// unlock lifts the lock that failed sign-ins put on a person's account
// before it expires by itself.
func (c *UserCommand) unlock(ctx context.Context, args []string) error {
	fs := adminFlags("guardian user unlock", c.Stderr, &c.Store)
	store, u, err := c.userArg(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.UnlockUser(ctx, u.ID, adminEvent(fs.Name(), guardian.CategoryAuthentication, "user.unlock")); err != nil {
		return fmt.Errorf("unlock user: %w", err)
	}
	if u.LockedUntil == nil && u.FailedSignIns == 0 {
		fmt.Fprintf(c.Stdout, "%s was not locked\n", u.Name)
		return nil
	}
	fmt.Fprintf(c.Stdout, "unlocked %s\n", u.Name)
	return nil
}
