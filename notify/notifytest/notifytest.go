// Package notifytest runs what notifications are sent to, in-process and on
// loopback, for tests: an SMTP server (github.com/emersion/go-smtp) with or
// without STARTTLS, and an HTTPS webhook receiver that checks signatures on
// its own, without package notify's code. Only tests import it.
package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// MustCertificate returns a self-signed certificate for 127.0.0.1 and
// localhost, and a client TLS configuration that trusts only it.
func MustCertificate(tb testing.TB) (tls.Certificate, *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notifytest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data string
	TLS  bool // the session was encrypted
	Auth string
}

// SMTPOptions configures [MustSMTP].
type SMTPOptions struct {
	// STARTTLS offers STARTTLS with a self-signed certificate;
	// ImplicitTLS speaks TLS from the first byte instead.
	STARTTLS    bool
	ImplicitTLS bool
	// Users are the accepted AUTH PLAIN user names and passwords; AUTH
	// is offered even without TLS, so that tests see a client refuse it.
	Users map[string]string
	// Reject makes every RCPT TO fail with a permanent error.
	Reject bool
}

// SMTP is a running in-process SMTP server.
type SMTP struct {
	Addr string
	// ClientTLS trusts the server's certificate.
	ClientTLS *tls.Config

	mu       sync.Mutex
	mails    []Mail
	authSeen []bool // for each AUTH attempt, whether it came over TLS
	arrived  chan struct{}
}

// MustSMTP starts an SMTP server on loopback, closed at the end of the
// test.
func MustSMTP(tb testing.TB, opts SMTPOptions) *SMTP {
	tb.Helper()
	s := &SMTP{arrived: make(chan struct{}, 1024)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c, opts: opts}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	var l net.Listener
	var err error
	if opts.STARTTLS || opts.ImplicitTLS {
		cert, client := MustCertificate(tb)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.ClientTLS = client
	}
	if opts.ImplicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return s
}

// Mails returns the messages accepted so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// AuthAttempts returns, for each AUTH command received, whether it came
// over TLS.
func (s *SMTP) AuthAttempts() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.authSeen...)
}

// WaitMails waits until n messages have arrived, or fails the test after
// timeout.
func (s *SMTP) WaitMails(tb testing.TB, n int, timeout time.Duration) []Mail {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			tb.Fatalf("waited %v for %d mails, have %d", timeout, n, len(s.Mails()))
		}
	}
}

type session struct {
	srv  *SMTP
	conn *smtp.Conn
	opts SMTPOptions
	mail Mail
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.opts.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	_, isTLS := ss.conn.TLSConnectionState()
	ss.srv.mu.Lock()
	ss.srv.authSeen = append(ss.srv.authSeen, isTLS)
	ss.srv.mu.Unlock()
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if p, ok := ss.opts.Users[username]; !ok || p != password {
			return errors.New("invalid credentials")
		}
		ss.mail.Auth = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.opts.Users) > 0 && ss.mail.Auth == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.mail.From = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.opts.Reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox"}
	}
	ss.mail.To = append(ss.mail.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.mail
	m.Data = string(b)
	_, m.TLS = ss.conn.TLSConnectionState()
	ss.srv.mu.Lock()
	ss.srv.mails = append(ss.srv.mails, m)
	ss.srv.mu.Unlock()
	select {
	case ss.srv.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.mail = Mail{Auth: ss.mail.Auth} }
func (ss *session) Logout() error { return nil }

// Hook is one webhook the receiver accepted: its headers and body, and
// whether its signature verified.
type Hook struct {
	Header   http.Header
	Body     []byte
	Verified bool
}

// Receiver is an HTTPS webhook receiver (httptest.NewTLSServer) that
// checks the Standard Webhooks signature with its own code.
type Receiver struct {
	URL string
	// ClientTLS trusts the receiver's certificate.
	ClientTLS *tls.Config

	// status, if set, is answered instead of 204 (and the hook is still
	// recorded).
	status  func() int
	key     []byte
	mu      sync.Mutex
	hooks   []Hook
	arrived chan struct{}
}

// MustReceiver starts a receiver that verifies with secret ("whsec_"
// form), closed at the end of the test.
func MustReceiver(tb testing.TB, secret string) *Receiver {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		tb.Fatal(err)
	}
	rc := &Receiver{key: key, arrived: make(chan struct{}, 1024)}
	srv := httptest.NewTLSServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hooks/guardian"
	rc.ClientTLS = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	h := Hook{Header: r.Header.Clone(), Body: body, Verified: rc.verify(r.Header, body)}
	rc.mu.Lock()
	rc.hooks = append(rc.hooks, h)
	status := rc.status
	rc.mu.Unlock()
	select {
	case rc.arrived <- struct{}{}:
	default:
	}
	if status != nil {
		w.WriteHeader(status())
		return
	}
	if !h.Verified {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify is the receiver's side of the scheme, written from the
// specification: HMAC-SHA256 over "id.timestamp.body", base64, "v1,"
// prefix, one of several space-separated signatures; timestamp within five
// minutes.
func (rc *Receiver) verify(h http.Header, body []byte) bool {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, rc.key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// Hooks returns the webhooks received so far.
func (rc *Receiver) Hooks() []Hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Hook(nil), rc.hooks...)
}

// SetStatus makes the receiver answer with status() from now on.
func (rc *Receiver) SetStatus(status func() int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

// WaitHooks waits until n webhooks have arrived, or fails the test after
// timeout.
func (rc *Receiver) WaitHooks(tb testing.TB, n int, timeout time.Duration) []Hook {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if h := rc.Hooks(); len(h) >= n {
			return h
		}
		select {
		case <-rc.arrived:
		case <-deadline:
			tb.Fatalf("waited %v for %d webhooks, have %d", timeout, n, len(rc.Hooks()))
		}
	}
}

// MustSilent returns the address of a listener that accepts connections
// and never says anything: a relay or receiver that hangs.
func MustSilent(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}
