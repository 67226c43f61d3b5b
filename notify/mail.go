package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"
)

// MailerConfig configures a [Mailer]: the relay it hands every message to.
type MailerConfig struct {
	// Addr is the relay's host:port, such as smtp.example.org:587.
	Addr string
	// From is the sender address, such as guardian@hub.example.org.
	From string
	// Username and Password, if set, authenticate with AUTH PLAIN, which
	// is only ever sent over TLS.
	Username string
	Password string
	// RequireTLS refuses to send unless the session is encrypted (STARTTLS
	// or ImplicitTLS). Without it, STARTTLS is still used whenever the
	// relay offers it.
	RequireTLS bool
	// ImplicitTLS connects with TLS from the first byte (SMTPS, port 465)
	// instead of STARTTLS.
	ImplicitTLS bool
	// Timeout bounds one message's whole exchange; default 30 seconds.
	Timeout time.Duration
	// TLSConfig is the client's TLS configuration (tests give their own
	// roots); nil uses the system roots. ServerName defaults to the host of
	// Addr.
	TLSConfig *tls.Config
	// HelloName is the name given in EHLO; default "localhost".
	HelloName string
}

// Mailer sends plain-text e-mail through one SMTP relay, one connection
// per message.
type Mailer struct {
	cfg  MailerConfig
	host string
	from string // the bare address
	// domain is From's domain, for Message-ID.
	domain string
	// now stamps the Date header; tests may replace it.
	now func() time.Time
}

// NewMailer checks cfg and returns a Mailer.
func NewMailer(cfg MailerConfig) (*Mailer, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp relay %q is not host:port", cfg.Addr)
	}
	from, err := ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp sender: %w", err)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("smtp: give both a user name and a password, or neither")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	if strings.ContainsAny(cfg.HelloName, "\r\n ") {
		return nil, errors.New("smtp: the EHLO name must be one word")
	}
	return &Mailer{cfg: cfg, host: host, from: from, domain: from[strings.LastIndexByte(from, '@')+1:], now: time.Now}, nil
}

// ParseAddress checks an e-mail address and returns it bare
// (local@domain). It refuses control characters, so an address can never
// add a header or an SMTP command.
func ParseAddress(s string) (string, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("address %q has control characters", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", s, err)
	}
	if !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, "<>\r\n") {
		return "", fmt.Errorf("address %q is not local@domain", s)
	}
	return a.Address, nil
}

// Email is one plain-text message.
type Email struct {
	To      string // one address
	Subject string
	Body    string
}

// Send delivers msg to the relay: it connects (TLS at once with
// ImplicitTLS), upgrades with STARTTLS when the relay offers it (refusing
// to go on without it under RequireTLS), authenticates only over TLS, and
// sends. An error means the relay did not accept the message.
func (m *Mailer) Send(ctx context.Context, msg Email) error {
	to, err := ParseAddress(msg.To)
	if err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	data, err := m.message(to, msg.Subject, msg.Body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()

	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", m.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	// net/smtp takes no context: the deadline bounds every read and
	// write, and cancelling closes the connection under it.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	if m.cfg.ImplicitTLS {
		tc := tls.Client(conn, m.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", ctxErr(ctx, err))
	}
	defer c.Close()
	if err := m.session(c, to, data); err != nil {
		return ctxErr(ctx, err)
	}
	return nil
}

// ctxErr prefers the context's error to the one a closed connection gave.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func (m *Mailer) session(c *smtp.Client, to string, data []byte) error {
	if err := c.Hello(m.cfg.HelloName); err != nil {
		return fmt.Errorf("smtp ehlo: %w", err)
	}
	if !m.cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		} else if m.cfg.RequireTLS {
			return fmt.Errorf("smtp relay %s does not offer STARTTLS, and TLS is required", m.cfg.Addr)
		}
	}
	_, encrypted := c.TLSConnectionState()
	if m.cfg.Username != "" {
		// net/smtp's PlainAuth would also send the password in the clear
		// to a relay on localhost; we never do.
		if !encrypted {
			return fmt.Errorf("smtp relay %s offers no TLS: refusing to send the password in the clear", m.cfg.Addr)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("smtp relay %s does not offer AUTH", m.cfg.Addr)
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	// The relay accepted the message at the end of DATA; a failed QUIT
	// does not undo that.
	_ = c.Quit()
	return nil
}

func (m *Mailer) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.cfg.TLSConfig != nil {
		cfg = m.cfg.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = m.host
	}
	return cfg
}

// message writes the headers and the quoted-printable body. The subject
// must be one line; addresses were checked by ParseAddress.
func (m *Mailer) message(to, subject, body string) ([]byte, error) {
	if strings.ContainsFunc(subject, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, errors.New("mail subject has control characters")
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", m.from)
	header("To", to)
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", m.now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+m.domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return nil, fmt.Errorf("encode mail body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("encode mail body: %w", err)
	}
	return b.Bytes(), nil
}
