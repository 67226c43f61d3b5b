// Package server is Guardian's HTTP front: the CyberTipline-compatible intake
// API under /ispws (prefix configurable) and, later, the partner and audit
// endpoints.
//
// A [Server] holds its dependencies as fields (the store, the evidence blob
// store, the master key) and is started with [Server.Open] and stopped with
// [Server.Close]. Handlers are methods on it, one file per resource.
//
// The intake follows ../shared/reference/cybertipline-api.md: HTTP Basic auth on
// every route, HTTP 200 with a numeric responseCode for every application
// outcome, 401 only for authentication, and a Request-ID header on every
// response. Every operation, accepted or rejected, is an audit event.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/evidence"
)

// Defaults for the limits a Server enforces.
const (
	DefaultPrefix          = "/ispws"
	DefaultMaxUploadSize   = 2 << 30                  // 2 GiB, per file
	DefaultMaxDocumentSize = cybertip.MaxDocumentSize // per <report> or <fileDetails>
	DefaultMaxInFlight     = 512                      // concurrent requests before answering 503
	DefaultUploadTimeout   = 2 * time.Hour
	DefaultRequestTimeout  = 60 * time.Second
)

// Server serves the hub's HTTP API.
type Server struct {
	Store     guardian.Store
	Evidence  *evidence.Store
	MasterKey *crypto.MasterKey
	Logger    *slog.Logger
	Now       guardian.Clock

	// AuditLog serves the audit log under /audit; nil leaves it out.
	AuditLog *auditlog.Log
	// AuditVerifierKey is the note verifier key of the log's checkpoints.
	AuditVerifierKey string
	// Tokens authenticates bearer tokens (auditors, administrators).
	Tokens guardian.TokenStore
	// ReloadNetwork, if set, serves POST /admin/network/reload to tokens
	// of the admin role (see admin.go).
	ReloadNetwork ReloadFunc

	// Addr is the address to listen on; ":0" picks a free port, which
	// [Server.URL] reports after Open.
	Addr string
	// Prefix is the path under which the intake API is mounted.
	Prefix string

	MaxUploadSize   int64
	MaxDocumentSize int64
	MaxInFlight     int
	UploadTimeout   time.Duration
	RequestTimeout  time.Duration

	ln       net.Listener
	srv      *http.Server
	inFlight chan struct{}
	auth     authCache
	done     chan struct{}
	wg       sync.WaitGroup
}

// New returns a Server with default limits. Set the exported fields, then
// call Open.
func New(store guardian.Store, ev *evidence.Store, mk *crypto.MasterKey) *Server {
	return &Server{
		Store:           store,
		Evidence:        ev,
		MasterKey:       mk,
		Logger:          slog.Default(),
		Now:             guardian.SystemClock,
		Addr:            "127.0.0.1:8080",
		Prefix:          DefaultPrefix,
		MaxUploadSize:   DefaultMaxUploadSize,
		MaxDocumentSize: DefaultMaxDocumentSize,
		MaxInFlight:     DefaultMaxInFlight,
		UploadTimeout:   DefaultUploadTimeout,
		RequestTimeout:  DefaultRequestTimeout,
	}
}

// Open binds the listener synchronously, so that a ":0" address is known
// when Open returns, and serves in the background.
func (s *Server) Open() error {
	s.Prefix = "/" + strings.Trim(s.Prefix, "/")
	if s.Prefix == "/" {
		return errors.New("server: prefix must not be empty")
	}
	s.inFlight = make(chan struct{}, s.MaxInFlight)
	s.done = make(chan struct{})
	s.auth.init(s.Now)

	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler: s.Handler(),
		// No global ReadTimeout: uploads may legitimately take long. Each
		// handler sets its own read deadline instead.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", slog.Any("error", err))
		}
	}()
	return nil
}

// URL returns the base URL of the running server, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests and waits up to the context's deadline for
// those in flight.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	close(s.done)
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// Handler returns the HTTP handler with every route and middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := s.Prefix
	intake := func(h http.HandlerFunc) http.Handler { return s.authenticate(h) }
	mux.Handle("GET "+p+"/status", intake(s.handleStatus))
	mux.Handle("GET "+p+"/xsd", intake(s.handleXSD))
	mux.Handle("POST "+p+"/submit", intake(s.handleSubmit))
	mux.Handle("POST "+p+"/upload", intake(s.handleUpload))
	mux.Handle("POST "+p+"/fileinfo", intake(s.handleFileInfo))
	mux.Handle("POST "+p+"/finish", intake(s.handleFinish))
	mux.Handle("POST "+p+"/retract", intake(s.handleRetract))
	mux.Handle(p+"/", intake(s.handleIntakeNotFound))
	if s.AuditLog != nil {
		s.registerAudit(mux)
	}
	if s.ReloadNetwork != nil {
		mux.HandleFunc("POST /admin/network/reload", s.handleNetworkReload)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return s.withRequest(mux)
}

type ctxKey int

const requestInfoKey ctxKey = 1

// requestInfo is what the middleware learns about a request and the
// handlers and the access log share.
type requestInfo struct {
	id         string
	clientAddr string
	reporter   *guardian.Reporter
	code       int // CyberTipline response code sent, for the access log
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey).(*requestInfo)
	if ri == nil {
		return &requestInfo{}
	}
	return ri
}

// withRequest gives every request an id, a bounded place in line, panic
// recovery and an access log line.
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: newRequestID(), clientAddr: clientIP(r)}
		w.Header().Set("Request-ID", ri.id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, ri))

		select {
		case s.inFlight <- struct{}{}:
			defer func() { <-s.inFlight }()
		default:
			sw.Header().Set("Retry-After", "1")
			s.writeResponse(sw, r, http.StatusServiceUnavailable, guardian.Errorf(guardian.EUNAVAILABLE, "Server busy; retry later."), 0, "", "")
			return
		}

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic in handler", slog.Any("panic", v), slog.String(attrRequestID, ri.id))
				if sw.status == 0 {
					s.writeResponse(sw, r, http.StatusInternalServerError, errors.New("panic"), 0, "", "")
				}
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int("code", ri.code),
				slog.String(attrRequestID, ri.id),
				slog.String("client", ri.clientAddr),
				slog.Duration("duration", time.Since(start)),
			}
			if ri.reporter != nil {
				attrs = append(attrs, slog.String("reporter", ri.reporter.Name))
			}
			s.Logger.LogAttrs(r.Context(), slog.LevelDebug, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// Log attribute keys.
const (
	attrRequestID = "request_id"
	attrError     = "error"
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection for deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns a random UUID (version 4) for the Request-ID header.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// clientIP is the peer address of the connection. Forwarded headers are not
// trusted: the hub does not yet know which proxies are its own.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
