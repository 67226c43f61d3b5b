// Package demo is what guardian demo runs beside its hub so that the whole
// network can be seen at work on one machine: an SMTP catcher and a
// webhook receiver that keep the e-mail and webhooks the hub sends (the
// agencies' notifications) for the hub's pages to show, and a simulated
// reporting service that submits synthetic reports through the real /ispws
// API at a gentle pace.
//
// Everything it makes is synthetic: invented names, example.com and
// example.org addresses, generated pictures (gradients and noise) and
// bytes, and IP addresses taken either from the documentation ranges or
// from the embedded geolocation table for the country a report is meant
// to point to.
package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// MaxMails is how many messages a MailCatcher keeps: the newest.
const MaxMails = 500

// maxBody bounds the text kept of one message; notifications are a few
// hundred bytes.
const maxBody = 64 << 10

// Mail is one message the catcher received, decoded for reading.
type Mail struct {
	Received time.Time
	From     string
	To       []string
	Subject  string
	Body     string
}

// MailCatcher is an SMTP server on loopback that accepts every message
// and keeps the last MaxMails in memory. It offers no TLS and no AUTH:
// the hub's mailer is configured not to require them for it.
type MailCatcher struct {
	srv *smtp.Server
	ln  net.Listener

	mu    sync.Mutex
	mails []Mail // oldest first, at most MaxMails
	total int
}

// StartMailCatcher listens on addr (such as 127.0.0.1:0) and serves until
// Close.
func StartMailCatcher(addr string, logger *slog.Logger) (*MailCatcher, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail catcher: %w", err)
	}
	c := &MailCatcher{ln: ln}
	c.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{c: c}, nil
	}))
	c.srv.Domain = "localhost"
	c.srv.ReadTimeout = 30 * time.Second
	c.srv.WriteTimeout = 30 * time.Second
	c.srv.MaxMessageBytes = 1 << 20
	c.srv.MaxRecipients = 50
	go func() {
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && logger != nil {
			logger.Error("demo mail catcher stopped", slog.Any("error", err))
		}
	}()
	return c, nil
}

// Addr returns the host:port the catcher listens on.
func (c *MailCatcher) Addr() string { return c.ln.Addr().String() }

// Close stops the server.
func (c *MailCatcher) Close() error { return c.srv.Close() }

// Messages returns the messages kept, newest first.
func (c *MailCatcher) Messages() []Mail {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Mail, len(c.mails))
	for i, m := range c.mails {
		out[len(c.mails)-1-i] = m
	}
	return out
}

// Total returns how many messages the catcher has received, including
// those no longer kept.
func (c *MailCatcher) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

func (c *MailCatcher) keep(m Mail) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if len(c.mails) == MaxMails {
		// Shifting 500 small structs per message is cheaper than it
		// sounds at a demo's pace, and keeps the order obvious.
		copy(c.mails, c.mails[1:])
		c.mails = c.mails[:MaxMails-1]
	}
	c.mails = append(c.mails, m)
}

// session is one SMTP conversation.
type session struct {
	c    *MailCatcher
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := decode(raw)
	m.Received, m.From, m.To = time.Now(), s.from, append([]string(nil), s.to...)
	s.c.keep(m)
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// decode reads the subject and the text of a message as package notify
// writes it (one quoted-printable text part); anything it cannot parse is
// kept raw.
func decode(raw []byte) Mail {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{Body: clip(string(raw))}
	}
	var m Mail
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.Subject = msg.Header.Get("Subject")
	}
	var body io.Reader = io.LimitReader(msg.Body, maxBody)
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil && len(b) == 0 {
		b = raw
	}
	m.Body = clip(strings.ReplaceAll(string(b), "\r\n", "\n"))
	return m
}

func clip(s string) string {
	if len(s) > maxBody {
		return s[:maxBody]
	}
	return s
}
