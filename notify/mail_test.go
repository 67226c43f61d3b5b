package notify_test

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/notify/notifytest"
)

func mustMailer(tb testing.TB, cfg notify.MailerConfig) *notify.Mailer {
	tb.Helper()
	if cfg.From == "" {
		cfg.From = "guardian@hub.example.org"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	m, err := notify.NewMailer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mustParse reads a received message and decodes its body.
func mustParse(tb testing.TB, data string) (*mail.Message, string) {
	tb.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		tb.Fatal(err)
	}
	return msg, string(body)
}

func TestMailerSend(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    notifytest.SMTPOptions
		cfg     notify.MailerConfig
		wantTLS bool
	}{
		{"Plain", notifytest.SMTPOptions{}, notify.MailerConfig{}, false},
		{"STARTTLS", notifytest.SMTPOptions{STARTTLS: true}, notify.MailerConfig{}, true},
		{"STARTTLSRequired", notifytest.SMTPOptions{STARTTLS: true}, notify.MailerConfig{RequireTLS: true}, true},
		{"STARTTLSWithAuth", notifytest.SMTPOptions{STARTTLS: true, Users: map[string]string{"hub": "s3cret"}},
			notify.MailerConfig{Username: "hub", Password: "s3cret", RequireTLS: true}, true},
		{"ImplicitTLSWithAuth", notifytest.SMTPOptions{ImplicitTLS: true, Users: map[string]string{"hub": "s3cret"}},
			notify.MailerConfig{Username: "hub", Password: "s3cret", ImplicitTLS: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := notifytest.MustSMTP(t, tc.opts)
			cfg := tc.cfg
			cfg.Addr, cfg.TLSConfig = srv.Addr, srv.ClientTLS
			m := mustMailer(t, cfg)
			body := "Referral:  42\nPriority:  1\n" + strings.Repeat("x", 100) + "\n"
			if err := m.Send(t.Context(), notify.Email{To: "duty@agency.example.org", Subject: "[Guardian] New referral 42, priority 1", Body: body}); err != nil {
				t.Fatal(err)
			}
			mails := srv.Mails()
			if len(mails) != 1 {
				t.Fatalf("%d mails arrived, want 1", len(mails))
			}
			got := mails[0]
			if got.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tc.wantTLS)
			}
			if got.From != "guardian@hub.example.org" || len(got.To) != 1 || got.To[0] != "duty@agency.example.org" {
				t.Errorf("envelope from %q to %q", got.From, got.To)
			}
			if got.Auth != cfg.Username {
				t.Errorf("authenticated as %q, want %q", got.Auth, cfg.Username)
			}
			for _, overTLS := range srv.AuthAttempts() {
				if !overTLS {
					t.Error("AUTH was sent without TLS")
				}
			}
			msg, text := mustParse(t, got.Data)
			for k, want := range map[string]string{
				"From": "guardian@hub.example.org", "To": "duty@agency.example.org",
				"Subject": "[Guardian] New referral 42, priority 1", "MIME-Version": "1.0",
				"Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
			} {
				if v := msg.Header.Get(k); v != want {
					t.Errorf("%s: %q, want %q", k, v, want)
				}
			}
			if d, err := msg.Header.Date(); err != nil || time.Since(d).Abs() > time.Minute {
				t.Errorf("Date: %v, %v", d, err)
			}
			if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@hub.example.org>") {
				t.Errorf("Message-ID %q", id)
			}
			if want := strings.ReplaceAll(body, "\n", "\r\n"); text != want {
				t.Errorf("body %q, want %q", text, want)
			}
		})
	}
}

