package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian/crypto"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a symmetric Standard Webhooks secret.
const secretPrefix = "whsec_"

// WebhookSecret is the key an agency's webhooks are signed with, shared
// with the agency. Its String is the "whsec_" form the agency configures;
// its LogValue hides it.
type WebhookSecret struct{ key []byte }

// GenerateWebhookSecret returns a new secret of 32 random bytes.
func GenerateWebhookSecret() WebhookSecret {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return WebhookSecret{key: k}
}

// ParseWebhookSecret reads a "whsec_" secret: base64 of 24 to 64 bytes, as
// the specification allows.
func ParseWebhookSecret(s string) (WebhookSecret, error) {
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return WebhookSecret{}, errors.New("a webhook secret starts with whsec_")
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return WebhookSecret{}, errors.New("a webhook secret is whsec_ and standard base64")
	}
	if len(k) < 24 || len(k) > 64 {
		return WebhookSecret{}, fmt.Errorf("a webhook secret has 24 to 64 bytes, not %d", len(k))
	}
	return WebhookSecret{key: k}, nil
}

// String returns the secret in its "whsec_" form. Handle it as the secret
// it is.
func (s WebhookSecret) String() string {
	return secretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// LogValue keeps the secret out of logs.
func (s WebhookSecret) LogValue() slog.Value { return slog.StringValue("whsec_(redacted)") }

// IsZero reports whether s holds no key.
func (s WebhookSecret) IsZero() bool { return len(s.key) == 0 }

// Sign returns the webhook-signature value of a message: "v1," and the
// base64 HMAC-SHA256, under the secret, of "id.timestamp.body".
func (s WebhookSecret) Sign(id string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a received webhook as a receiver would: the timestamp
// within tolerance of now, and one of the space-separated v1 signatures
// matching. It is for tests and for agencies writing Go.
func (s WebhookSecret) Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad webhook-timestamp")
	}
	t := time.Unix(sec, 0)
	if t.Before(now.Add(-tolerance)) || t.After(now.Add(tolerance)) {
		return errors.New("webhook-timestamp out of tolerance")
	}
	want := s.Sign(id, t, body)
	for sig := range strings.FieldsSeq(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching webhook signature")
}

// maxResponse bounds how much of a receiver's answer is read (and thrown
// away, so that the connection can be reused).
const maxResponse = 64 << 10

// WebhookClient posts signed webhooks.
type WebhookClient struct {
	http *http.Client
	now  func() time.Time
}

// WebhookConfig configures a [WebhookClient].
type WebhookConfig struct {
	// Timeout bounds one delivery, from connecting to the end of the
	// answer's headers; default 15 seconds (the specification recommends
	// 15 to 30).
	Timeout time.Duration
	// TLSConfig is the client's TLS configuration; nil uses the system
	// roots. Tests give their own.
	TLSConfig *tls.Config
	// Clock stamps webhook-timestamp; default time.Now.
	Clock func() time.Time
	// DialContext, if set, makes every connection instead of dialling the
	// webhook URL's host: guardian demo hands its in-process receiver's,
	// so that its agencies' webhooks (at example.org) never leave the
	// machine. TLS still checks the URL's host name.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewWebhookClient returns a client that follows no redirect: a 3xx is a
// failure, as the specification says, and the agency updates its URL.
func NewWebhookClient(cfg WebhookConfig) *WebhookClient {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.TLSConfig
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.Proxy = nil // a notification goes where the network file says, not through the environment's proxy
	if cfg.DialContext != nil {
		tr.DialContext = cfg.DialContext
	}
	tr.MaxResponseHeaderBytes = maxResponse
	return &WebhookClient{
		http: &http.Client{
			Transport:     tr,
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: cfg.Clock,
	}
}

// StatusError is a receiver's answer other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook answered %d %s", e.Code, http.StatusText(e.Code))
}

// Send posts body to webhookURL as message id, signed with secret and stamped with
// the current time. Only a 2xx answer is success; anything else, redirects
// included, is an error (a [*StatusError] for an answer).
func (c *WebhookClient) Send(ctx context.Context, webhookURL string, secret WebhookSecret, id string, body []byte) error {
	if secret.IsZero() {
		return errors.New("webhook: no secret")
	}
	if id == "" || strings.ContainsAny(id, ". \r\n") {
		return fmt.Errorf("webhook: id %q is empty or has a full stop or a space", id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", withoutURL(err))
	}
	ts := c.now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Guardian-Webhooks/1")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, secret.Sign(id, ts, body))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("webhook post to %s: %w", req.URL.Host, withoutURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

// withoutURL drops the URL that a *url.Error quotes: the error is stored
// with the failed notification and logged, and webhook URLs often carry a
// secret token in their path.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// secretBinding is the name a webhook secret is sealed under, so that a
// sealed secret copied to another agency's row does not open.
func secretBinding(agencyID string) string { return "webhook:" + agencyID }

// SealWebhookSecret seals an agency's secret under the hub's master key,
// for guardian.WebhookSecretStore.
func SealWebhookSecret(mk *crypto.MasterKey, agencyID string, s WebhookSecret) []byte {
	return mk.SealUserSecret(secretBinding(agencyID), []byte(s.String()))
}

// OpenWebhookSecret opens what SealWebhookSecret sealed for the agency.
func OpenWebhookSecret(mk *crypto.MasterKey, agencyID string, sealed []byte) (WebhookSecret, error) {
	plain, err := mk.OpenUserSecret(secretBinding(agencyID), sealed)
	if err != nil {
		return WebhookSecret{}, fmt.Errorf("the webhook secret of agency %s does not open with the master key", agencyID)
	}
	return ParseWebhookSecret(string(plain))
}
