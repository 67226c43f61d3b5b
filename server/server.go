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
// response. Every operation, accepted or rejected, is an audit event;
// failed sign-ins are counted into one event per burst (failures.go), so
// that they cannot grow the permanent log without bound.
//
// # Sharing the hub
//
// The hub is shared by every reporter and exposed to strangers, so no one
// party may take what the others need (docs/security.md). Failed sign-ins
// are throttled before any password is hashed (signin.go); requests take a
// slot of their reporter's share and of the hub only once signed in, bodies
// must keep arriving at a minimum rate, and /audit, /admin and /healthz are
// answered apart from the intake (limits.go). Every limit is a field of
// [Server] with a documented default.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/cybertip"
	"github.com/guardian-network/guardian/evidence"
	"github.com/guardian-network/guardian/internal/middleware"
)

// Defaults for the limits a Server enforces. They are set so that a large
// provider sending at full speed never meets the per-reporter ones: the
// reference clients send one request at a time, and a batch uploader with
// dozens of connections stays below them.
const (
	DefaultPrefix          = "/ispws"
	DefaultMaxUploadSize   = 2 << 30                  // 2 GiB, per file
	DefaultMaxDocumentSize = cybertip.MaxDocumentSize // per <report> or <fileDetails>
	DefaultMaxInFlight     = 512                      // concurrent intake requests, hub-wide, before answering 503
	DefaultUploadTimeout   = 2 * time.Hour
	DefaultRequestTimeout  = 60 * time.Second

	// Fair sharing (limits.go).
	DefaultMaxInFlightPerReporter = 64          // concurrent intake requests of one reporter
	DefaultMaxUploadsPerReporter  = 32          // of which uploads
	DefaultMaxInFlightAudit       = 64          // concurrent /audit and /admin requests, apart from the intake
	DefaultMinBodyRate            = 1024        // bytes per second, over each window
	DefaultMinBodyRateWindow      = time.Minute // a body must deliver DefaultMinBodyRate × this per window

	// Sign-in throttling (signin.go): a token per attempt that needs a
	// password hash; credentials that verified before take none.
	DefaultSignInAddrInterval = time.Second      // one more attempt per client address every…
	DefaultSignInAddrBurst    = 30               // …after a burst of
	DefaultSignInNameInterval = 10 * time.Second // one more attempt per account name every…
	DefaultSignInNameBurst    = 10               // …after a burst of
	DefaultLockAfter          = 10               // failures in a row that lock an account name
	DefaultLockDuration       = 15 * time.Minute // for this long
	DefaultMaxHashWaiters     = 64               // sign-ins queued for a hash before answering 503
	DefaultFailureWindow      = 5 * time.Minute  // failed sign-ins are recorded once per window (failures.go)
)

