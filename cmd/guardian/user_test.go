package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
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
