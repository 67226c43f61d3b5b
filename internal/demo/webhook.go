package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/guardian-network/guardian/internal/selfsigned"
	"github.com/guardian-network/guardian/notify"
)

// MaxWebhooks is how many webhooks a WebhookCatcher keeps: the newest.
const MaxWebhooks = 500

// maxWebhookBody bounds what the catcher reads of one webhook; the hub's
// are a few hundred bytes.
const maxWebhookBody = 64 << 10

// webhookTolerance is how far a webhook's timestamp may be from the
// catcher's clock, as a receiver following the Standard Webhooks
// specification allows.
const webhookTolerance = 5 * time.Minute

// Webhook is one webhook the catcher received.
type Webhook struct {
	Received time.Time
	Agency   string // the agency whose webhook URL's host it was sent to
	URL      string // as the hub addressed it
	ID       string // webhook-id
	Verified bool   // its signature matched the agency's secret
	Body     string
}

// WebhookCatcher receives the demo hub's webhooks in place of the
// agencies' servers: the demo network gives agencies webhook URLs at
// example.org, which the hub's webhook client reaches through
// [WebhookCatcher.Dial]. It serves TLS with a certificate of its own for
// those host names (the hub trusts it through [WebhookCatcher.RootCAs]),
// checks each webhook's signature with its agency's secret as a receiver
// must, answers 204 when it matches and 401 when not, and keeps the last
// MaxWebhooks in memory for the hub's pages.
type WebhookCatcher struct {
	srv     *http.Server
	ln      net.Listener
	roots   *x509.CertPool
	agency  map[string]string // host → agency id
	secrets map[string]notify.WebhookSecret
	logger  *slog.Logger
	now     func() time.Time

	mu    sync.Mutex
	hooks []Webhook // oldest first, at most MaxWebhooks
	total int
}

// StartWebhookCatcher listens on addr (such as 127.0.0.1:0) for the
// webhooks of agencies: hosts maps each webhook URL's host name to its
// agency, secrets each agency to its webhook secret.
func StartWebhookCatcher(addr string, hosts map[string]string, secrets map[string]notify.WebhookSecret, logger *slog.Logger) (*WebhookCatcher, error) {
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	cert, err := selfsigned.New("guardian demo webhook catcher", names, nil, 365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("webhook catcher: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook catcher: %w", err)
	}
	c := &WebhookCatcher{ln: ln, roots: roots, agency: hosts, secrets: secrets, logger: logger, now: time.Now}
	c.srv = &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := c.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("webhook catcher stopped", slog.Any("error", err))
		}
	}()
	return c, nil
}

// Dial connects to the catcher whatever address is asked for: it is the
// hub's webhook client's DialContext in the demo.
func (c *WebhookCatcher) Dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, c.ln.Addr().String())
}

// RootCAs holds the catcher's certificate, for the hub's webhook client.
func (c *WebhookCatcher) RootCAs() *x509.CertPool { return c.roots }

// Addr is the address the catcher listens on.
func (c *WebhookCatcher) Addr() string { return c.ln.Addr().String() }

// Close stops the catcher.
func (c *WebhookCatcher) Close() error { return c.srv.Close() }

// Webhooks returns the webhooks kept, newest first, and how many arrived
// in all.
func (c *WebhookCatcher) Webhooks() ([]Webhook, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Webhook, len(c.hooks))
	for i, h := range c.hooks {
		out[len(c.hooks)-1-i] = h
	}
	return out, c.total
}

// ServeHTTP receives one webhook.
func (c *WebhookCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	agency := c.agency[host]
	secret, ok := c.secrets[agency]
	verified := ok && secret.Verify(r.Header, body, c.now(), webhookTolerance) == nil
	h := Webhook{Received: c.now(), Agency: agency, URL: "https://" + r.Host + r.URL.RequestURI(),
		ID: r.Header.Get(notify.HeaderID), Verified: verified, Body: string(body)}
	c.mu.Lock()
	c.hooks = append(c.hooks, h)
	if len(c.hooks) > MaxWebhooks {
		c.hooks = c.hooks[len(c.hooks)-MaxWebhooks:]
	}
	c.total++
	c.mu.Unlock()
	if !verified {
		c.logger.Warn("demo webhook refused: its signature does not match the agency's secret",
			slog.String("agency", agency), slog.String("webhookId", h.ID))
		http.Error(w, "signature does not match", http.StatusUnauthorized)
		return
	}
	c.logger.Info("demo webhook received", slog.String("agency", agency), slog.String("webhookId", h.ID))
	w.WriteHeader(http.StatusNoContent)
}
