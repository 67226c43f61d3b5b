// Package middleware holds what the request middleware of packages server
// and api share, so that the intake and the partner API identify requests,
// count clients and see their answers the same way: the request's id, the
// client's address, and a ResponseWriter that remembers the status sent.
package middleware

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
)

// StatusWriter remembers the status of the response it writes: for the
// access log, and to know whether an answer has begun (a failure then can
// only cut the connection).
type StatusWriter struct {
	http.ResponseWriter
	Status int // zero until the header is written
}

// WriteHeader records the first status and writes it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 if no status was written, as net/http sends it.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection for deadlines.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// NewRequestID returns a random UUID (version 4) for the Request-ID header.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ClientAddr is the peer address of the connection: the address that
// limits and audit events count. Forwarded headers are not trusted: the
// hub does not yet know which proxies are its own.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
