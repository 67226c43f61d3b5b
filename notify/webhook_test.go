package notify_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/notify/notifytest"
)

// TestSignVector checks the signature against the test vector of the
// Standard Webhooks reference library
// (standard-webhooks/libraries/go/webhook_test.go, TestWebhookSign).
func TestSignVector(t *testing.T) {
	secret, err := notify.ParseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := secret.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookSecret(t *testing.T) {
	s := notify.GenerateWebhookSecret()
	back, err := notify.ParseWebhookSecret(s.String())
	if err != nil || back.String() != s.String() {
		t.Fatalf("ParseWebhookSecret(String()) = %v, %v", back, err)
	}
	if !strings.HasPrefix(s.String(), "whsec_") || len(s.String()) != len("whsec_")+44 {
		t.Errorf("secret %q is not whsec_ and 32 bytes of base64", s)
	}
	if v := s.LogValue().String(); strings.Contains(v, s.String()[6:]) {
		t.Errorf("LogValue %q shows the secret", v)
	}
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!", "whsec_" + strings.Repeat("A", 16), "whsec_" + strings.Repeat("A", 100)} {
		if _, err := notify.ParseWebhookSecret(bad); err == nil {
			t.Errorf("ParseWebhookSecret(%q) accepted", bad)
		}
	}
}

func TestWebhookSend(t *testing.T) {
	secret := notify.GenerateWebhookSecret()
	rc := notifytest.MustReceiver(t, secret.String())
	c := notify.NewWebhookClient(notify.WebhookConfig{TLSConfig: rc.ClientTLS, Timeout: 5 * time.Second})
	body := []byte(`{"type":"referral.new"}`)
	if err := c.Send(t.Context(), rc.URL, secret, "referral-42-delivered", body); err != nil {
		t.Fatal(err)
	}
	hooks := rc.Hooks()
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks arrived", len(hooks))
	}
	h := hooks[0]
	if !h.Verified {
		t.Error("the receiver could not verify the signature")
	}
	if string(h.Body) != string(body) || h.Header.Get("webhook-id") != "referral-42-delivered" || h.Header.Get("Content-Type") != "application/json" {
		t.Errorf("received %q with headers %v", h.Body, h.Header)
	}
	if err := secret.Verify(h.Header, h.Body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := notify.GenerateWebhookSecret().Verify(h.Header, h.Body, time.Now(), 5*time.Minute); err == nil {
		t.Error("Verify accepted another secret's signature")
	}
	if err := secret.Verify(h.Header, []byte(`{"type":"referral.other"}`), time.Now(), 5*time.Minute); err == nil {
		t.Error("Verify accepted a changed body")
	}
	if err := secret.Verify(h.Header, h.Body, time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("Verify accepted an old timestamp")
	}

	t.Run("WrongSecretRefused", func(t *testing.T) {
		if err := c.Send(t.Context(), rc.URL, notify.GenerateWebhookSecret(), "referral-42-delivered", body); err == nil {
			t.Error("a webhook signed with another secret was accepted")
		}
	})
	t.Run("Status", func(t *testing.T) {
		for _, code := range []int{http.StatusInternalServerError, http.StatusGone, http.StatusFound, http.StatusMovedPermanently} {
			rc.SetStatus(func() int { return code })
			err := c.Send(t.Context(), rc.URL, secret, "referral-42-delivered", body)
			var se *notify.StatusError
			if !errors.As(err, &se) || se.Code != code {
				t.Errorf("answer %d: Send = %v", code, err)
			}
			if err != nil && !strings.Contains(err.Error(), strconv.Itoa(code)) {
				t.Errorf("error %q does not name the status", err)
			}
		}
		rc.SetStatus(func() int { return http.StatusOK })
		if err := c.Send(t.Context(), rc.URL, secret, "referral-42-delivered", body); err != nil {
			t.Errorf("answer 200: %v", err)
		}
	})
	t.Run("BadID", func(t *testing.T) {
		for _, id := range []string{"", "a.b", "a b"} {
			if err := c.Send(t.Context(), rc.URL, secret, id, body); err == nil {
				t.Errorf("id %q accepted", id)
			}
		}
	})
}

func TestWebhookNoRedirect(t *testing.T) {
	secret := notify.GenerateWebhookSecret()
	rc := notifytest.MustReceiver(t, secret.String())
	redirect := httptest.NewTLSServer(http.RedirectHandler(rc.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	c := notify.NewWebhookClient(notify.WebhookConfig{TLSConfig: redirect.Client().Transport.(*http.Transport).TLSClientConfig, Timeout: 5 * time.Second})
	err := c.Send(t.Context(), redirect.URL, secret, "id1", []byte(`{}`))
	var se *notify.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusTemporaryRedirect {
		t.Errorf("Send = %v, want the 307 as an error", err)
	}
	if n := len(rc.Hooks()); n != 0 {
		t.Errorf("the redirect was followed: %d webhooks at its target", n)
	}
}

func TestWebhookBounded(t *testing.T) {
	secret := notify.GenerateWebhookSecret()
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer hang.Close()
		defer close(release)
		c := notify.NewWebhookClient(notify.WebhookConfig{TLSConfig: hang.Client().Transport.(*http.Transport).TLSClientConfig, Timeout: 200 * time.Millisecond})
		start := time.Now()
		if err := c.Send(t.Context(), hang.URL, secret, "id1", []byte(`{}`)); err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("Send = %v after %v, want a timeout", err, time.Since(start))
		}
	})
	t.Run("LongAnswer", func(t *testing.T) {
		// An endless answer is read only so far.
		long := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for range 1 << 12 { // 128 MiB if read to the end
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		defer long.Close()
		c := notify.NewWebhookClient(notify.WebhookConfig{TLSConfig: long.Client().Transport.(*http.Transport).TLSClientConfig, Timeout: 5 * time.Second})
		start := time.Now()
		if err := c.Send(t.Context(), long.URL, secret, "id1", []byte(`{}`)); err != nil {
			t.Errorf("Send = %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v: the answer was read too far", d)
		}
	})
	t.Run("HTTPRefusedWithoutSecret", func(t *testing.T) {
		c := notify.NewWebhookClient(notify.WebhookConfig{})
		if err := c.Send(t.Context(), "https://192.0.2.1/hook", notify.WebhookSecret{}, "id1", []byte(`{}`)); err == nil {
			t.Error("sent without a secret")
		}
	})
}

func TestSealWebhookSecret(t *testing.T) {
	mk, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	s := notify.GenerateWebhookSecret()
	sealed := notify.SealWebhookSecret(mk, "py", s)
	if strings.Contains(string(sealed), s.String()[6:]) {
		t.Fatal("sealed secret holds the secret in the clear")
	}
	back, err := notify.OpenWebhookSecret(mk, "py", sealed)
	if err != nil || back.String() != s.String() {
		t.Fatalf("OpenWebhookSecret = %v, %v", back, err)
	}
	if _, err := notify.OpenWebhookSecret(mk, "ar", sealed); err == nil {
		t.Error("a secret sealed for py opened for ar")
	}
	other, _ := crypto.GenerateMasterKey()
	if _, err := notify.OpenWebhookSecret(other, "py", sealed); err == nil {
		t.Error("a secret opened with another master key")
	}
}
