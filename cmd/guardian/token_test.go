package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/sqlstore"
)

var apiTokenLine = regexp.MustCompile(`(?m)^token: (gdn_[a-z2-7]{52})$`)

func TestTokenAPI(t *testing.T) {
	data, network := userTestData(t)
	add := func(args ...string) (string, error) {
		return runGuardian(append([]string{"token", "add", "--data", data, "--network", network}, args...)...)
	}
	out, err := add("py-case-system", "--agency", "py-fiscalia-cyber", "--role", "agency-investigator", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: py-case-system\n", "organisation: agency:py-fiscalia-cyber\n", "role: agency-investigator\n", "shown once"} {
		if !strings.Contains(out, want) {
			t.Errorf("token add output lacks %q:\n%s", want, out)
		}
	}
	m := apiTokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("token add printed no API token:\n%s", out)
	}
	hash, ok := identity.APITokenHash(m[1])
	if !ok {
		t.Fatalf("the printed token %q is not an API token", m[1])
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		tok, err := s.FindAPITokenByHash(t.Context(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Organisation != guardian.AgencyOrganisation("py-fiscalia-cyber") || tok.Role != guardian.RoleAgencyInvestigator {
			t.Errorf("stored token %+v", tok)
		}
		if d := time.Until(tok.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour {
			t.Errorf("token expires in %v, want 30 days", d)
		}
		if err := identity.CheckAPIToken(tok, time.Now()); err != nil {
			t.Errorf("CheckAPIToken: %v", err)
		}
		if got := lastEvents(t, s, 1); len(got) != 1 || got[0] != "token.create by guardian token add agency-investigator" {
			t.Errorf("last audit event %q", got)
		}
	})

	// A date, and the default lifetime.
	if out, err := add("py-archive", "--agency", "py-fiscalia-cyber", "--role", "agency-supervisor", "--expires", time.Now().AddDate(0, 2, 0).Format(time.DateOnly)); err != nil {
		t.Errorf("token add with a date: %v", err)
	} else if !apiTokenLine.MatchString(out) {
		t.Errorf("token add with a date printed:\n%s", out)
	}
	if _, err := add("lo-relay", "--agency", "lo-buenos-aires", "--role", "liaison-officer"); err != nil {
		t.Errorf("token add with the default expiry: %v", err)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"Duplicate", []string{"py-case-system", "--agency", "py-fiscalia-cyber", "--role", "agency-investigator"}, "already exists"},
		{"InvestigatorAtLiaison", []string{"x1", "--agency", "lo-buenos-aires", "--role", "agency-investigator"}, "cannot hold the role"},
		{"HubRoleAtAgency", []string{"x2", "--agency", "py-fiscalia-cyber", "--role", "hub-admin"}, "cannot hold the role"},
		{"UnknownAgency", []string{"x3", "--agency", "nowhere", "--role", "agency-supervisor"}, "not in the network"},
		{"UnknownRole", []string{"x4", "--agency", "py-fiscalia-cyber", "--role", "king"}, "Unknown role"},
		{"TooLong", []string{"x5", "--agency", "py-fiscalia-cyber", "--role", "agency-supervisor", "--expires", "400d"}, "at most 366 days"},
		{"Passed", []string{"x6", "--agency", "py-fiscalia-cyber", "--role", "agency-supervisor", "--expires", "2020-01-31"}, "has passed"},
		{"BadExpiry", []string{"x7", "--agency", "py-fiscalia-cyber", "--role", "agency-supervisor", "--expires", "soon"}, "number of days"},
		{"ExpiryWithoutAgency", []string{"x8", "--role", "auditor", "--expires", "30d"}, "needs --agency"},
		{"AgencyRoleWithoutAgency", []string{"x9", "--role", "agency-investigator"}, "unknown role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := add(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("token add %v: %v, want an error with %q", tt.args, err, tt.want)
			}
		})
	}

	// The auditor and admin tokens keep working beside the API tokens.
	if out, err := add("court-auditor", "--role", "auditor"); err != nil || !regexp.MustCompile(`(?m)^token: gdn_[A-Za-z0-9_-]{43}$`).MatchString(out) {
		t.Errorf("token add --role auditor: %v\n%s", err, out)
	}

	list := MustRunGuardian(t, "token", "list", "--data", data)
	if strings.Count(list, "\n") != 4 || strings.Contains(list, "gdn_") || strings.Contains(list, hash) {
		t.Errorf("token list, want a header and three API tokens without secrets:\n%s", list)
	}
	for _, want := range []string{"py-case-system", "agency:py-fiscalia-cyber", "agency-investigator", "py-archive", "lo-relay", "active"} {
		if !strings.Contains(list, want) {
			t.Errorf("token list lacks %q:\n%s", want, list)
		}
	}

	if out := MustRunGuardian(t, "token", "revoke", "py-case-system", "--data", data); !strings.Contains(out, "revoked py-case-system") {
		t.Errorf("token revoke printed %q", out)
	}
	if out := MustRunGuardian(t, "token", "revoke", "py-case-system", "--data", data); !strings.Contains(out, "revoked already") {
		t.Errorf("second token revoke printed %q", out)
	}
	if _, err := runGuardian("token", "revoke", "nothing", "--data", data); err == nil || !strings.Contains(err.Error(), "no API token named") {
		t.Errorf("revoke of an unknown token: %v", err)
	}
	if list := MustRunGuardian(t, "token", "list", "--data", data); !regexp.MustCompile(`(?m)^\d+\s+py-case-system\s.*\srevoked$`).MatchString(list) {
		t.Errorf("token list after revoke:\n%s", list)
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		tok, err := s.FindAPITokenByHash(t.Context(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := identity.CheckAPIToken(tok, time.Now()); guardian.ErrorCode(err) != guardian.EUNAUTHORIZED {
			t.Errorf("CheckAPIToken of the revoked token: %v", err)
		}
		if got := lastEvents(t, s, 1); len(got) != 1 || got[0] != "token.revoke by guardian token revoke " {
			t.Errorf("last audit event %q", got)
		}
	})
}
