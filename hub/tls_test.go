package hub_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hub"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial to certFile and keyFile, and returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "hub.example.org"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestTLS: with a certificate the hub serves HTTPS, TLS 1.2 and 1.3 only,
// and takes a renewed certificate on Reload (SIGHUP) without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	writeCert(t, certFile, keyFile, 1)
	h := mustOpen(t, hub.Config{
		Store:       hub.StoreConfig{Data: filepath.Join(dir, "data")},
		Addr:        "127.0.0.1:0",
		Network:     filepath.Join("..", "examples", "network-demo.yaml"),
		AuditOrigin: "test.example.org/audit",
		TLSCert:     certFile,
		TLSKey:      keyFile,
		Logger:      slog.New(slog.DiscardHandler),
	})
	defer mustClose(t, h)
	if !strings.HasPrefix(h.URL(), "https://") {
		t.Fatalf("URL %s is not https", h.URL())
	}
	addr := strings.TrimPrefix(h.URL(), "https://")

	// serial dials the hub with cfg and returns the serial number of the
	// certificate it presents.
	serial := func(cfg *tls.Config) (int64, error) {
		cfg.InsecureSkipVerify = true // the test checks which certificate, not its chain
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
	}
	if s, err := serial(&tls.Config{}); err != nil || s != 1 {
		t.Fatalf("TLS: serial %d, %v", s, err)
	}
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if _, err := serial(&tls.Config{MinVersion: v, MaxVersion: v}); err == nil {
			t.Errorf("TLS version %#x accepted", v)
		}
	}
	if s, err := serial(&tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}); err != nil || s != 1 {
		t.Errorf("TLS 1.2: serial %d, %v", s, err)
	}

	// A real request, trusting the certificate.
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(h.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz over TLS: %s", resp.Status)
	}

	// Renewal: new files, a reload, and new connections get the new pair.
	writeCert(t, certFile, keyFile, 2)
	h.Reload(context.Background(), guardian.Actor{Kind: guardian.ActorSystem, Name: "test"})
	if s, err := serial(&tls.Config{}); err != nil || s != 2 {
		t.Errorf("after reload: serial %d, %v", s, err)
	}
	// A broken pair on reload keeps the one in use.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	h.Reload(context.Background(), guardian.Actor{Kind: guardian.ActorSystem, Name: "test"})
	if s, err := serial(&tls.Config{}); err != nil || s != 2 {
		t.Errorf("after a refused reload: serial %d, %v", s, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPlainHTTPWarning: plain HTTP on an address other than loopback is
// logged as a warning at start; on loopback it is not.
func TestPlainHTTPWarning(t *testing.T) {
	for _, tt := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		var log syncBuffer
		h := mustOpen(t, hub.Config{
			Store:       hub.StoreConfig{Data: t.TempDir()},
			Addr:        tt.addr,
			Network:     filepath.Join("..", "examples", "network-demo.yaml"),
			AuditOrigin: "test.example.org/audit",
			Logger:      slog.New(slog.NewTextHandler(&log, nil)),
		})
		mustClose(t, h)
		if got := strings.Contains(log.String(), "plain HTTP"); got != tt.warn {
			t.Errorf("%s: warning logged %v, want %v\n%s", tt.addr, got, tt.warn, log.String())
		}
	}
}