func TestMailerRefuses(t *testing.T) {
	t.Run("RequireTLSWithoutSTARTTLS", func(t *testing.T) {
		srv := notifytest.MustSMTP(t, notifytest.SMTPOptions{})
		m := mustMailer(t, notify.MailerConfig{Addr: srv.Addr, RequireTLS: true})
		err := m.Send(t.Context(), notify.Email{To: "duty@agency.example.org", Subject: "s", Body: "b"})
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("Send = %v, want a refusal for the missing STARTTLS", err)
		}
		if n := len(srv.Mails()); n != 0 {
			t.Errorf("%d mails sent in the clear", n)
		}
	})
	t.Run("AuthWithoutTLS", func(t *testing.T) {
		// The server offers AUTH on a plain connection; the client must
		// not send the password.
		srv := notifytest.MustSMTP(t, notifytest.SMTPOptions{Users: map[string]string{"hub": "s3cret"}})
		m := mustMailer(t, notify.MailerConfig{Addr: srv.Addr, Username: "hub", Password: "s3cret"})
		err := m.Send(t.Context(), notify.Email{To: "duty@agency.example.org", Subject: "s", Body: "b"})
		if err == nil || !strings.Contains(err.Error(), "in the clear") {
			t.Errorf("Send = %v, want a refusal to authenticate in the clear", err)
		}
		if a := srv.AuthAttempts(); len(a) != 0 {
			t.Errorf("AUTH attempts %v, want none", a)
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		srv := notifytest.MustSMTP(t, notifytest.SMTPOptions{STARTTLS: true})
		m := mustMailer(t, notify.MailerConfig{Addr: srv.Addr}) // system roots
		if err := m.Send(t.Context(), notify.Email{To: "duty@agency.example.org", Subject: "s", Body: "b"}); err == nil {
			t.Error("sent over STARTTLS with an untrusted certificate")
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		srv := notifytest.MustSMTP(t, notifytest.SMTPOptions{Reject: true})
		m := mustMailer(t, notify.MailerConfig{Addr: srv.Addr})
		err := m.Send(t.Context(), notify.Email{To: "nobody@agency.example.org", Subject: "s", Body: "b"})
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("Send = %v, want the relay's 550", err)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		// A listener that accepts and never greets.
		srv := notifytest.MustSilent(t)
		m := mustMailer(t, notify.MailerConfig{Addr: srv, Timeout: 200 * time.Millisecond})
		start := time.Now()
		err := m.Send(context.Background(), notify.Email{To: "duty@agency.example.org", Subject: "s", Body: "b"})
		if err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("Send = %v after %v, want a timeout", err, time.Since(start))
		}
	})
}

func TestHeaderInjection(t *testing.T) {
	srv := notifytest.MustSMTP(t, notifytest.SMTPOptions{})
	m := mustMailer(t, notify.MailerConfig{Addr: srv.Addr})
	for name, msg := range map[string]notify.Email{
		"SubjectCRLF": {To: "duty@agency.example.org", Subject: "hi\r\nBcc: evil@example.com", Body: "b"},
		"SubjectLF":   {To: "duty@agency.example.org", Subject: "hi\nBcc: evil@example.com", Body: "b"},
		"ToCRLF":      {To: "duty@agency.example.org\r\nBcc: evil@example.com", Subject: "s", Body: "b"},
		"ToCommand":   {To: "duty@agency.example.org>\r\nRCPT TO:<evil@example.com", Subject: "s", Body: "b"},
		"ToTwo":       {To: "duty@agency.example.org, evil@example.com", Subject: "s", Body: "b"},
		"ToEmpty":     {To: "", Subject: "s", Body: "b"},
	} {
		if err := m.Send(t.Context(), msg); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	if n := len(srv.Mails()); n != 0 {
		t.Errorf("%d mails sent", n)
	}
	for _, from := range []string{"", "guardian@hub.example.org\r\nBcc: evil@example.com", "not an address"} {
		if _, err := notify.NewMailer(notify.MailerConfig{Addr: srv.Addr, From: from}); err == nil {
			t.Errorf("NewMailer accepted From %q", from)
		}
	}
	if _, err := notify.NewMailer(notify.MailerConfig{Addr: "no-port", From: "a@example.org"}); err == nil {
		t.Error("NewMailer accepted an address without a port")
	}
}
