package simulate

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/guardian-network/guardian/internal/selfsigned"
	"github.com/guardian-network/guardian/notify"
)

// The files of the webhook receiver's certificate in its directory.
const (
	WebhookCertFile = "webhook-cert.pem"
	webhookKeyFile  = "webhook-key.pem"
)

// WebhookPath is where the receiver takes an agency's webhooks: the
// network file gives each agency https://ADDR/hooks/AGENCY.
const WebhookPath = "/hooks/"

// EnsureWebhookCert makes the receiver's self-signed certificate and key
// in dir, for host (an IP address or a name) as well as 127.0.0.1, ::1 and
// localhost, unless they are there already, and returns the certificate's
// path. The hub trusts it when started with SSL_CERT_FILE set to that
// path (Go's TLS reads the roots from it on Linux). It is kept between
// runs, so that a hub started once keeps trusting it.
func EnsureWebhookCert(dir, host string) (string, error) {
	certPath, keyPath := filepath.Join(dir, WebhookCertFile), filepath.Join(dir, webhookKeyFile)
	if _, err := os.Stat(certPath); err == nil {
		if _, err := os.Stat(keyPath); err == nil {
			return certPath, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	ips, names := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, []string{"localhost"}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			ips = append(ips, ip)
		}
	} else if host != "" && host != "localhost" {
		names = append(names, host)
	}
	cert, err := selfsigned.New("guardian simulate webhook receiver", names, ips, 5*365*24*time.Hour)
	if err != nil {
		return "", err
	}
	der := cert.Certificate[0]
	kb, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", err
	}
	return certPath, nil
}

// webhookReceiver takes the hub's webhooks: it verifies each with its
// agency's secret where it has one, records when each referral's first
// webhook arrived, and wakes the agency's bot, as a real agency's system
// would fetch the referral the thin payload names.
type webhookReceiver struct {
	srv     *http.Server
	secrets map[string]notify.WebhookSecret
	tracker *tracker
	bots    map[string]*bot
	rec     *recorder
	logger  *slog.Logger

	mu                                      sync.Mutex
	byType                                  map[string]int64
	verified, unverified, refused, repeated int64
	ids                                     map[string]time.Time // webhook-id → first arrival, for repeats; swept
	lastSweep                               time.Time
}

func startWebhookReceiver(addr, certDir string, secrets map[string]notify.WebhookSecret, t *tracker, bots []*bot, rec *recorder, logger *slog.Logger) (*webhookReceiver, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webhook listen address %q: %w", addr, err)
	}
	certPath, err := EnsureWebhookCert(certDir, host)
	if err != nil {
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, filepath.Join(certDir, webhookKeyFile))
	if err != nil {
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	rc := &webhookReceiver{secrets: secrets, tracker: t, bots: map[string]*bot{}, rec: rec, logger: logger,
		byType: map[string]int64{}, ids: map[string]time.Time{}}
	for _, b := range bots {
		if !b.hub {
			rc.bots[b.name] = b
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+WebhookPath+"{agency}", rc)
	rc.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() {
		if err := rc.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("webhook receiver", slog.Any("error", err))
		}
	}()
	return rc, nil
}

func (rc *webhookReceiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rc.srv.Shutdown(ctx)
}

func (rc *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	agency := r.PathValue("agency")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		rc.refuse(w, "unreadable body")
		return
	}
	verified := false
	if s, ok := rc.secrets[agency]; ok {
		if err := s.Verify(r.Header, body, at, 5*time.Minute); err != nil {
			rc.refuse(w, err.Error())
			return
		}
		verified = true
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Referrals []struct {
				ReferralID int64 `json:"referralId"`
			} `json:"referrals"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		rc.refuse(w, "undecodable payload")
		return
	}
	rc.mu.Lock()
	id := r.Header.Get(notify.HeaderID)
	repeat := false
	if id != "" {
		if _, repeat = rc.ids[id]; !repeat {
			rc.ids[id] = at
		}
	}
	if repeat {
		rc.repeated++
	} else {
		rc.byType[p.Type]++
		if verified {
			rc.verified++
		} else {
			rc.unverified++
		}
	}
	if at.Sub(rc.lastSweep) > time.Minute {
		rc.lastSweep = at
		for k, t := range rc.ids {
			if at.Sub(t) > 30*time.Minute {
				delete(rc.ids, k)
			}
		}
	}
	rc.mu.Unlock()
	refs := make([]int64, len(p.Data.Referrals))
	for i, ref := range p.Data.Referrals {
		refs[i] = ref.ReferralID
		if !repeat {
			rc.tracker.webhook(ref.ReferralID, at)
		}
	}
	sum := sha256.Sum256(body)
	rc.rec.write(Record{Webhook: id, Agency: agency, Type: p.Type, Referrals: refs, SHA256: hex.EncodeToString(sum[:]),
		Verified: verified, At: at.UTC()})
	w.WriteHeader(http.StatusNoContent)
	if b, ok := rc.bots[agency]; ok {
		b.wake()
	}
}

func (rc *webhookReceiver) refuse(w http.ResponseWriter, why string) {
	rc.mu.Lock()
	rc.refused++
	rc.mu.Unlock()
	rc.logger.Warn("webhook refused", slog.String("reason", why))
	http.Error(w, "bad webhook", http.StatusBadRequest)
}

// WebhookStats are what the receiver took.
type WebhookStats struct {
	ByType                                  map[string]int64
	Verified, Unverified, Refused, Repeated int64
}

func (rc *webhookReceiver) stats() WebhookStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := WebhookStats{ByType: map[string]int64{}, Verified: rc.verified, Unverified: rc.unverified, Refused: rc.refused, Repeated: rc.repeated}
	for k, v := range rc.byType {
		s.ByType[k] = v
	}
	return s
}