// DefaultMaxConcurrentHashes is half the processors, at least one: password
// hashes are CPU-bound and take a core each, and the other half keeps
// serving reporters while guesses are checked.
func DefaultMaxConcurrentHashes() int { return max(1, runtime.GOMAXPROCS(0)/2) }

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

	// TLS, if set, serves HTTPS with this certificate (TLS 1.2 and 1.3
	// only). Without it the hub speaks plain HTTP, which is for a proxy
	// in front or for loopback: on any other address Open logs a
	// warning.
	TLS *Certificate
	// ReloadNetwork, if set, serves POST /admin/network/reload to tokens
	// of the admin role (see admin.go).
	ReloadNetwork ReloadFunc
	// API, if set, serves the partner API (package api) under /api/v1/.
	// It does its own authentication and limits, through package access.
	API http.Handler
	// Pages, if set, serves the web pages (package web) at every path no
	// other route takes.
	Pages http.Handler

	// Addr is the address to listen on; ":0" picks a free port, which
	// [Server.URL] reports after Open.
	Addr string
	// Prefix is the path under which the intake API is mounted.
	Prefix string

	MaxUploadSize   int64
	MaxDocumentSize int64
	UploadTimeout   time.Duration // for the whole body of an upload
	RequestTimeout  time.Duration // for the whole body of any other request

	// MaxInFlight bounds the intake requests served at once, hub-wide;
	// MaxInFlightPerReporter and MaxUploadsPerReporter bound one
	// reporter's share of them, so that no reporter can take all. Beyond
	// any of them the answer is 503 with Retry-After.
	MaxInFlight            int
	MaxInFlightPerReporter int
	MaxUploadsPerReporter  int
	// MaxInFlightAudit bounds the /audit and /admin requests served at
	// once. They have slots of their own, so that a busy intake never
	// shuts out auditors; /healthz needs no slot.
	MaxInFlightAudit int
	// MinBodyRate (bytes per second) is the slowest an intake request body
	// may arrive: each MinBodyRateWindow must bring MinBodyRate × window
	// bytes, or the body must end. A body below it is cut off and answered
	// with code 4000 (4200 for the file of an upload). 0 disables it.
	MinBodyRate       int64
	MinBodyRateWindow time.Duration

	// Sign-in throttling. A sign-in that needs a password hash takes a
	// token from the bucket of its client address (an IPv6 /64) and from
	// that of its account name, refilled one per interval up to the burst;
	// without one it is answered 429 with Retry-After. LockAfter failures
	// in a row lock an account name for LockDuration. A zero interval or
	// LockAfter disables that limit.
	SignInAddrInterval time.Duration
	SignInAddrBurst    int
	SignInNameInterval time.Duration
	SignInNameBurst    int
	LockAfter          int
	LockDuration       time.Duration
	// MaxConcurrentHashes bounds the password hashes computed at once;
	// MaxHashWaiters the sign-ins queued for one (credentials that
	// verified before are not counted and go first).
	MaxConcurrentHashes int
	MaxHashWaiters      int
	// FailureWindow is how often failed sign-ins are recorded in the audit
	// log, one event per burst (see failures.go).
	FailureWindow time.Duration

	ln         net.Listener
	srv        *http.Server
	inFlight   chan struct{}
	auditSlots chan struct{}
	slots      reporterSlots
	auth       authCache
	guard      *signInGuard
	hashes     *hashGate
	failures   *failureLog
	done       chan struct{}
	closed     atomic.Bool
	wg         sync.WaitGroup
}

// New returns a Server with default limits. Set the exported fields, then
// call Open.
func New(store guardian.Store, ev *evidence.Store, mk *crypto.MasterKey) *Server {
	return &Server{
		Store:                  store,
		Evidence:               ev,
		MasterKey:              mk,
		Logger:                 slog.Default(),
		Now:                    guardian.SystemClock,
		Addr:                   "127.0.0.1:8080",
		Prefix:                 DefaultPrefix,
		MaxUploadSize:          DefaultMaxUploadSize,
		MaxDocumentSize:        DefaultMaxDocumentSize,
		UploadTimeout:          DefaultUploadTimeout,
		RequestTimeout:         DefaultRequestTimeout,
		MaxInFlight:            DefaultMaxInFlight,
		MaxInFlightPerReporter: DefaultMaxInFlightPerReporter,
		MaxUploadsPerReporter:  DefaultMaxUploadsPerReporter,
		MaxInFlightAudit:       DefaultMaxInFlightAudit,
		MinBodyRate:            DefaultMinBodyRate,
		MinBodyRateWindow:      DefaultMinBodyRateWindow,
		SignInAddrInterval:     DefaultSignInAddrInterval,
		SignInAddrBurst:        DefaultSignInAddrBurst,
		SignInNameInterval:     DefaultSignInNameInterval,
		SignInNameBurst:        DefaultSignInNameBurst,
		LockAfter:              DefaultLockAfter,
		LockDuration:           DefaultLockDuration,
		MaxConcurrentHashes:    DefaultMaxConcurrentHashes(),
		MaxHashWaiters:         DefaultMaxHashWaiters,
		FailureWindow:          DefaultFailureWindow,
	}
}

