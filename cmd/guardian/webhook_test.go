package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/sqlstore"
)

var webhookSecretLine = regexp.MustCompile(`(?m)^secret: (whsec_\S+)$`)

func TestWebhookSecret(t *testing.T) {
	data, network := userTestData(t)
	mk, err := crypto.LoadMasterKey(filepath.Join(data, hub.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	secretOf := func(out string) notify.WebhookSecret {
		t.Helper()
		m := webhookSecretLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no secret in the output:\n%s", out)
		}
		s, err := notify.ParseWebhookSecret(m[1])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	out := MustRunGuardian(t, "webhook", "secret", "py-fiscalia-cyber", "--data", data, "--network", network)
	first := secretOf(out)
	if !strings.Contains(out, "agency: py-fiscalia-cyber\n") || !strings.Contains(out, "webhook: https://py-fiscalia.example.org/hooks/guardian\n") {
		t.Errorf("output:\n%s", out)
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		sealed, err := s.FindWebhookSecret(t.Context(), "py-fiscalia-cyber")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sealed), first.String()) {
			t.Error("the secret is stored in the clear")
		}
		got, err := notify.OpenWebhookSecret(mk, "py-fiscalia-cyber", sealed)
		if err != nil || got.String() != first.String() {
			t.Errorf("stored secret opens to %v, %v; want the printed one", got, err)
		}
		if evs := lastEvents(t, s, 1); len(evs) != 1 || !strings.HasPrefix(evs[0], "webhook.secret by guardian webhook secret") {
			t.Errorf("last audit event %v", evs)
		}
	})

	// A new secret replaces the old one.
	second := secretOf(MustRunGuardian(t, "webhook", "secret", "py-fiscalia-cyber", "--data", data, "--network", network))
	if second.String() == first.String() {
		t.Fatal("the same secret twice")
	}
	openDataStore(t, data, func(s *sqlstore.Store) {
		sealed, err := s.FindWebhookSecret(t.Context(), "py-fiscalia-cyber")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := notify.OpenWebhookSecret(mk, "py-fiscalia-cyber", sealed); err != nil || got.String() != second.String() {
			t.Errorf("after replacing: %v, %v", got, err)
		}
		evs, err := s.FindAuditEvents(t.Context(), guardian.AuditFilter{Action: "webhook.secret"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].ObjectID != "py-fiscalia-cyber" || evs[1].Category != guardian.CategoryPermission {
			t.Errorf("webhook.secret events %+v", evs)
		}
	})

	// An agency without a webhook gets one, with a note.
	if out := MustRunGuardian(t, "webhook", "secret", "de-bka-cac", "--data", data, "--network", network); !strings.Contains(out, "note: the network file gives de-bka-cac no webhook yet") {
		t.Errorf("output for an agency without a webhook:\n%s", out)
	}

	for _, args := range [][]string{
		{"webhook", "secret", "no-such-agency", "--data", data, "--network", network},
		{"webhook", "secret", "--data", data, "--network", network},
		{"webhook", "secret", "a", "b", "--data", data, "--network", network},
		{"webhook", "rotate", "py-fiscalia-cyber", "--data", data, "--network", network},
		{"webhook", "secret", "py-fiscalia-cyber", "--data", data, "--network", network, "--master-key-file", filepath.Join(data, "missing.key")},
	} {
		if out, err := runGuardian(args...); err == nil {
			t.Errorf("guardian %s succeeded:\n%s", strings.Join(args, " "), out)
		} else if strings.Contains(out, "whsec_") {
			t.Errorf("guardian %s printed a secret:\n%s", strings.Join(args, " "), out)
		}
	}
}
