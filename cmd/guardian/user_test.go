package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
)

// userTestData returns a data directory with a master key, and the demo
// network file's path.
func userTestData(t *testing.T) (data, network string) {
	t.Helper()
	data = t.TempDir()
	if _, err := crypto.LoadOrCreateMasterKey(filepath.Join(data, hub.MasterKeyFile)); err != nil {
		t.Fatal(err)
	}
	network, err := filepath.Abs(filepath.Join("..", "..", "examples", "network-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data, network
}

func TestUserAdd(t *testing.T) {
	data, network := userTestData(t)
	out := MustRunGuardian(t, "user", "add", "Ana@Example.org", "--data", data, "--network", network,
		"--org", "agency:py-fiscalia-cyber", "--role", "agency-investigator", "--role", "agency-supervisor",
		"--vetted-until", "2030-01-31", "--training-until", "2029-06-30", "--email", "ana@example.org")
	for _, want := range []string{
		"name: ana@example.org\n",
		"organisation: agency:py-fiscalia-cyber\n",
		"roles: agency-investigator,agency-supervisor\n",
		"password: gdn_",
		"totp uri: otpauth://totp/",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^totp secret: [A-Z2-7]+$`).MatchString(out) {
		t.Errorf("output lacks the base32 TOTP secret:\n%s", out)
	}
	if n := strings.Count(out[strings.Index(out, "recovery codes:"):], "\n  "); n != 10 {
		t.Errorf("%d recovery codes, want 10:\n%s", n, out)
	}

	list := MustRunGuardian(t, "user", "list", "--data", data)
	for _, want := range []string{"ana@example.org", "agency:py-fiscalia-cyber", "agency-investigator,agency-supervisor", "2030-01-31", "2029-06-30", "active"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "gdn_") || strings.Contains(list, "otpauth") {
		t.Errorf("user list shows a secret:\n%s", list)
	}

	MustRunGuardian(t, "user", "disable", "ANA@example.org", "--data", data)
	if list := MustRunGuardian(t, "user", "list", "--data", data); !strings.Contains(list, "disabled") {
		t.Errorf("user list after disable:\n%s", list)
	}
	if _, err := runGuardian("user", "disable", "nobody@example.org", "--data", data); err == nil || !strings.Contains(err.Error(), "no user named") {
		t.Errorf("disable of an unknown user: %v", err)
	}
}

func TestUserAddRefused(t *testing.T) {
	data, network := userTestData(t)
	add := func(args ...string) error {
		_, err := runGuardian(append([]string{"user", "add", "--data", data, "--network", network}, args...)...)
		return err
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"HubRoleInAgency", []string{"a@example.org", "--org", "agency:py-fiscalia-cyber", "--role", "hub-admin"}, "cannot hold the role hub-admin"},
		{"InvestigatorAtLiaison", []string{"b@example.org", "--org", "agency:lo-buenos-aires", "--role", "agency-investigator"}, "cannot hold the role"},
		{"UnknownAgency", []string{"c@example.org", "--org", "agency:nowhere", "--role", "agency-supervisor"}, "not in the network"},
		{"WrongHub", []string{"d@example.org", "--org", "hub:other", "--role", "hub-admin"}, "not in the network"},
		{"UnknownRole", []string{"e@example.org", "--org", "hub:demo-hub", "--role", "king"}, "Unknown role"},
		{"NoRole", []string{"f@example.org", "--org", "hub:demo-hub"}, "usage"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := add(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("user add %v: %v, want an error with %q", tt.args, err, tt.want)
			}
		})
	}
	if err := add("admin@example.org", "--org", "hub:demo-hub", "--role", "hub-admin"); err != nil {
		t.Fatal(err)
	}
	if err := add("admin@example.org", "--org", "hub:demo-hub", "--role", "hub-analyst"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate user add: %v", err)
	}
	if list := MustRunGuardian(t, "user", "list", "--data", data); strings.Count(list, "\n") != 2 {
		t.Errorf("user list after refusals, want the header and one user:\n%s", list)
	}
}

// openDataStore opens the SQLite store of the data directory in the test,
// between runs of the binary, and closes it when fn returns.
func openDataStore(t *testing.T, data string, fn func(s *sqlstore.Store)) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(data, hub.DatabaseFile), sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn(s)
}

// lastEvents returns the actions of the store's last n audit events, with
// their actor's name.
func lastEvents(t *testing.T, s *sqlstore.Store, n int) []string {
	t.Helper()
	evs, err := s.FindAuditEvents(t.Context(), guardian.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs[max(0, len(evs)-n):] {
		out = append(out, ev.Action+" by "+ev.Actor.Name+" "+ev.Reason)
	}
	return out
}

var totpSecretLine = regexp.MustCompile(`(?m)^totp secret: ([A-Z2-7]+)$`)

func TestUserResetMFA(t *testing.T) {
	data, network := userTestData(t)
	out := MustRunGuardian(t, "user", "add", "ana@example.org", "--data", data, "--network", network,
		"--org", "agency:py-fiscalia-cyber", "--role", "agency-investigator")
	old := totpSecretLine.FindStringSubmatch(out)
	if old == nil {
		t.Fatalf("user add printed no TOTP secret:\n%s", out)
	}
	_, sessionHash := identity.GenerateSessionSecret()
	openDataStore(t, data, func(s *sqlstore.Store) {
		u, err := s.FindUserByName(t.Context(), "ana@example.org")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := s.RecordSignIn(t.Context(), u.ID, identity.TOTPStep(now), &guardian.AuditEvent{Actor: u.Actor(), Action: "user.signin"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(t.Context(), &guardian.Session{Hash: sessionHash, UserID: u.ID, CreatedAt: now, LastSeenAt: now},
			&guardian.AuditEvent{Actor: u.Actor(), Action: "session.create"}); err != nil {
			t.Fatal(err)
		}
	})

	out = MustRunGuardian(t, "user", "reset-mfa", "Ana@Example.org", "--data", data, "--network", network)
	m := totpSecretLine.FindStringSubmatch(out)
	if m == nil || m[1] == old[1] {
		t.Fatalf("reset-mfa printed no new TOTP secret (old %s):\n%s", old[1], out)
	}
	if !strings.Contains(out, "totp uri: otpauth://totp/") || !strings.Contains(out, "sessions are ended") {
		t.Errorf("reset-mfa output:\n%s", out)
	}
	var codes []string
	for _, line := range strings.Split(out[strings.Index(out, "recovery codes:"):], "\n") {
		if code, ok := strings.CutPrefix(line, "  "); ok {
			codes = append(codes, code)
		}
	}
	if len(codes) != identity.RecoveryCodeCount {
		t.Fatalf("%d recovery codes, want %d:\n%s", len(codes), identity.RecoveryCodeCount, out)
	}
	key, err := identity.ParseTOTPKey(m[1])
	if err != nil {
		t.Fatal(err)
	}
	mk, err := hub.LoadMasterKey("", data)
	if err != nil {
		t.Fatal(err)
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		u, err := s.FindUserByName(t.Context(), "ana@example.org")
		if err != nil {
			t.Fatal(err)
		}
		secret, err := mk.OpenUserSecret(u.Name, u.TOTPSecret)
		if err != nil || !bytes.Equal(secret, key.Bytes()) {
			t.Errorf("stored TOTP secret %x (%v), want the one printed", secret, err)
		}
		if u.TOTPLastStep != 0 {
			t.Errorf("TOTPLastStep %d after a reset, want 0", u.TOTPLastStep)
		}
		for _, code := range codes {
			if _, ok := identity.MatchRecoveryCode(code, u.RecoveryCodeHashes); !ok {
				t.Errorf("printed recovery code %s is not stored", code)
			}
		}
		if _, err := s.FindSessionByHash(t.Context(), sessionHash); guardian.ErrorCode(err) != guardian.ENOTFOUND {
			t.Errorf("session after reset-mfa: %v, want ENOTFOUND", err)
		}
		want := []string{"user.mfa by guardian user reset-mfa reset", "session.end by guardian user reset-mfa mfa"}
		if got := lastEvents(t, s, 2); strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("audit events %q, want %q", got, want)
		}
	})
	if _, err := runGuardian("user", "reset-mfa", "nobody@example.org", "--data", data, "--network", network); err == nil || !strings.Contains(err.Error(), "no user named") {
		t.Errorf("reset-mfa of an unknown user: %v", err)
	}
}

func TestUserUnlock(t *testing.T) {
	data, network := userTestData(t)
	MustRunGuardian(t, "user", "add", "ana@example.org", "--data", data, "--network", network,
		"--org", "agency:py-fiscalia-cyber", "--role", "agency-investigator")
	if out := MustRunGuardian(t, "user", "unlock", "ana@example.org", "--data", data); !strings.Contains(out, "was not locked") {
		t.Errorf("unlock of an unlocked user: %q", out)
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		u, err := s.FindUserByName(t.Context(), "ana@example.org")
		if err != nil {
			t.Fatal(err)
		}
		for range identity.DefaultLockout.MaxFailures {
			ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorUser, Name: u.Name}, Action: "user.signin", Reason: "password"}
			if u, err = s.RecordSignInFailure(t.Context(), u.ID, identity.DefaultLockout.Fail, ev); err != nil {
				t.Fatal(err)
			}
		}
		if u.LockedUntil == nil {
			t.Fatal("five failures did not lock the account")
		}
	})
	if out := MustRunGuardian(t, "user", "unlock", "ANA@example.org", "--data", data); !strings.Contains(out, "unlocked ana@example.org") {
		t.Errorf("user unlock printed %q", out)
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		u, err := s.FindUserByName(t.Context(), "ana@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if u.LockedUntil != nil || u.FailedSignIns != 0 {
			t.Errorf("after unlock: locked until %v, %d failures", u.LockedUntil, u.FailedSignIns)
		}
		if got := lastEvents(t, s, 1); len(got) != 1 || got[0] != "user.unlock by guardian user unlock " {
			t.Errorf("last audit event %q", got)
		}
	})
	if _, err := runGuardian("user", "unlock", "nobody@example.org", "--data", data); err == nil || !strings.Contains(err.Error(), "no user named") {
		t.Errorf("unlock of an unknown user: %v", err)
	}
	if _, err := runGuardian("user", "unlock", "--data", data); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("unlock without a name: %v", err)
	}
}