// Open binds the listener synchronously, so that a ":0" address is known
// when Open returns, and serves in the background.
func (s *Server) Open() error {
	s.Prefix = "/" + strings.Trim(s.Prefix, "/")
	if s.Prefix == "/" {
		return errors.New("server: prefix must not be empty")
	}
	if err := s.validate(); err != nil {
		return err
	}
	s.inFlight = make(chan struct{}, s.MaxInFlight)
	s.auditSlots = make(chan struct{}, s.MaxInFlightAudit)
	s.done = make(chan struct{})
	s.auth.init(s.Now)
	s.initSignIn()
	s.failures = newFailureLog()

	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Addr, err)
	}
	if s.TLS == nil && !isLoopback(ln.Addr()) {
		s.Logger.Warn("serving plain HTTP on an address other than loopback: reports and passwords cross the network in the clear unless a TLS proxy is in front (see --tls-cert, docs/security.md)", slog.String("addr", ln.Addr().String()))
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
	serve := func() error { return s.srv.Serve(ln) }
	if s.TLS != nil {
		s.srv.TLSConfig = s.TLS.tlsConfig()
		// No files: the certificate comes from TLSConfig.GetCertificate.
		serve = func() error { return s.srv.ServeTLS(ln, "", "") }
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", slog.Any("error", err))
		}
	}()
	go func() {
		defer s.wg.Done()
		s.runFailureFlusher()
	}()
	return nil
}

// validate checks the limits that would otherwise fail obscurely.
func (s *Server) validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxInFlight", int64(s.MaxInFlight)},
		{"MaxInFlightPerReporter", int64(s.MaxInFlightPerReporter)},
		{"MaxUploadsPerReporter", int64(s.MaxUploadsPerReporter)},
		{"MaxInFlightAudit", int64(s.MaxInFlightAudit)},
		{"MaxConcurrentHashes", int64(s.MaxConcurrentHashes)},
		{"FailureWindow", int64(s.FailureWindow)},
		{"UploadTimeout", int64(s.UploadTimeout)},
		{"RequestTimeout", int64(s.RequestTimeout)},
	} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("server: %s must be positive, not %d", f.name, f.v))
		}
	}
	if s.MinBodyRate > 0 && s.MinBodyRateWindow <= 0 {
		errs = append(errs, errors.New("server: MinBodyRateWindow must be positive when MinBodyRate is set"))
	}
	return errors.Join(errs...)
}

// URL returns the base URL of the running server, e.g. http://127.0.0.1:8080.
func (s *Server) URL() string {
	if s.TLS != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests, waits up to the context's deadline for
// those in flight, and records the failed sign-ins counted so far. Calling
// it again does nothing.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil || s.closed.Swap(true) {
		return nil
	}
	close(s.done)
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	// After Shutdown, so that the requests that were still being answered
	// are counted too.
	s.flushFailures(context.WithoutCancel(ctx))
	return err
}

// Handler returns the HTTP handler with every route and middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	p := s.Prefix
	// Intake routes sign in first and take their reporter's and the hub's
	// slots only then (limits.go).
	intake := func(ln lane, h http.HandlerFunc) http.Handler { return s.authenticate(s.admit(ln, h)) }
	mux.Handle("GET "+p+"/status", intake(laneRequest, s.handleStatus))
	mux.Handle("GET "+p+"/xsd", intake(laneRequest, s.handleXSD))
	mux.Handle("POST "+p+"/submit", intake(laneRequest, s.handleSubmit))
	mux.Handle("POST "+p+"/upload", intake(laneUpload, s.handleUpload))
	mux.Handle("POST "+p+"/fileinfo", intake(laneRequest, s.handleFileInfo))
	mux.Handle("POST "+p+"/finish", intake(laneRequest, s.handleFinish))
	mux.Handle("POST "+p+"/retract", intake(laneRequest, s.handleRetract))
	mux.Handle(p+"/", intake(laneRequest, s.handleIntakeNotFound))
	if s.AuditLog != nil {
		s.registerAudit(mux)
	}
	if s.ReloadNetwork != nil {
		mux.HandleFunc("POST /admin/network/reload", s.limitAudit(s.handleNetworkReload))
	}
	if s.API != nil {
		mux.Handle("/api/v1/", s.API)
	}
	if s.Pages != nil {
		mux.Handle("/", s.Pages)
	}
	// No slot: answering costs nothing, and a load balancer must hear from
	// the hub however busy it is.
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

// withRequest gives every request an id, panic recovery and an access log
// line. Places in line are taken per route (limits.go).
func (s *Server) withRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: middleware.NewRequestID(), clientAddr: middleware.ClientAddr(r)}
		w.Header().Set("Request-ID", ri.id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		sw := &middleware.StatusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey, ri))

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic in handler", slog.Any("panic", v), slog.String(attrRequestID, ri.id))
				if sw.Status == 0 {
					s.writeResponse(sw, r, http.StatusInternalServerError, errors.New("panic"), 0, "", "")
				}
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.Status),
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
