package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync/atomic"
)

// Certificate holds the hub's TLS certificate and key, read from two PEM
// files, and serves whichever pair was read last: [Certificate.Reload]
// replaces it without a restart (SIGHUP), so that a renewed certificate
// takes effect for new connections while old ones finish.
type Certificate struct {
	CertFile, KeyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertificate reads the pair; a pair that does not load stops the hub
// at start.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{CertFile: certFile, KeyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the pair again. On error the pair in use stays.
func (c *Certificate) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", c.CertFile, c.KeyFile, err)
	}
	c.cur.Store(&pair)
	return nil
}

// tlsConfig is Go's modern defaults with TLS 1.2 as the floor: TLS 1.0
// and 1.1 are refused, and Go's cipher suites for 1.2 are the AEAD ones.
func (c *Certificate) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// isLoopback reports whether addr, a listener's address, accepts only
// connections from this machine.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
