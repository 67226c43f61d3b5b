package demo

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/guardian-network/guardian/notify"
)

// TestWebhookCatcher: the hub's own webhook client, given the catcher's
// dialer and certificate, posts an agency's webhook at its example.org
// URL; the catcher receives it over TLS, checks its signature with the
// agency's secret and keeps it. A webhook signed with another secret is
// refused (401, which the client reports as a failure) and kept as
// refused; a host the certificate does not name fails TLS.
func TestWebhookCatcher(t *testing.T) {
	secret := notify.GenerateWebhookSecret()
	hosts := map[string]string{"py-fiscalia.example.org": "py-fiscalia-cyber", "us-federal.example.org": "us-federal-cac"}
	secrets := map[string]notify.WebhookSecret{"py-fiscalia-cyber": secret, "us-federal-cac": notify.GenerateWebhookSecret()}
	c, err := StartWebhookCatcher("127.0.0.1:0", hosts, secrets, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := notify.NewWebhookClient(notify.WebhookConfig{DialContext: c.Dial,
		TLSConfig: &tls.Config{RootCAs: c.RootCAs(), MinVersion: tls.VersionTLS12}})
	ctx := t.Context()

	body := []byte(`{"type":"referral.new","data":{"referralId":7}}`)
	if err := client.Send(ctx, "https://py-fiscalia.example.org/hooks/guardian", secret, "msg_1", body); err != nil {
		t.Fatalf("send to the catcher: %v", err)
	}
	// Signed with py-fiscalia's secret, sent to us-federal's URL.
	err = client.Send(ctx, "https://us-federal.example.org/hooks/guardian", secret, "msg_2", body)
	var status *notify.StatusError
	if !errors.As(err, &status) || status.Code != 401 {
		t.Errorf("a webhook with the wrong secret: %v, want a 401", err)
	}
	if err := client.Send(ctx, "https://elsewhere.example.net/hook", secret, "msg_3", body); err == nil {
		t.Error("a host the catcher's certificate does not name was accepted")
	}

	// Hostile requests get a clear refusal: not a POST, a body over the
	// limit, no signature. Only the unsigned one is a webhook to keep.
	raw := &http.Client{Transport: &http.Transport{DialContext: c.Dial,
		TLSClientConfig: &tls.Config{RootCAs: c.RootCAs(), MinVersion: tls.VersionTLS12}}}
	for _, tc := range []struct {
		method string
		body   string
		want   int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, strings.Repeat("x", maxWebhookBody+1), http.StatusRequestEntityTooLarge},
		{http.MethodPost, `{"unsigned":true}`, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequestWithContext(ctx, tc.method, "https://py-fiscalia.example.org/hooks/guardian", strings.NewReader(tc.body))
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s with %d bytes: %d, want %d", tc.method, len(tc.body), resp.StatusCode, tc.want)
		}
	}
	if _, total := c.Webhooks(); total != 3 {
		t.Errorf("%d webhooks kept after the hostile requests, want 3 (the unsigned one added)", total)
	}
	hooks, total := c.Webhooks()
	hooks, total = hooks[1:], total-1 // the unsigned one, newest
	if total != 2 || len(hooks) != 2 {
		t.Fatalf("%d webhooks kept of %d, want 2 of 2: %+v", len(hooks), total, hooks)
	}
	refused, ok := hooks[0], hooks[1] // newest first
	if !ok.Verified || ok.Agency != "py-fiscalia-cyber" || ok.ID != "msg_1" || ok.Body != string(body) ||
		ok.URL != "https://py-fiscalia.example.org/hooks/guardian" {
		t.Errorf("the good webhook was kept as %+v", ok)
	}
	if refused.Verified || refused.Agency != "us-federal-cac" || refused.ID != "msg_2" {
		t.Errorf("the refused webhook was kept as %+v", refused)
	}
}
